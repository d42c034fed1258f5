/**
 * Builds OCI/Docker images in memory for tests: tar layers (files, directories, symlinks, hardlinks,
 * whiteouts, modes, long names via PAX), gzip/zstd/uncompressed, image configs, manifests, multi-arch indexes
 * and referrer artifacts, and pushes them to any Distribution registry (the launched docker-registry or the
 * fake one) through `oci_push.ts`.
 *
 * ```ts
 * const image = await buildImage({
 *   layers: [{ entries: [{ type: "file", path: "usr/bin/hello", content: "#!/bin/sh\necho hi\n", mode: 0o755 }] }],
 *   config: { Entrypoint: ["/usr/bin/hello"] },
 *   platform: { os: "linux", architecture: "amd64" },
 * });
 * await pushImage(registry, "team/hello", "1.0", image);           // registry: { url, auth? }
 * await pushIndex(registry, "team/hello", "multi", [amd64Image, arm64Image]);
 * ```
 */
import * as zlib from "node:zlib";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import type { Descriptor, Platform } from "../../src/oci/manifest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { encodeJson, pushBlob, pushManifest, type PushTarget } from "./oci_push.ts";
import { buildTar as writeTar, type RawEntry, withPax } from "./tar_writer.ts";

/** One tar entry. Paths are relative (`usr/bin/x`); a leading `/` or `./` is kept verbatim for hostile tests. */
export type TarEntry =
  | { type: "file"; path: string; content: string | Uint8Array; mode?: number; mtime?: number }
  | { type: "dir"; path: string; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "hardlink"; path: string; target: string }
  /** Deletes `path` from lower layers (writes `<dir>/.wh.<name>`). */
  | { type: "whiteout"; path: string }
  /** Hides everything below directory `path` from lower layers (writes `<path>/.wh..wh..opq`). */
  | { type: "opaque"; path: string };

/** Layer compression. "zstd" needs node:zlib zstdCompressSync (Deno ≥ 2.4). */
export type Compression = "gzip" | "zstd" | "none";

/** A layer to build. */
export interface LayerSpec {
  entries: TarEntry[];
  /** @default {"gzip"} */
  compression?: Compression;
}

/** A built layer. */
export interface BuiltLayer {
  readonly bytes: Uint8Array;
  readonly digest: Digest;
  /** sha256 of the uncompressed tar. */
  readonly diffId: Digest;
  readonly mediaType: string;
  readonly tar: Uint8Array;
}

/** The runtime part of an image config. */
export interface ConfigSpec {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
}

/** Options for {@linkcode buildImage}. */
export interface ImageSpec {
  layers?: LayerSpec[];
  config?: ConfigSpec;
  /** @default {{ os: "linux", architecture: "amd64" }} */
  platform?: Platform;
  /** @default {"oci"} */
  format?: "oci" | "docker";
  annotations?: Record<string, string>;
  /** Makes the manifest a referrer of this descriptor. */
  subject?: Descriptor;
  artifactType?: string;
  /** Replaces the generated config (e.g. `{ bytes: "{}", mediaType: MEDIA_TYPES.OCI_EMPTY }` for artifacts). */
  rawConfig?: { bytes: Uint8Array; mediaType: string };
  /** Extra blobs used as layers verbatim (e.g. a Sigstore bundle). */
  rawLayers?: { bytes: Uint8Array; mediaType: string; annotations?: Record<string, string> }[];
}

/** A built image: everything needed to push or inspect it. */
export interface BuiltImage {
  readonly manifest: Record<string, unknown>;
  readonly manifestBytes: Uint8Array;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly config: Record<string, unknown>;
  readonly configBytes: Uint8Array;
  readonly configDigest: Digest;
  readonly layers: BuiltLayer[];
  /** Config and layer blobs by digest. */
  readonly blobs: Map<Digest, Uint8Array>;
  readonly platform: Platform;
  /** The manifest's descriptor, with platform, for indexes and referrers. */
  readonly descriptor: Descriptor;
}

