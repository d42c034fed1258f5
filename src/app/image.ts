/**
 * Resolving an image to exact digests, deciding whether and how it must be verified, and verifying it. Shared by
 * install, update, verify and run. Tags are resolved once; everything after uses digests.
 */
import { DropzoneError, EXIT, isDropzoneError } from "../errors.ts";
import { type ArtifactFile, artifactFiles, isArtifactManifest, platformTag } from "../oci/artifact.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import { type ImageConfig, type ImageIndex, type ImageManifest, parseImageConfig } from "../oci/manifest.ts";
import { isSupportedLayerMediaType } from "../unpack/layer.ts";
import { formatPlatform, selectPlatform } from "../oci/platform.ts";
import type { ResolvedReference } from "../oci/reference.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import type { Host } from "../runtime.ts";
import { ArtifactBudget } from "../verify/artifact_budget.ts";
import { applyAttestationGates, collectAttestations } from "../verify/attestations.ts";
import { verifyImageSignature } from "../verify/signatures.ts";
import type { TrustContext } from "../verify/verifier.ts";
import type { AttestationSummary, CosignPolicy, ProofKind, SignatureResult } from "../verify/types.ts";
import { verifyProvenance } from "../verify/provenance.ts";

/**
 * An image resolved to its platform manifest: everything verification needs (signatures bind the manifest, so
 * the config blob is not read).
 */
export interface ResolvedManifest {
  readonly ref: ResolvedReference;
  readonly repo: RepoRef;
  /** The multi-arch index the tag or digest pointed at, or null for a single-platform image. */
  readonly index:
    | { readonly digest: Digest; readonly bytes: Uint8Array; readonly manifest: ImageIndex }
    | null;
  /** The platform manifest that will be unpacked. */
  readonly digest: Digest;
  readonly manifestBytes: Uint8Array;
  readonly manifest: ImageManifest;
  /** "os/arch[/variant]" from the index entry, or null for a single-platform image (known from its config). */
  readonly indexPlatform: string | null;
  /**
   * "image": a container image (rootfs layers, image config). "artifact": files as layers (an `artifactType` or
   * an empty/unknown config); `files` then lists the titled layers, every title checked.
   */
  readonly kind: "image" | "artifact";
  readonly files: readonly ArtifactFile[];
}

/** An image resolved to its platform manifest and config, with everything needed to pull and verify it. */
export interface ResolvedImage extends ResolvedManifest {
  readonly config: ImageConfig;
  readonly configBytes: Uint8Array;
  readonly platform: string;
}

/** How an install is trusted; decided only by `planInstall()` (install_plan.ts). */
export type TrustDecision =
  | { readonly kind: "verify"; readonly policy: CosignPolicy }
  | { readonly kind: "unsigned" };

/** What verification proved. */
export interface Verification {
  readonly signature: SignatureResult | null;
  readonly attestations: AttestationSummary[];
}

/** Options for {@linkcode resolveImage}. */
export interface ResolveImageOptions {
  readonly client: RegistryClient;
  readonly host: Host;
  readonly signal?: AbortSignal;
}

/** Resolves a reference to its platform manifest and config (one GET per manifest; the tag is read once). */
export async function resolveImage(
  ref: ResolvedReference,
  options: ResolveImageOptions,
): Promise<ResolvedImage> {
  const image = await resolveManifest(ref, options);
  const { client, host, signal } = options;
  const { repo, index, manifest } = image;
  const configBytes = await client.getBlobBytes(repo, manifest.config.digest, {
    size: manifest.config.size,
    ...(signal ? { signal } : {}),
  });
  if (image.kind === "artifact") {
    // An artifact's config is empty or opaque: kept for export, never interpreted. Its platform is the index
    // entry's, else the host's (the binary's own format is checked against the host before it is linked).
    return {
      ...image,
      config: { config: {} },
      configBytes,
      platform: image.indexPlatform ?? formatPlatform(host),
    };
  }
  let config: ImageConfig;
  try {
    config = parseImageConfig(configBytes);
  } catch (err) {
    throw new DropzoneError(
      "REGISTRY_PROTOCOL",
      `Image config of ${ref.input} is malformed: ${(err as Error).message}`,
      {
        hint: "The image is broken; report it to the publisher",
        cause: err,
      },
    );
  }
  const os = config.os ?? host.os;
  const arch = config.architecture ?? host.arch;
  if (!index && (os !== host.os || arch !== host.arch)) {
    throw new DropzoneError(
      "NO_MATCHING_PLATFORM",
      // `host` is the target platform: this machine's, or the one `--platform` asked for.
      `Cannot install ${ref.input}: it is built for ${os}/${arch}, not for ${formatPlatform(host)}`,
      { hint: `Use an image built for ${formatPlatform(host)} (or a multi-arch tag)` },
    );
  }
  return {
    ...image,
    config,
    configBytes,
    platform: `${os}/${arch}${config.variant ? `/${config.variant}` : ""}`,
  };
}

