/**
 * Signature discovery (registry I/O) and the main entry, {@linkcode verifyImageSignature}. Candidates come from
 * the legacy `sha256-<hex>.sig` tag (every layer) and from Sigstore bundle referrers, for the platform digest
 * and, when the caller passes the verified index, for the index digest. Any one candidate that verifies and
 * matches the policy suffices (cosign semantics); otherwise the error lists every candidate's reason.
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { type Digest, digestHex, sha256Digest, shortDigest } from "../oci/digest.ts";
import { type ImageIndex, parseManifest } from "../oci/manifest.ts";
import { isSigstoreBundleMediaType, MEDIA_TYPES } from "../oci/media_types.ts";
import { isTransferFailure } from "../registry/registry_error.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import type { CosignPolicy, SignatureResult } from "./types.ts";
import { type Candidate, type TrustContext, verifyCandidate } from "./verifier.ts";
import { describeExpected } from "./policy.ts";
import { fromBase64 } from "./legacy_bundle.ts";
import { SIGN_PREDICATE_TYPE } from "./statement.ts";

/** Largest signature/attestation layer or bundle dz reads. */
export const MAX_SIGNATURE_BLOB_BYTES = 4 * 1024 * 1024;
/** cosign's reader cap on layers in a `.sig`/`.att` manifest. */
export const MAX_SIGNATURE_LAYERS = 1000;
/** Referrer manifests considered per digest. */
export const MAX_REFERRERS = 200;

/** Why a candidate was skipped or refused, for error messages. */
export interface CandidateFailure {
  readonly label: string;
  readonly code: "SIGNATURE_INVALID" | "POLICY_MISMATCH" | "POLICY_MISSING" | "TRUSTED_ROOT_INVALID";
  readonly message: string;
}

/** Candidates found for a digest, plus notes about things that were looked at and skipped. */
export interface Discovery {
  readonly candidates: Candidate[];
  /** Found but unusable artifacts (count as invalid candidates). */
  readonly broken: CandidateFailure[];
  /** Informational: lookups that found nothing usable. */
  readonly notes: string[];
  /** Registry failures (auth, network, rate limits) while looking; rethrown when nothing else was found. */
  readonly errors: unknown[];
}