/** A built index. */
export interface BuiltIndex {
  readonly index: Record<string, unknown>;
  readonly bytes: Uint8Array;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly descriptor: Descriptor;
  readonly images: BuiltImage[];
}

const encoder = new TextEncoder();

/**
 * Serialises entries as a POSIX tar (ustar, with PAX headers for names or link targets over 100 bytes) through
 * the one tar writer for tests (tar_writer.ts); this adds the image-level entry kinds (whiteouts, opaque dirs).
 */
export function buildTar(entries: readonly TarEntry[]): Uint8Array {
  const raw: RawEntry[][] = [];
  for (const entry of entries) {
    let name = entry.path;
    let type = "file";
    let mode = 0o644;
    let body: Uint8Array = new Uint8Array(0);
    let linkname: string | undefined;
    let mtime = 0;
    switch (entry.type) {
      case "file":
        body = typeof entry.content === "string" ? encoder.encode(entry.content) : entry.content;
        mode = entry.mode ?? 0o644;
        mtime = entry.mtime ?? 0;
        break;
      case "dir":
        type = "dir";
        mode = entry.mode ?? 0o755;
        if (!name.endsWith("/")) name += "/";
        break;
      case "symlink":
        type = "symlink";
        mode = 0o777;
        linkname = entry.target;
        break;
      case "hardlink":
        type = "link";
        linkname = entry.target;
        break;
      case "whiteout": {
        const slash = name.replace(/\/$/, "").lastIndexOf("/");
        name = `${name.slice(0, slash + 1)}.wh.${name.replace(/\/$/, "").slice(slash + 1)}`;
        break;
      }
      case "opaque":
        name = `${name.replace(/\/$/, "")}/.wh..wh..opq`;
        break;
    }
    const longName = encoder.encode(name).length > 100;
    const longLink = linkname !== undefined && encoder.encode(linkname).length > 100;
    const header: RawEntry = {
      name: longName ? name.slice(-99).replace(/^\/+/, "") : name,
      type,
      mode,
      mtime,
      body,
      ...(linkname === undefined ? {} : { linkname: longLink ? "" : linkname }),
    };
    const pax: Record<string, string> = {
      ...(longName ? { path: name } : {}),
      ...(longLink ? { linkpath: linkname! } : {}),
    };
    raw.push(Object.keys(pax).length ? withPax(pax, header) : [header]);
  }
  return writeTar(raw);
}

/** Compresses bytes. */
export async function compress(bytes: Uint8Array, compression: Compression): Promise<Uint8Array> {
  if (compression === "none") return bytes;
  if (compression === "zstd") {
    const zstd = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Uint8Array }).zstdCompressSync;
    if (!zstd) throw new Error("zstd compression needs node:zlib zstdCompressSync");
    return new Uint8Array(zstd(bytes));
  }
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function layerMediaType(compression: Compression, format: "oci" | "docker"): string {
  if (compression === "gzip") {
    return format === "docker" ? MEDIA_TYPES.DOCKER_LAYER_GZIP : MEDIA_TYPES.OCI_LAYER_GZIP;
  }
  if (compression === "zstd") return MEDIA_TYPES.OCI_LAYER_ZSTD;
  return MEDIA_TYPES.OCI_LAYER;
}

/** Builds one layer. */
export async function buildLayer(spec: LayerSpec, format: "oci" | "docker" = "oci"): Promise<BuiltLayer> {
  const compression = spec.compression ?? "gzip";
  const tar = buildTar(spec.entries);
  const bytes = await compress(tar, compression);
  return {
    bytes,
    tar,
    digest: await sha256Digest(bytes),
    diffId: await sha256Digest(tar),
    mediaType: layerMediaType(compression, format),
  };
}