/**
 * Resolves a reference to its platform manifest without reading the config blob (one GET per manifest; the tag
 * is read once). An index is narrowed to the host's platform; a single-platform image is taken as it is.
 */
export async function resolveManifest(
  requested: ResolvedReference,
  options: ResolveImageOptions,
): Promise<ResolvedManifest> {
  const { client, host, signal } = options;
  const repo: RepoRef = { registry: requested.host, repository: requested.repository };
  let ref = requested;
  let top;
  try {
    top = await client.getManifest(repo, ref.digest ?? ref.tag ?? "latest", { signal });
  } catch (err) {
    // Static-binary catalogs publish `TAG-<arch>-<os>` only; use it when the plain tag does not exist.
    const fallback = !ref.digest && isDropzoneError(err, "MANIFEST_UNKNOWN")
      ? platformTag(ref.tag ?? "latest", host)
      : undefined;
    if (fallback === undefined) throw err;
    try {
      top = await client.getManifest(repo, fallback, { signal });
    } catch (second) {
      if (isDropzoneError(second, "MANIFEST_UNKNOWN")) throw err;
      throw second;
    }
    ref = { ...ref, tag: fallback };
  }
  if (ref.digest && top.digest !== ref.digest) {
    throw new DropzoneError(
      "DIGEST_MISMATCH",
      `Registry ${ref.host} returned ${top.digest} for ${ref.digest}`,
      {
        hint: "The registry or a proxy served the wrong content; do not install it",
      },
    );
  }
  let index: ResolvedImage["index"] = null;
  let platformManifest = top;
  let indexPlatform: string | null = null;
  if (top.manifest.kind === "index") {
    index = { digest: top.digest, bytes: top.bytes, manifest: top.manifest };
    const descriptor = selectPlatform(top.manifest, host);
    indexPlatform = formatPlatform(descriptor.platform!);
    platformManifest = await client.getManifest(repo, descriptor.digest, { signal });
    if (platformManifest.manifest.kind !== "manifest") {
      throw new DropzoneError(
        "REGISTRY_PROTOCOL",
        `Index entry ${descriptor.digest} in ${ref.host} is not an image`,
        {
          hint: "The image index is malformed; report it to the publisher",
        },
      );
    }
  }
  const manifest = platformManifest.manifest as ImageManifest;
  // Artifact titles are checked here, before anything is downloaded or written.
  const kind = isArtifactManifest(manifest) ? "artifact" : "image";
  const files = kind === "artifact" ? artifactFiles(manifest, ref.input) : [];
  for (const layer of kind === "image" ? manifest.layers : []) {
    if (!isSupportedLayerMediaType(layer.mediaType)) {
      throw new DropzoneError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Cannot install ${ref.input}: layer ${shortDigest(layer.digest)} has media type "${layer.mediaType}"`,
        {
          hint: "dz unpacks tar, tar+gzip and tar+zstd layers; this image is not a runnable container image",
        },
      );
    }
  }
  return {
    ref,
    repo,
    index,
    digest: platformManifest.digest,
    manifestBytes: platformManifest.bytes,
    manifest,
    indexPlatform,
    kind,
    files,
  };
}

/** Options for {@linkcode verifyResolvedImage}. */
export interface VerifyResolvedOptions {
  readonly client: RegistryClient;
  readonly decision: TrustDecision;
  readonly loadTrust: (policy: CosignPolicy) => Promise<TrustContext>;
  readonly now: Date;
  readonly signal?: AbortSignal;
}

/**
 * A trust failure of content a mirror served names the mirror: the fault is the mirror's, and it is never a
 * reason to try the next location. Other errors pass through unchanged.
 */
export function blameMirrors(err: unknown, client: RegistryClient, repo: RepoRef): unknown {
  if (!(err instanceof DropzoneError) || err.exitCode !== EXIT.TRUST || blamed.has(err)) return err;
  const mirrors = client.mirrorsUsed?.(repo) ?? [];
  if (mirrors.length === 0) return err;
  const named = new DropzoneError(
    err.code,
    `${err.message} (content served by mirror ${mirrors.join(", ")})`,
    {
      hint:
        `Mirror ${mirrors[0]} serves content that does not verify as ${repo.registry}/${repo.repository}; ` +
        `fix the mirror or remove it ("dz remove mirror <prefix> ${mirrors[0]}")`,
      cause: err,
    },
  );
  blamed.add(named);
  return named;
}

/**
 * Proves the image's origin with what the policy accepts: a cosign signature, SLSA v1 provenance, or either
 * (the signature is tried first; provenance only after a trust failure, never after a registry error). When
 * neither proves it, the error names both attempts.
 */
async function verifyProof(
  target: Parameters<typeof verifyImageSignature>[0],
  accept: readonly ProofKind[],
): Promise<SignatureResult> {
  let signatureError: DropzoneError | undefined;
  if (accept.includes("signature")) {
    try {
      return { ...(await verifyImageSignature(target)), proof: "signature" };
    } catch (err) {
      if (!accept.includes("provenance") || !isDropzoneError(err) || err.exitCode !== EXIT.TRUST) throw err;
      signatureError = err;
    }
  }
  try {
    return await verifyProvenance(target);
  } catch (err) {
    if (!signatureError || !isDropzoneError(err) || err.exitCode !== EXIT.TRUST) throw err;
    // Both failed: a mismatch on either side is the more useful message (someone else signed).
    const code = [signatureError.code, err.code].includes("POLICY_MISMATCH")
      ? "POLICY_MISMATCH"
      : signatureError.code === "SIGNATURE_MISSING" && err.code === "SIGNATURE_MISSING"
      ? "SIGNATURE_MISSING"
      : "SIGNATURE_INVALID";
    throw new DropzoneError(code, `${signatureError.message}\nand: ${err.message}`, {
      hint: err.code === "SIGNATURE_MISSING" ? signatureError.hint : err.hint,
    });
  }
}

/** Errors that already name their mirror: verification and the install gate both blame, once is enough. */
const blamed = new WeakSet<DropzoneError>();

/** Verifies the image's signature (and attestations) against the decision. Throws trust errors (exit 3). */
export async function verifyResolvedImage(
  image: ResolvedManifest,
  options: VerifyResolvedOptions,
): Promise<Verification> {
  try {
    return await verifyResolved(image, options);
  } catch (err) {
    throw blameMirrors(err, options.client, image.repo);
  }
}

async function verifyResolved(
  image: ResolvedManifest,
  options: VerifyResolvedOptions,
): Promise<Verification> {
  const { client, decision, loadTrust, now, signal } = options;
  if (decision.kind === "unsigned") return { signature: null, attestations: [] };
  const trust = await loadTrust(decision.policy);
  // One budget for everything read about this image's signatures and attestations.
  const budget = new ArtifactBudget();
  // Attestations are attached to the digest that was signed; look at both where they may differ. Their lookup
  // (referrers, the .att tag, their blobs: round trips, each verified on its own) starts with the signature's
  // instead of after it, for both candidates; only the signed digest's and the image's are used.
  // Stopped when the signature fails: nothing may keep reading about an image that is refused.
  const lookups = new AbortController();
  const lookupSignal = signal ? AbortSignal.any([signal, lookups.signal]) : lookups.signal;
  const collect = (digest: Digest) =>
    collectAttestations({
      client,
      repo: image.repo,
      digest,
      policy: decision.policy,
      trust,
      budget,
      signal: lookupSignal,
    }).catch(() => [] as AttestationSummary[]);
  const candidates = new Map<Digest, Promise<AttestationSummary[]>>();
  for (const digest of [image.digest, image.index?.digest]) {
    if (digest !== undefined && !candidates.has(digest)) candidates.set(digest, collect(digest));
  }
  let signature: Awaited<ReturnType<typeof verifyProof>>;
  try {
    signature = await verifyProof({
      client,
      repo: image.repo,
      digest: image.digest,
      ...(image.index ? { index: { digest: image.index.digest, manifest: image.index.bytes } } : {}),
      policy: decision.policy,
      trust,
      now,
      budget,
      ...(signal ? { signal } : {}),
    }, decision.policy.accept ?? ["signature"]);
  } catch (err) {
    lookups.abort();
    throw err;
  }
  const attestationDigests = [...new Set([image.digest, signature.signedDigest])];
  const attestations = (await Promise.all(
    attestationDigests.map((digest) => candidates.get(digest) ?? collect(digest)),
  )).flat();
  // A candidate that was not signed (the index, when the platform manifest carries the signature) stops here.
  lookups.abort();
  applyAttestationGates(attestations, decision.policy);
  return { signature, attestations };
}
