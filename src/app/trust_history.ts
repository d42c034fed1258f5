/**
 * Trust that depends on history, beyond the registry policy: signer continuity (a package keeps being signed by
 * the workflow, and the kind of git ref, that signed its first verified install), rollback protection (refuse a
 * candidate signed before the installed version) and a release cooldown (refuse digests signed too recently).
 * Pure.
 */
import { DropzoneError } from "../errors.ts";
import type { SignatureResult } from "../verify/types.ts";

/** The parts of a signer that must stay the same across updates. */
export interface SignerFingerprint {
  readonly issuer: string | null;
  /** Source repository (Fulcio extensions, else derived from a GitHub/GitLab workflow SAN), or null. */
  readonly repository: string | null;
  /** The signing workflow or identity without its ref (`…/release.yml`, not `…@refs/tags/v2`). */
  readonly workflow: string;
  /**
   * The kind of git ref the workflow ran for: "tags" for every `refs/tags/*` (so tag v1 → tag v2 is one
   * signer), "heads/<branch>" for a branch, the ref without `refs/` otherwise (`pull/12/merge`), null when the
   * signature names no ref. Undefined only in a fingerprint recorded before dz pinned it (unknown): such a
   * record is completed on the next install instead of being compared (see {@linkcode pinnedSigner}).
   */
  readonly git_ref?: string | null;
}

