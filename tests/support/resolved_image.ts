/** A ResolvedImage built in code (no registry), for unit tests of what install does with a resolved image. */
import type { ResolvedImage } from "../../src/app/image.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { resolveReference } from "../../src/oci/reference.ts";
import type { ConfiguredRegistry } from "../../src/store/config.ts";

/** `sha256:<c × 64>`: a readable fake digest. */
export const fakeDigest = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;

const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

/** Registries the fixture's references resolve against: "lab" (no policy) at 127.0.0.1:5000/apps. */
export const FIXTURE_REGISTRIES: ConfiguredRegistry[] = [{ name: "lab", url: "127.0.0.1:5000/apps" }];

/** `lab/tool:1.0` resolved through index `i…` to manifest `m…` (config `c…`, layers `1…` and `2…`). */
export function resolvedImage(overrides: Partial<ResolvedImage> = {}): ResolvedImage {
  const ref = resolveReference("lab/tool:1.0", { registries: FIXTURE_REGISTRIES, defaultRegistry: "lab" });
  return {
    ref,
    repo: { registry: "127.0.0.1:5000", repository: "apps/tool" },
    index: {
      digest: fakeDigest("i"),
      bytes: new Uint8Array(),
      manifest: { kind: "index", mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] },
    },
    digest: fakeDigest("m"),
    manifestBytes: new Uint8Array(),
    manifest: {
      kind: "manifest",
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: fakeDigest("c"), size: 10 },
      layers: [
        { mediaType: LAYER, digest: fakeDigest("1"), size: 100 },
        { mediaType: LAYER, digest: fakeDigest("2"), size: 23 },
      ],
    },
    indexPlatform: "linux/amd64",
    kind: "image",
    files: [],
    config: { config: { Entrypoint: ["/usr/bin/tool"], Cmd: null, Env: null, Labels: null } },
    configBytes: new Uint8Array(),
    platform: "linux/amd64",
    ...overrides,
  } as ResolvedImage;
}