function notFound(err: unknown): boolean {
  return isDropzoneError(err, "MANIFEST_UNKNOWN") || (err as { status?: number })?.status === 404;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Legacy `.sig` (simple signing) or `.att` (DSSE) layers under the cosign tag for `digest`. */
export async function discoverLegacy(
  client: RegistryClient,
  repo: RepoRef,
  digest: Digest,
  suffix: "sig" | "att",
  signal?: AbortSignal,
): Promise<Discovery> {
  const tag = `sha256-${digestHex(digest)}.${suffix}`;
  const out: Discovery = { candidates: [], broken: [], notes: [], errors: [] };
  let fetched;
  try {
    fetched = await client.getManifest(repo, tag, signal ? { signal } : {});
  } catch (err) {
    if (notFound(err)) out.notes.push(`no ${tag} tag`);
    else out.errors.push(err);
    return out;
  }
  // GHCR-style registries answer unknown cosign tags with the image itself.
  if (fetched.digest === digest || fetched.manifest.kind !== "manifest") {
    out.notes.push(
      `${tag} resolved to ${fetched.digest === digest ? "the image itself" : "an index"}; ignored`,
    );
    return out;
  }
  const wanted = suffix === "sig" ? MEDIA_TYPES.COSIGN_SIMPLE_SIGNING : MEDIA_TYPES.DSSE_ENVELOPE;
  const layers = fetched.manifest.layers.slice(0, MAX_SIGNATURE_LAYERS);
  if (fetched.manifest.layers.length > MAX_SIGNATURE_LAYERS) {
    out.notes.push(
      `${tag} has ${fetched.manifest.layers.length} layers; only the first ${MAX_SIGNATURE_LAYERS} read`,
    );
  }
  await Promise.all(layers.map(async (layer, i) => {
    const label = `${tag} layer ${i + 1}`;
    if (layer.mediaType !== wanted) {
      out.notes.push(`${label} has media type "${layer.mediaType}"; ignored`);
      return;
    }
    if (layer.size > MAX_SIGNATURE_BLOB_BYTES) {
      out.broken.push({
        label,
        code: "SIGNATURE_INVALID",
        message: `layer of ${layer.size} bytes is too large`,
      });
      return;
    }
    try {
      const blob = await client.getBlobBytes(repo, layer.digest, {
        size: layer.size,
        maxBytes: MAX_SIGNATURE_BLOB_BYTES,
        ...(signal ? { signal } : {}),
      });
      out.candidates.push({
        kind: suffix === "sig" ? "legacy-sig" : "legacy-att",
        signedDigest: digest,
        layer,
        blob,
        label,
      });
    } catch (err) {
      // Not fetched (network, 5xx, not cached offline) says nothing about the signature: not a trust verdict.
      if (isTransferFailure(err)) out.errors.push(err);
      else {out.broken.push({
          label,
          code: "SIGNATURE_INVALID",
          message: `Cannot fetch layer: ${message(err)}`,
        });}
    }
  }));
  out.candidates.sort((a, b) => a.label.localeCompare(b.label, "en", { numeric: true }));
  return out;
}

/** The predicateType a bundle's DSSE statement claims (unverified; only to sort signatures from attestations). */
export function peekBundlePredicateType(bundle: unknown): string | undefined {
  try {
    const env = (bundle as { dsseEnvelope?: { payload?: unknown } }).dsseEnvelope;
    if (typeof env?.payload !== "string") return undefined;
    const st = JSON.parse(new TextDecoder().decode(fromBase64(env.payload)));
    return typeof st?.predicateType === "string" ? st.predicateType : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sigstore bundles attached to `digest` as referrers. Each referrer manifest must declare a bundle
 * artifactType, name `digest` as its subject and carry exactly one bundle layer within the size cap. `purpose`
 * "signature" keeps bundles whose statement claims predicateType sign/v1, "attestation" keeps the rest.
 */
export async function discoverBundles(
  client: RegistryClient,
  repo: RepoRef,
  digest: Digest,
  purpose: "signature" | "attestation",
  signal?: AbortSignal,
): Promise<Discovery> {
  const out: Discovery = { candidates: [], broken: [], notes: [], errors: [] };
  let descriptors;
  try {
    descriptors = await client.referrers(repo, digest, signal ? { signal } : {});
  } catch (err) {
    if (notFound(err)) out.notes.push(`no referrers for ${shortDigest(digest)}`);
    else out.errors.push(err);
    return out;
  }
  const bundles = descriptors.filter((d) => isSigstoreBundleMediaType(d.artifactType));
  if (bundles.length < descriptors.length) {
    out.notes.push(
      `${descriptors.length - bundles.length} referrer(s) of ${shortDigest(digest)} are not bundles`,
    );
  }
  await Promise.all(
    bundles.slice(0, MAX_REFERRERS).map(async (desc) => {
      const label = `referrer ${shortDigest(desc.digest)}`;
      try {
        const fetched = await client.getManifest(repo, desc.digest, signal ? { signal } : {});
        const m = fetched.manifest;
        if (m.kind !== "manifest") throw new TypeError("referrer is not an image manifest");
        const artifactType = m.artifactType ?? m.config.mediaType;
        if (!isSigstoreBundleMediaType(artifactType)) {
          throw new TypeError(`artifactType "${artifactType}" is not a bundle`);
        }
        if (m.subject?.digest !== digest) {
          // Not about this digest (e.g. a registry answering the fallback tag with something else): skip.
          out.notes.push(`${label} has subject ${m.subject?.digest ?? "(none)"}; ignored`);
          return;
        }
        if (m.layers.length !== 1 || !isSigstoreBundleMediaType(m.layers[0]!.mediaType)) {
          throw new TypeError("referrer must have exactly one Sigstore bundle layer");
        }
        const layer = m.layers[0]!;
        if (layer.size > MAX_SIGNATURE_BLOB_BYTES) {
          throw new TypeError(`bundle of ${layer.size} bytes is too large`);
        }
        const bytes = await client.getBlobBytes(repo, layer.digest, {
          size: layer.size,
          maxBytes: MAX_SIGNATURE_BLOB_BYTES,
          ...(signal ? { signal } : {}),
        });
        const bundle = JSON.parse(new TextDecoder().decode(bytes));
        const predicateType = peekBundlePredicateType(bundle);
        const isSignature = predicateType === SIGN_PREDICATE_TYPE;
        if ((purpose === "signature") !== isSignature) {
          out.notes.push(
            `${label} is ${isSignature ? "a signature" : `an attestation (${predicateType})`}; skipped`,
          );
          return;
        }
        out.candidates.push({ kind: "bundle", signedDigest: digest, bundle, purpose, label });
      } catch (err) {
        if (isTransferFailure(err)) out.errors.push(err);
        else out.broken.push({ label, code: "SIGNATURE_INVALID", message: message(err) });
      }
    }),
  );
  out.candidates.sort((a, b) => a.label.localeCompare(b.label));
  return out;
}

/** Options for {@linkcode verifyImageSignature}. */
export interface VerifyImageSignatureOptions {
  client: RegistryClient;
  repo: RepoRef;
  /** The digest to install (a platform manifest, or an image without an index). */
  digest: Digest;
  /**
   * The verified index the digest was selected from. Its signature is accepted for `digest` only because the
   * index lists `digest`; pass `bytes` to have the index digest re-checked.
   */
  index?: { digest: Digest; manifest: ImageIndex | Uint8Array };
  policy: CosignPolicy;
  trust: TrustContext;
  /** Current time; signatures integrated more than 5 minutes in the future are refused. */
  now?: Date;
  signal?: AbortSignal;
}

const FUTURE_SKEW_SECONDS = 300;

async function indexLists(index: { digest: Digest; manifest: ImageIndex | Uint8Array }, digest: Digest) {
  let manifest: ImageIndex;
  if (index.manifest instanceof Uint8Array) {
    const actual = await sha256Digest(index.manifest);
    if (actual !== index.digest) return `index bytes hash to ${actual}, not ${index.digest}`;
    const parsed = parseManifest(index.manifest);
    if (parsed.kind !== "index") return `${index.digest} is not an index`;
    manifest = parsed;
  } else {
    manifest = index.manifest;
  }
  return manifest.manifests.some((d) => d.digest === digest)
    ? undefined
    : `index ${shortDigest(index.digest)} does not list ${shortDigest(digest)}`;
}

/** The error for signature artifacts that could not be fetched: the first failure's code and hint. */
function fetchFailure(
  where: string,
  errors: readonly unknown[],
  others: readonly CandidateFailure[],
): unknown {
  const first = errors[0];
  if (!isDropzoneError(first)) return first;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  const seen = others.length
    ? `; of the signatures that could be read, none verified:${formatFailures(others)}`
    : "";
  return new DropzoneError(
    first.code,
    `Cannot check the signatures of "${where}": ${first.message}${more}${seen}`,
    { ...(first.hint === undefined ? {} : { hint: first.hint }), cause: first },
  );
}

function formatFailures(failures: readonly CandidateFailure[]): string {
  return failures.map((f) => `\n  - ${f.label}: ${f.message}`).join("");
}

/** Runs every candidate through {@linkcode verifyCandidate}; returns the first success or all failures. */
export function verifyCandidates(
  candidates: readonly Candidate[],
  policy: CosignPolicy,
  trust: TrustContext,
  now?: Date,
): { result?: SignatureResult; failures: CandidateFailure[] } {
  const failures: CandidateFailure[] = [];
  for (const candidate of candidates) {
    try {
      const { result } = verifyCandidate(candidate, policy, trust);
      if (
        now && result.integratedTime !== undefined &&
        result.integratedTime > now.getTime() / 1000 + FUTURE_SKEW_SECONDS
      ) {
        failures.push({
          label: candidate.label,
          code: "SIGNATURE_INVALID",
          message: "integrated time is in the future",
        });
        continue;
      }
      return { result, failures };
    } catch (err) {
      if (!isDropzoneError(err)) {
        failures.push({ label: candidate.label, code: "SIGNATURE_INVALID", message: message(err) });
      } else if (err.code === "TRUSTED_ROOT_INVALID" || err.code === "POLICY_MISSING") {
        throw err;
      } else {
        failures.push({
          label: candidate.label,
          code: err.code === "POLICY_MISMATCH" ? "POLICY_MISMATCH" : "SIGNATURE_INVALID",
          // verifyCandidate prefixes its messages with the label already.
          message: err.message.startsWith(`${candidate.label}: `)
            ? err.message.slice(candidate.label.length + 2)
            : err.message,
        });
      }
    }
  }
  return { failures };
}

/**
 * Finds and verifies a cosign signature for `digest`. Resolves with the verified signer; throws
 * SIGNATURE_MISSING (nothing found), POLICY_MISMATCH (valid signatures by someone else) or SIGNATURE_INVALID.
 */
export async function verifyImageSignature(options: VerifyImageSignatureOptions): Promise<SignatureResult> {
  const { client, repo, digest, policy, trust, signal } = options;
  const targets: Digest[] = [digest];
  const notes: string[] = [];
  if (options.index && options.index.digest !== digest) {
    const problem = await indexLists(options.index, digest);
    if (problem) notes.push(problem);
    else targets.push(options.index.digest);
  }
  const discoveries = await Promise.all(targets.flatMap((target) => [
    discoverBundles(client, repo, target, "signature", signal),
    discoverLegacy(client, repo, target, "sig", signal),
  ]));
  const candidates = discoveries.flatMap((d) => d.candidates);
  const broken = discoveries.flatMap((d) => d.broken);
  notes.push(...discoveries.flatMap((d) => d.notes));
  const { result, failures } = verifyCandidates(candidates, policy, trust, options.now);
  if (result) return result;
  const all = [...broken, ...failures];
  const where = `${repo.registry}/${repo.repository}@${digest}`;
  const errors = discoveries.flatMap((d) => d.errors);
  // A signature artifact that could not be fetched may be the valid one: the outcome is "could not check"
  // (exit 1, with the network or offline hint), never "unsigned" or "tampered with" (exit 3).
  if (errors.length > 0) throw fetchFailure(where, errors, all);
  if (all.length === 0) {
    throw new DropzoneError("SIGNATURE_MISSING", `No signature found for "${where}"`, {
      hint:
        "The image is unsigned or its signatures are stored elsewhere; ask the publisher. The registry has a " +
        "policy, so --allow-unsigned cannot bypass it",
      cause: new Error(notes.join("; ")),
    });
  }
  if (all.some((f) => f.code === "POLICY_MISMATCH")) {
    throw new DropzoneError(
      "POLICY_MISMATCH",
      `Cannot verify "${where}": no signature matches the policy (expected ${describeExpected(policy)}):${
        formatFailures(all)
      }`,
      { hint: "Check the registry's identity and issuer, or ask the publisher who signs these images" },
    );
  }
  throw new DropzoneError(
    "SIGNATURE_INVALID",
    `Cannot verify "${where}": no valid signature:${formatFailures(all)}`,
    {
      hint:
        "The signature does not verify against the trusted root; the image or its signature may be tampered with",
    },
  );
}
