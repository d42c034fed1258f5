/**
 * Pushes ORAS-style OCI artifacts for tests: each file a layer named by its `org.opencontainers.image.title`
 * annotation, an empty (or "unknown") config, an optional `artifactType`, and indexes over per-platform
 * artifacts. Goes through `oci_push.ts` like every other fixture, so it works against the launched docker-registry.
 *
 * ```ts
 * const a = await pushArtifact(registry, "apps/tool", "v1", { files: [{ title: "tool", content: bytes }] });
 * await pushArtifactIndex(registry, "apps/tool", "v2", [amd64, arm64]);
 * ```
 */
import { type Digest, digestHex, sha256Digest } from "../../src/oci/digest.ts";
import type { Descriptor, Platform } from "../../src/oci/manifest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { encodeJson, pushBlob, pushManifest, type PushTarget } from "./oci_push.ts";

/** One file of an artifact. */
export interface ArtifactFileSpec {
  /** The title annotation, verbatim (hostile titles for negative tests). Omitted when undefined. */
  title: string | undefined;
  content: Uint8Array | string;
  /** @default ORAS' default, "application/vnd.oci.image.layer.v1.tar" (yes, even for plain files) */
  mediaType?: string;
}

/** Options for {@linkcode pushArtifact}. */
export interface ArtifactSpec {
  files: ArtifactFileSpec[];
  /** @default {"application/vnd.dz-test.binary"}; null for none (then the config alone marks the artifact). */
  artifactType?: string | null;
  /** "empty": application/vnd.oci.empty.v1+json `{}`; "unknown": application/vnd.unknown.config.v1+json. */
  config?: "empty" | "unknown";
  /** The platform recorded in an index entry over this artifact. */
  platform?: Platform;
}

/** A pushed artifact. */
export interface PushedArtifact {
  readonly digest: Digest;
  readonly manifestBytes: Uint8Array;
  readonly descriptor: Descriptor;
  /** Layer digests in order. */
  readonly layers: Digest[];
}

const encoder = new TextEncoder();
const ORAS_DEFAULT_LAYER = "application/vnd.oci.image.layer.v1.tar";

/** Pushes an artifact's blobs and manifest under `tag` (or by digest only when `tag` is undefined). */
export async function pushArtifact(
  target: PushTarget,
  repository: string,
  tag: string | undefined,
  spec: ArtifactSpec,
): Promise<PushedArtifact> {
  const configBytes = encoder.encode("{}");
  const configDigest = await pushBlob(target, repository, configBytes);
  const layers: Record<string, unknown>[] = [];
  const digests: Digest[] = [];
  for (const file of spec.files) {
    const bytes = typeof file.content === "string" ? encoder.encode(file.content) : file.content;
    const digest = await pushBlob(target, repository, bytes);
    digests.push(digest);
    layers.push({
      mediaType: file.mediaType ?? ORAS_DEFAULT_LAYER,
      digest,
      size: bytes.length,
      ...(file.title !== undefined ? { annotations: { "org.opencontainers.image.title": file.title } } : {}),
    });
  }
  const artifactType = spec.artifactType === undefined ? "application/vnd.dz-test.binary" : spec.artifactType;
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    ...(artifactType !== null ? { artifactType } : {}),
    config: {
      mediaType: spec.config === "unknown" ? "application/vnd.unknown.config.v1+json" : MEDIA_TYPES.OCI_EMPTY,
      digest: configDigest,
      size: configBytes.length,
    },
    layers,
    annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
  };
  const manifestBytes = encodeJson(manifest);
  const digest = await pushManifest(
    target,
    repository,
    tag ?? await sha256Digest(manifestBytes),
    manifestBytes,
    MEDIA_TYPES.OCI_MANIFEST,
  );
  return {
    digest,
    manifestBytes,
    layers: digests,
    descriptor: {
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      digest,
      size: manifestBytes.length,
      ...(artifactType !== null ? { artifactType } : {}),
      ...(spec.platform ? { platform: spec.platform } : {}),
    },
  };
}

/** Pushes an index over per-platform artifacts (each pushed by digest first) under `tag`. */
export async function pushArtifactIndex(
  target: PushTarget,
  repository: string,
  tag: string,
  artifacts: ArtifactSpec[],
): Promise<{ digest: Digest; bytes: Uint8Array; artifacts: PushedArtifact[] }> {
  const pushed: PushedArtifact[] = [];
  for (const spec of artifacts) {
    if (!spec.platform) throw new Error("every artifact of an index needs a platform");
    pushed.push(await pushArtifact(target, repository, undefined, spec));
  }
  const bytes = encodeJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_INDEX,
    manifests: pushed.map((p) => p.descriptor),
  });
  const digest = await pushManifest(target, repository, tag, bytes, MEDIA_TYPES.OCI_INDEX);
  return { digest, bytes, artifacts: pushed };
}

/**
 * Replaces the stored bytes of a blob in a launched docker-registry's storage with other bytes of the same
 * length, as a compromised registry or mirror would serve them.
 */
export async function tamperStoredBlob(
  registryDir: string,
  digest: Digest,
  bytes: Uint8Array,
): Promise<void> {
  const hex = digestHex(digest);
  const path = `${registryDir}/data/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  const old = await Deno.stat(path);
  if (old.size !== bytes.length) throw new Error(`tampered blob must keep its size ${old.size}`);
  await Deno.writeFile(path, bytes);
}