/** The pinned kind of a git ref (`refs/tags/v1` → "tags", `refs/heads/main` → "heads/main"). */
export function gitRefKind(ref: string): string {
  const bare = ref.replace(/^refs\//, "");
  return bare.startsWith("tags/") ? "tags" : bare;
}

function gitRefOf(result: Pick<SignatureResult, "identity" | "extensions">): string | null {
  const at = /@(refs\/.+)$/.exec(result.identity);
  if (at && result.identity.includes("://")) return gitRefKind(at[1]!);
  const ext = result.extensions ?? {};
  const ref = ext.sourceRepositoryRef ?? ext.githubWorkflowRef;
  return ref ? gitRefKind(ref) : null;
}

function repositoryFromSan(san: string): string | null {
  const m = /^https:\/\/(github\.com|gitlab\.com)\/([^/]+\/[^/]+)\//.exec(san);
  return m ? `https://${m[1]}/${m[2]}` : null;
}

/** Derives the fingerprint of a verified signature. */
export function signerFingerprint(
  result: Pick<SignatureResult, "identity" | "issuer" | "extensions">,
): SignerFingerprint {
  const ext = result.extensions ?? {};
  const repo = ext.sourceRepositoryUri ??
    (ext.githubWorkflowRepository ? `https://github.com/${ext.githubWorkflowRepository}` : undefined) ??
    repositoryFromSan(result.identity);
  // Tag-triggered release workflows get a new SAN per release (@refs/tags/vX); the workflow file is what counts.
  const workflow = result.identity.includes("://")
    ? result.identity.replace(/@[^@/]*(\/[^@]*)?$/, "")
    : result.identity;
  return { issuer: result.issuer ?? null, repository: repo ?? null, workflow, git_ref: gitRefOf(result) };
}

/** Differences between a recorded signer and a new one, as "field: old → new" lines. */
export function signerDifferences(recorded: SignerFingerprint, next: SignerFingerprint): string[] {
  const out: string[] = [];
  if (recorded.issuer !== next.issuer) {
    out.push(`issuer: ${recorded.issuer ?? "(key)"} → ${next.issuer ?? "(key)"}`);
  }
  if (recorded.repository !== next.repository) {
    out.push(`repository: ${recorded.repository ?? "(unknown)"} → ${next.repository ?? "(unknown)"}`);
  }
  if (recorded.workflow !== next.workflow) out.push(`workflow: ${recorded.workflow} → ${next.workflow}`);
  // An unknown (pre-pinning) ref is not a difference; pinnedSigner() records it from this install on.
  if (recorded.git_ref !== undefined && recorded.git_ref !== (next.git_ref ?? null)) {
    out.push(`git ref: ${recorded.git_ref ?? "(none)"} → ${next.git_ref ?? "(none)"}`);
  }
  return out;
}

/**
 * The signer to record after `next` passed continuity against `recorded`: the recorded pin (completed with the
 * git ref when it predates ref pinning), or `next` for a first signed install or an accepted change.
 */
export function pinnedSigner(
  recorded: SignerFingerprint | null,
  next: SignerFingerprint,
  accepted: boolean,
): SignerFingerprint {
  if (!recorded || accepted) return next;
  if (recorded.git_ref === undefined) return { ...recorded, git_ref: next.git_ref ?? null };
  return recorded;
}

/**
 * True when a candidate was signed strictly before the installed version, both times verified (Rekor
 * integrated time or RFC 3161). Unknown times are never a downgrade: there is nothing verified to compare.
 */
export function isDowngrade(
  installedSignedAt: number | null | undefined,
  candidateSignedAt: number | null | undefined,
): boolean {
  return typeof installedSignedAt === "number" && typeof candidateSignedAt === "number" &&
    candidateSignedAt < installedSignedAt;
}

/** Throws SIGNER_CHANGED (exit 3) unless the new signer matches the recorded one or the user accepted it. */
export function checkSignerContinuity(
  name: string,
  recorded: SignerFingerprint | null,
  next: SignerFingerprint,
  accept: boolean,
): void {
  if (!recorded || accept) return;
  const diff = signerDifferences(recorded, next);
  if (diff.length === 0) return;
  throw new DropzoneError(
    "SIGNER_CHANGED",
    `Cannot update "${name}": it is now signed by a different signer (${diff.join("; ")})`,
    {
      hint: "The new signer still matches the registry policy. If you expected this change, run again with " +
        "--accept-new-signer",
    },
  );
}

/**
 * Provenance pins its builder and source repository like a signature pins its signer: once a package was
 * proven by SLSA provenance, a later version whose verified provenance names another builder or source
 * repository is a signer change (SIGNER_CHANGED, exit 3) until accepted. Pure.
 */
export function checkProvenanceContinuity(
  name: string,
  recorded: { builder_id: string | null; source_repository: string | null } | null | undefined,
  next: SignatureResult["provenance"] | undefined,
  accept: boolean,
): void {
  if (!recorded || !next || accept) return;
  const diff: string[] = [];
  const nextBuilder = next.builderId ?? null;
  const nextSource = next.sourceRepo ?? null;
  if (recorded.builder_id !== nextBuilder) {
    diff.push(`builder: ${recorded.builder_id ?? "(none)"} → ${nextBuilder ?? "(none)"}`);
  }
  if (recorded.source_repository !== nextSource) {
    diff.push(`source repository: ${recorded.source_repository ?? "(none)"} → ${nextSource ?? "(none)"}`);
  }
  if (diff.length === 0) return;
  throw new DropzoneError(
    "SIGNER_CHANGED",
    `Cannot update "${name}": its provenance now names a different origin (${diff.join("; ")})`,
    {
      hint: "The new provenance still matches the registry policy. If you expected this change, run again " +
        "with --accept-new-signer",
    },
  );
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses "90s", "30m", "12h", "3d", "2w" into seconds; throws INVALID_ARGUMENT otherwise. */
export function parseAge(text: string): number {
  if (text.trim() === "0") return 0;
  const m = /^\s*(\d+)\s*([smhdw])\s*$/.exec(text);
  if (!m) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid age "${text}"`, {
      hint: 'Use a number and a unit: s, m, h, d or w (e.g. "3d", "12h")',
    });
  }
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** Throws RELEASE_TOO_NEW when the verified signing time is younger than `minAgeSeconds`. */
export function checkReleaseAge(
  input: { signedAt: number | undefined; minAgeSeconds: number; now: Date; what: string; minAgeText: string },
): void {
  const { signedAt, minAgeSeconds, now, what, minAgeText } = input;
  if (minAgeSeconds <= 0) return;
  if (signedAt === undefined) {
    throw new DropzoneError("RELEASE_TOO_NEW", `Cannot install ${what}: it has no verified signing time`, {
      hint:
        `min_release_age (${minAgeText}) needs a Rekor or RFC 3161 time; remove the setting to install it`,
    });
  }
  const age = now.getTime() / 1000 - signedAt;
  if (age < minAgeSeconds) {
    const hours = (s: number) =>
      s >= 86400 ? `${(s / 86400).toFixed(1)} days` : `${(s / 3600).toFixed(1)} hours`;
    throw new DropzoneError(
      "RELEASE_TOO_NEW",
      `Skipping ${what}: signed ${
        hours(Math.max(0, age))
      } ago, younger than the minimum release age ${minAgeText}`,
      { hint: "Wait, lower min_release_age, or pass --min-age 0 to take it now" },
    );
  }
}