/** Builds an image (or, with rawConfig/rawLayers/subject, a referrer artifact). */
export async function buildImage(spec: ImageSpec = {}): Promise<BuiltImage> {
  const format = spec.format ?? "oci";
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers = await Promise.all((spec.layers ?? []).map((l) => buildLayer(l, format)));
  const config: Record<string, unknown> = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: "1970-01-01T00:00:00Z",
    config: spec.config ?? {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = spec.rawConfig?.bytes ?? encodeJson(config);
  const configMediaType = spec.rawConfig?.mediaType ??
    (format === "docker" ? MEDIA_TYPES.DOCKER_CONFIG : MEDIA_TYPES.OCI_CONFIG);
  const configDigest = await sha256Digest(configBytes);
  const blobs = new Map<Digest, Uint8Array>([[configDigest, configBytes]]);
  const layerDescriptors: Record<string, unknown>[] = layers.map((l) => {
    blobs.set(l.digest, l.bytes);
    return { mediaType: l.mediaType, digest: l.digest, size: l.bytes.length };
  });
  for (const raw of spec.rawLayers ?? []) {
    const digest = await sha256Digest(raw.bytes);
    blobs.set(digest, raw.bytes);
    layerDescriptors.push({
      mediaType: raw.mediaType,
      digest,
      size: raw.bytes.length,
      ...(raw.annotations ? { annotations: raw.annotations } : {}),
    });
  }
  const mediaType = format === "docker" ? MEDIA_TYPES.DOCKER_MANIFEST : MEDIA_TYPES.OCI_MANIFEST;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    config: { mediaType: configMediaType, digest: configDigest, size: configBytes.length },
    layers: layerDescriptors,
    ...(spec.subject
      ? {
        subject: { mediaType: spec.subject.mediaType, digest: spec.subject.digest, size: spec.subject.size },
      }
      : {}),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  const manifestBytes = encodeJson(manifest);
  const digest = await sha256Digest(manifestBytes);
  return {
    manifest,
    manifestBytes,
    digest,
    mediaType,
    config,
    configBytes,
    configDigest,
    layers,
    blobs,
    platform,
    descriptor: {
      mediaType,
      digest,
      size: manifestBytes.length,
      platform,
      ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    },
  };
}

/** Options for {@linkcode buildIndex}. */
export interface IndexSpec {
  /** @default {"oci"} */
  format?: "oci" | "docker";
  annotations?: Record<string, string>;
  /** Extra entries, e.g. a BuildKit attestation manifest with platform unknown/unknown. */
  extraManifests?: Descriptor[];
}

/** Builds a multi-platform index over `images`. */
export async function buildIndex(images: BuiltImage[], spec: IndexSpec = {}): Promise<BuiltIndex> {
  const mediaType = spec.format === "docker" ? MEDIA_TYPES.DOCKER_MANIFEST_LIST : MEDIA_TYPES.OCI_INDEX;
  const index: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    manifests: [...images.map((i) => i.descriptor), ...(spec.extraManifests ?? [])],
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  const bytes = encodeJson(index);
  const digest = await sha256Digest(bytes);
  return { index, bytes, digest, mediaType, images, descriptor: { mediaType, digest, size: bytes.length } };
}

/** Pushes an image's blobs and manifest, tagged `tag` (or by digest only when `tag` is undefined). */
export async function pushImage(
  target: PushTarget,
  repository: string,
  tag: string | undefined,
  image: BuiltImage,
): Promise<Digest> {
  for (const bytes of image.blobs.values()) await pushBlob(target, repository, bytes);
  return await pushManifest(target, repository, tag ?? image.digest, image.manifestBytes, image.mediaType);
}

/** Builds and pushes an index over `images` (pushed by digest first), tagged `tag`. */
export async function pushIndex(
  target: PushTarget,
  repository: string,
  tag: string,
  images: BuiltImage[],
  spec: IndexSpec = {},
): Promise<BuiltIndex> {
  for (const image of images) await pushImage(target, repository, undefined, image);
  const index = await buildIndex(images, spec);
  await pushManifest(target, repository, tag, index.bytes, index.mediaType);
  return index;
}
