/**
 * Signature discovery (registry I/O) and the main entry, {@linkcode verifyImageSignature}. Candidates come from
 * the legacy `sha256-<hex>.sig` tag (every layer) and from Sigstore bundle referrers, for the platform digest
 * and, when the caller passes the verified index, for the index digest. Any one candidate that verifies and
 * matches the policy suffices (cosign semantics); otherwise the error lists every candidate's reason. Every read
 * goes through one {@linkcode ArtifactBudget} per image (bytes, dedup by digest, concurrency).
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { type Digest, digestHex, sha256Digest, shortDigest } from "../oci/digest.ts";
import { type Descriptor, type ImageIndex, parseManifest } from "../oci/manifest.ts";
import { isSigstoreBundleMediaType, MEDIA_TYPES } from "../oci/media_types.ts";
import { isTransferFailure } from "../registry/registry_error.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import type { CosignPolicy, SignatureResult } from "./types.ts";
import { type Candidate, type TrustContext, verifyCandidate } from "./verifier.ts";
import { describeExpected } from "./policy.ts";
import { fromBase64 } from "./legacy_bundle.ts";
import { SIGN_PREDICATE_TYPE } from "./statement.ts";
import {
  ArtifactBudget,
  ArtifactBudgetExceeded,
  MAX_ARTIFACT_BLOB_BYTES,
  MAX_CANDIDATES_PER_ARTIFACT,
} from "./artifact_budget.ts";

/** Largest signature/attestation layer or bundle dz reads. */
export const MAX_SIGNATURE_BLOB_BYTES = MAX_ARTIFACT_BLOB_BYTES;

/** Why a candidate was skipped or refused, for error messages. */
export interface CandidateFailure {
  readonly label: string;
  readonly code: "SIGNATURE_INVALID" | "POLICY_MISMATCH" | "POLICY_MISSING" | "TRUSTED_ROOT_INVALID";
  readonly message: string;
  /** Candidates that were not read at all (over the per-artifact limit). */
  readonly unread?: boolean;
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
  budget: ArtifactBudget = new ArtifactBudget(),
): Promise<Discovery> {
  const tag = `sha256-${digestHex(digest)}.${suffix}`;
  const out: Discovery = { candidates: [], broken: [], notes: [], errors: [] };
  let fetched;
  try {
    fetched = await budget.run(() => client.getManifest(repo, tag, signal ? { signal } : {}));
  } catch (err) {
    if (notFound(err)) out.notes.push(`no ${tag} tag`);
    else out.errors.push(err);
    return out;
  }
  budget.charge(fetched.bytes.length, `the ${tag} manifest`);
  // GHCR-style registries answer unknown cosign tags with the image itself.
  if (fetched.digest === digest || fetched.manifest.kind !== "manifest") {
    out.notes.push(
      `${tag} resolved to ${fetched.digest === digest ? "the image itself" : "an index"}; ignored`,
    );
    return out;
  }
  const wanted = suffix === "sig" ? MEDIA_TYPES.COSIGN_SIMPLE_SIGNING : MEDIA_TYPES.DSSE_ENVELOPE;
  const { layers, duplicates, otherTypes } = distinctLayers(fetched.manifest.layers, wanted);
  if (duplicates > 0) out.notes.push(`${tag} lists ${duplicates} exact duplicate layer(s); each read once`);
  if (otherTypes > 0) out.notes.push(`${tag} has ${otherTypes} layer(s) of other media types; ignored`);
  if (layers.length > MAX_CANDIDATES_PER_ARTIFACT) {
    out.broken.push({
      label: tag,
      code: "SIGNATURE_INVALID",
      unread: true,
      message: `${layers.length - MAX_CANDIDATES_PER_ARTIFACT} more layers were not read ` +
        `(dz reads at most ${MAX_CANDIDATES_PER_ARTIFACT} per artifact)`,
    });
    layers.length = MAX_CANDIDATES_PER_ARTIFACT;
  }
  // No await before fetchBlob: every layer is charged to the budget, in order, before any fetch completes.
  await Promise.all(layers.map(async ({ layer, position }) => {
    const label = `${tag} layer ${position}`;
    if (layer.size > MAX_SIGNATURE_BLOB_BYTES) {
      out.broken.push({
        label,
        code: "SIGNATURE_INVALID",
        message: `layer of ${layer.size} bytes is too large`,
      });
      return;
    }
    try {
      const blob = await budget.fetchBlob(client, repo, layer, label, signal);
      out.candidates.push({
        kind: suffix === "sig" ? "legacy-sig" : "legacy-att",
        signedDigest: digest,
        layer,
        blob,
        label,
      });
    } catch (err) {
      if (err instanceof ArtifactBudgetExceeded) throw err;
      // Not fetched (network, 5xx, not cached offline) says nothing about the signature: not a trust verdict.
      if (isTransferFailure(err)) out.errors.push(err);
      else {
        out.broken.push({
          label,
          code: "SIGNATURE_INVALID",
          message: `Cannot fetch layer: ${message(err)}`,
        });
      }
    }
  }));
  out.candidates.sort((a, b) => a.label.localeCompare(b.label, "en", { numeric: true }));
  return out;
}

