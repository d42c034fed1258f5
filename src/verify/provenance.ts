/**
 * SLSA provenance as proof of origin (GitHub artifact attestations: `actions/attest-build-provenance` with
 * `push-to-registry`). A Sigstore bundle v0.3 referrer whose DSSE in-toto statement has predicate type
 * `https://slsa.dev/provenance/v1` and names the image digest as its subject, signed by an identity the policy
 * accepts, proves where the image came from just as a cosign signature does. Verification is the same
 * {@linkcode verifyCandidate} as for signatures; only the predicate differs.
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { PREDICATE_TYPES, summariseStatement } from "./attestations.ts";
import { describeExpected } from "./policy.ts";
import {
  discoverBundles,
  indexListsDigest,
  integratedInFuture,
  peekBundlePredicateType,
  type VerifyImageSignatureOptions,
} from "./signatures.ts";
import type { SignatureResult } from "./types.ts";
import { verifyCandidate } from "./verifier.ts";

/**
 * Options for {@linkcode verifyProvenance}: the same as a signature check's, since provenance stands in for a
 * signature (`index` counts only when it lists `digest`; `budget` is shared with signature discovery).
 */
export type VerifyProvenanceOptions = VerifyImageSignatureOptions;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True for SLSA provenance v1 (`https://slsa.dev/provenance/v1`, exactly: v0.2 is not accepted as proof). */
export function isSlsaV1(predicateType: string): boolean {
  return predicateType === PREDICATE_TYPES.SLSA_V1;
}

/**
 * Finds and verifies SLSA v1 provenance for `digest` (or its verified index). Resolves with the signer, marked
 * `proof: "provenance"` with the builder and source repository from the predicate; throws SIGNATURE_MISSING
 * (none found), POLICY_MISMATCH (valid provenance by someone else) or SIGNATURE_INVALID.
 */
export async function verifyProvenance(options: VerifyProvenanceOptions): Promise<SignatureResult> {
  const { client, repo, digest, policy, trust, signal } = options;
  const targets: Digest[] = [digest];
  if (options.index && options.index.digest !== digest) {
    if ((await indexListsDigest(options.index, digest)) === undefined) targets.push(options.index.digest);
  }
  const discoveries = await Promise.all(
    targets.map((t) => discoverBundles(client, repo, t, "attestation", signal, options.budget)),
  );
  const failures: { label: string; code: string; message: string }[] = [];
  for (const candidate of discoveries.flatMap((d) => d.candidates)) {
    // The claimed type only picks candidates (SBOMs and scans are no proof); the verified one decides.
    if (candidate.kind !== "bundle" || !isSlsaV1(peekBundlePredicateType(candidate.bundle) ?? "")) continue;
    try {
      const { result, statement } = verifyCandidate(candidate, policy, trust);
      if (!statement || !isSlsaV1(statement.predicateType)) {
        failures.push({
          label: candidate.label,
          code: "SIGNATURE_INVALID",
          message: "not SLSA provenance v1",
        });
        continue;
      }
      const future = integratedInFuture(candidate.label, result, options.now);
      if (future) {
        failures.push(future);
        continue;
      }
      const summary = summariseStatement(statement).provenance ?? {};
      return {
        ...result,
        proof: "provenance",
        provenance: {
          ...(summary.builderId ? { builderId: summary.builderId } : {}),
          ...(summary.sourceRepo ? { sourceRepo: summary.sourceRepo } : {}),
          ...(summary.sourceCommit ? { sourceCommit: summary.sourceCommit } : {}),
        },
      };
    } catch (err) {
      if (isDropzoneError(err, "TRUSTED_ROOT_INVALID") || isDropzoneError(err, "POLICY_MISSING")) throw err;
      const text = message(err);
      failures.push({
        label: candidate.label,
        code: isDropzoneError(err, "POLICY_MISMATCH") ? "POLICY_MISMATCH" : "SIGNATURE_INVALID",
        message: text.startsWith(`${candidate.label}: `) ? text.slice(candidate.label.length + 2) : text,
      });
    }
  }
  const where = `${repo.registry}/${repo.repository}@${digest}`;
  const errors = discoveries.flatMap((d) => d.errors);
  // A registry failure must not read as "no provenance": surface it when it may have hidden one.
  if (failures.length === 0 && errors.length > 0) throw errors[0];
  if (failures.length === 0) {
    throw new DropzoneError("SIGNATURE_MISSING", `No SLSA provenance attestation found for "${where}"`, {
      hint: "The registry's policy accepts provenance (cosign_policy.accept), but none is attached as a " +
        "Sigstore bundle referrer; ask the publisher to attest with push-to-registry",
    });
  }
  const list = failures.map((f) => `\n  - ${f.label}: ${f.message}`).join("");
  if (failures.some((f) => f.code === "POLICY_MISMATCH")) {
    throw new DropzoneError(
      "POLICY_MISMATCH",
      `Cannot verify "${where}": no SLSA provenance matches the policy (expected ${
        describeExpected(policy)
      }):${list}`,
      {
        hint:
          "Check the registry's identity and issuer, or ask the publisher which workflow attests its images",
      },
    );
  }
  throw new DropzoneError("SIGNATURE_INVALID", `Cannot verify "${where}": no valid SLSA provenance:${list}`, {
    hint: "The attestation does not verify or does not name this image; it may be tampered with",
  });
}
