/**
 * Layer blob → uncompressed tar stream, chosen by media type. gzip uses the web DecompressionStream; zstd uses
 * node:zlib because DecompressionStream has no "zstd" in Deno 2.9.
 */
import { Duplex } from "node:stream";
import * as zlib from "node:zlib";
import { DropzoneError } from "../errors.ts";
import { MEDIA_TYPES } from "../oci/media_types.ts";

/** The compression of a layer blob. */
export type LayerCompression = "none" | "gzip" | "zstd";

const COMPRESSION_BY_MEDIA_TYPE: ReadonlyMap<string, LayerCompression> = new Map<string, LayerCompression>([
  [MEDIA_TYPES.OCI_LAYER, "none"],
  [MEDIA_TYPES.OCI_LAYER_GZIP, "gzip"],
  [MEDIA_TYPES.OCI_LAYER_ZSTD, "zstd"],
  // Deprecated but still seen on old images.
  ["application/vnd.oci.image.layer.nondistributable.v1.tar", "none"],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"],
  [MEDIA_TYPES.DOCKER_LAYER_GZIP, "gzip"],
  ["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "gzip"],
  ["application/vnd.docker.image.rootfs.diff.tar", "none"],
]);

/** The compression for a layer media type, or undefined when dz cannot read that type. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  return COMPRESSION_BY_MEDIA_TYPE.get(mediaType);
}

/** True when dz can unpack layers of this media type. */
export function isSupportedLayerMediaType(mediaType: string): boolean {
  return COMPRESSION_BY_MEDIA_TYPE.has(mediaType);
}

type ZstdFactory = () => Duplex;

function zstdFactory(): ZstdFactory | undefined {
  const create = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  return typeof create === "function" ? create : undefined;
}

/**
 * Wraps a layer blob stream in the decompressor its media type needs and returns the uncompressed tar bytes.
 * Throws UNSUPPORTED_MEDIA_TYPE for anything that is not a (gzip/zstd) tar layer.
 */
export function openLayer(stream: ReadableStream<Uint8Array>, mediaType: string): ReadableStream<Uint8Array> {
  const compression = layerCompression(mediaType);
  switch (compression) {
    case "none":
      return stream;
    case "gzip":
      return stream.pipeThrough(new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>);
    case "zstd": {
      const create = zstdFactory();
      if (create === undefined) {
        throw new DropzoneError(
          "UNSUPPORTED_MEDIA_TYPE",
          `Cannot unpack layer of type "${mediaType}": zstd is not available in this runtime`,
          {
            hint: "Use an image with gzip layers, or a dz build on Deno 2.9 or newer",
          },
        );
      }
      const pair = Duplex.toWeb(create()) as unknown as TransformStream<Uint8Array, Uint8Array>;
      return stream.pipeThrough(pair);
    }
    case undefined:
      throw new DropzoneError("UNSUPPORTED_MEDIA_TYPE", `Cannot unpack layer of type "${mediaType}"`, {
        hint:
          "dz unpacks OCI and Docker tar layers (uncompressed, gzip or zstd); check that the image is a container image",
      });
  }
}