/**
 * The layers of `wanted` media type, each with its 1-based position, without exact duplicates (same digest and
 * annotations: the same signature listed again proves nothing more). Pure.
 */
export function distinctLayers(
  all: readonly Descriptor[],
  wanted: string,
): { layers: { layer: Descriptor; position: number }[]; duplicates: number; otherTypes: number } {
  const seen = new Set<string>();
  const layers: { layer: Descriptor; position: number }[] = [];
  let duplicates = 0;
  let otherTypes = 0;
  all.forEach((layer, i) => {
    if (layer.mediaType !== wanted) {
      otherTypes++;
      return;
    }
    const key = JSON.stringify([layer.digest, layer.size, Object.entries(layer.annotations ?? {}).sort()]);
    if (seen.has(key)) {
      duplicates++;
      return;
    }
    seen.add(key);
    layers.push({ layer, position: i + 1 });
  });
  return { layers, duplicates, otherTypes };
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
  budget: ArtifactBudget = new ArtifactBudget(),
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
  const bundles = [
    ...new Map(
      descriptors.filter((d) => isSigstoreBundleMediaType(d.artifactType)).map((d) => [d.digest, d]),
    ).values(),
  ];
  if (bundles.length < descriptors.length) {
    out.notes.push(
      `${descriptors.length - bundles.length} referrer(s) of ${
        shortDigest(digest)
      } are not bundles or repeat one`,
    );
  }
  if (bundles.length > MAX_CANDIDATES_PER_ARTIFACT) {
    out.broken.push({
      label: `referrers of ${shortDigest(digest)}`,
      code: "SIGNATURE_INVALID",
      unread: true,
      message: `${bundles.length - MAX_CANDIDATES_PER_ARTIFACT} more bundle referrers were not read ` +
        `(dz reads at most ${MAX_CANDIDATES_PER_ARTIFACT} per artifact)`,
    });
    bundles.length = MAX_CANDIDATES_PER_ARTIFACT;
  }
  await Promise.all(
    bundles.map(async (desc) => {
      const label = `referrer ${shortDigest(desc.digest)}`;
      try {
        // Charged at the declared size before the fetch, and for any excess the registry actually sends.
        budget.charge(desc.size, label);
        const fetched = await budget.run(() =>
          client.getManifest(repo, desc.digest, signal ? { signal } : {})
        );
        budget.charge(fetched.bytes.length - desc.size, label);
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
        const bytes = await budget.fetchBlob(client, repo, layer, label, signal);
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
        if (err instanceof ArtifactBudgetExceeded) throw err;
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
  /** The image's artifact budget, shared with its attestation discovery (default: a fresh one). */
  budget?: ArtifactBudget;
}

/** Signatures integrated further in the future than this (seconds) are refused: clock skew allowance. */
export const FUTURE_SKEW_SECONDS = 300;

/** The failure for a verified candidate whose integrated time lies beyond the clock-skew allowance, if it does. */
export function integratedInFuture(
  label: string,
  result: SignatureResult,
  now: Date | undefined,
): CandidateFailure | undefined {
  if (!now || result.integratedTime === undefined) return undefined;
  if (result.integratedTime <= now.getTime() / 1000 + FUTURE_SKEW_SECONDS) return undefined;
  return { label, code: "SIGNATURE_INVALID", message: "integrated time is in the future" };
}

/** Why the index cannot vouch for `digest` (its bytes do not hash to it, or it does not list it); else undefined. */
export async function indexListsDigest(
  index: { digest: Digest; manifest: ImageIndex | Uint8Array },
  digest: Digest,
): Promise<string | undefined> {
  return await indexLists(index, digest);
}

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

/** Failures listed in an error message; the rest are counted. */
const MAX_LISTED_FAILURES = 10;

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
  // Candidates left unread come first: they explain why the list is incomplete.
  const shown = [...failures.filter((f) => f.unread), ...failures.filter((f) => !f.unread)]
    .slice(0, MAX_LISTED_FAILURES);
  const rest = failures.length - shown.length;
  return shown.map((f) => `\n  - ${f.label}: ${f.message}`).join("") +
    (rest > 0 ? `\n  - … and ${rest} more` : "");
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
      const future = integratedInFuture(candidate.label, result, now);
      if (future) {
        failures.push(future);
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
  const budget = options.budget ?? new ArtifactBudget();
  const where = `${repo.registry}/${repo.repository}@${digest}`;
  let discoveries: Discovery[];
  try {
    discoveries = await Promise.all(targets.flatMap((target) => [
      discoverBundles(client, repo, target, "signature", signal, budget),
      discoverLegacy(client, repo, target, "sig", signal, budget),
    ]));
  } catch (err) {
    if (!(err instanceof ArtifactBudgetExceeded)) throw err;
    throw new DropzoneError(err.code, `Cannot verify "${where}": ${err.message}`, {
      ...(err.hint ? { hint: err.hint } : {}),
      cause: err,
    });
  }
  const candidates = discoveries.flatMap((d) => d.candidates);
  const broken = discoveries.flatMap((d) => d.broken);
  notes.push(...discoveries.flatMap((d) => d.notes));
  const { result, failures } = verifyCandidates(candidates, policy, trust, options.now);
  if (result) return result;
  const all = [...broken, ...failures];
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
