/**
 * Verifies one signature candidate (pure: bytes and trust material in, signer out). Fixed order: shape →
 * @sigstore/verify (timestamps, chain, SCT, tlog, signature) → tlog entry key binding → content binding to the
 * image digest → policy. Every exception from the library is a verification failure. The checks live in
 * rekor_checks.ts, content_binding.ts and signer_policy.ts; this module is their one entry point.
 */
import crypto from "node:crypto";
import { DropzoneError } from "../errors.ts";
import {
  type Bundle,
  bundleFromJSON,
  type KeyFinderFunc,
  type Signer,
  toSignedEntity,
  toTrustMaterial,
  TrustedRoot,
  Verifier,
} from "./sigstore.ts";
import {
  legacyAttestationBundle,
  legacySignatureBundle,
  SET_ONLY_REKOR_KINDS,
  SUPPORTED_REKOR_KINDS,
} from "./legacy_bundle.ts";
import type { InTotoStatement } from "./statement.ts";
import { validateTrustedRoot } from "./trusted_root_validate.ts";
import { prehashedSignatureContent } from "./prehashed.ts";
import { fromHex } from "../oci/digest.ts";
import type { CosignPolicy } from "./types.ts";
import { type Candidate, hex, invalid, sha256, type VerifiedCandidate } from "./candidate.ts";
import { checkTlogKeyBinding, kindVersion, thresholds, verifySetOnlyEntry } from "./rekor_checks.ts";
import { bindContent } from "./content_binding.ts";
import { checkCodeSigning, checkKeyMode, signerResult } from "./signer_policy.ts";

export type { Candidate, VerifiedCandidate } from "./candidate.ts";

/** Trust material for verification, loaded beforehand (see trusted_root.ts `loadTrustContext`). */
export interface TrustContext {
  /** A parsed trusted_root.json (protobuf-JSON field names). */
  readonly trustedRoot: unknown;
  /** PEM text of the policy's public_key, for key-based policies. */
  readonly publicKeyPem?: string;
}

const VALIDATED = new WeakSet<object>();

function trustMaterial(trust: TrustContext): ReturnType<typeof toTrustMaterial> {
  if (typeof trust.trustedRoot !== "object" || trust.trustedRoot === null) {
    throw new DropzoneError("TRUSTED_ROOT_INVALID", "Cannot verify: no trusted root was loaded");
  }
  if (!VALIDATED.has(trust.trustedRoot)) {
    validateTrustedRoot(trust.trustedRoot);
    VALIDATED.add(trust.trustedRoot);
  }
  let keys: KeyFinderFunc | undefined;
  if (trust.publicKeyPem !== undefined) {
    const publicKey = crypto.createPublicKey(trust.publicKeyPem);
    keys = () => ({ publicKey, validFor: () => true });
  }
  // deno-lint-ignore no-explicit-any
  return toTrustMaterial(TrustedRoot.fromJSON(trust.trustedRoot as any), keys);
}

/** The bundle a candidate stands for (a legacy layer is rebuilt as one) and, where there is one, the signed bytes. */
function candidateBundle(candidate: Candidate): { bundle: Bundle; payload: Uint8Array | undefined } {
  let bundleJson: unknown;
  let payload: Uint8Array | undefined;
  try {
    if (candidate.kind === "bundle") {
      bundleJson = candidate.bundle;
      if (candidate.purpose === "artifact") payload = candidate.artifact;
    } else {
      const actual = `sha256:${hex(sha256(candidate.blob))}`;
      if (actual !== candidate.layer.digest) {
        throw invalid(candidate, `layer blob hashes to ${actual}, not ${candidate.layer.digest}`);
      }
      const annotations = candidate.layer.annotations ?? {};
      if (candidate.kind === "legacy-sig") {
        payload = candidate.blob;
        bundleJson = legacySignatureBundle(sha256(candidate.blob), annotations);
      } else {
        bundleJson = legacyAttestationBundle(candidate.blob, annotations);
      }
    }
  } catch (err) {
    if (err instanceof DropzoneError) throw err;
    throw invalid(candidate, (err as Error).message, err);
  }
  let bundle: Bundle;
  try {
    // deno-lint-ignore no-explicit-any
    bundle = bundleFromJSON(bundleJson as any);
  } catch (err) {
    throw invalid(candidate, `not a valid Sigstore bundle: ${(err as Error).message}`, err);
  }
  return { bundle, payload };
}

/**
 * Verifies one candidate against a policy. Throws DropzoneError SIGNATURE_INVALID (crypto, shape or binding) or
 * POLICY_MISMATCH (valid signature by someone else).
 */
export function verifyCandidate(
  candidate: Candidate,
  policy: CosignPolicy,
  trust: TrustContext,
): VerifiedCandidate {
  // 1. Shape: build or parse the bundle.
  const { bundle, payload } = candidateBundle(candidate);
  for (const e of bundle.verificationMaterial.tlogEntries) {
    const kv = kindVersion(e);
    if (!SUPPORTED_REKOR_KINDS.includes(kv) && !SET_ONLY_REKOR_KINDS.includes(kv)) {
      throw invalid(candidate, `Rekor entry kind "${kv}" is not supported`);
    }
  }
  if (
    bundle.content.$case === "messageSignature" && candidate.kind === "bundle" &&
    candidate.purpose !== "artifact"
  ) {
    throw invalid(
      candidate,
      "message-signature bundles cannot be bound to an image; expected a DSSE statement",
    );
  }

  // 2. Key mode must match the policy.
  const keyBased = bundle.verificationMaterial.content.$case === "publicKey";
  checkKeyMode(candidate, policy, keyBased, trust.publicKeyPem !== undefined);

  // 3. Cryptography.
  const tm = trustMaterial(trust);
  let signer: Signer;
  const setOnly = bundle.verificationMaterial.tlogEntries.filter((e) =>
    SET_ONLY_REKOR_KINDS.includes(kindVersion(e))
  );
  for (const e of setOnly) verifySetOnlyEntry(candidate, e, tm, bundle);
  try {
    const entity = toSignedEntity(bundle, payload === undefined ? undefined : Buffer.from(payload));
    if (
      candidate.kind === "bundle" && candidate.purpose === "artifact" && payload === undefined &&
      bundle.content.$case === "messageSignature"
    ) {
      // Blob verification by digest (`sha256:<hex>`): the signature is checked against the digest itself.
      entity.signature = prehashedSignatureContent(
        bundle.content.messageSignature,
        fromHex(candidate.signedDigest.slice("sha256:".length)),
      );
    }
    const options = thresholds(bundle, keyBased);
    if (setOnly.length > 0) {
      // Already verified above; the library would throw TLOG_BODY_ERROR on these kinds.
      entity.tlogEntries = entity.tlogEntries.filter((e) => !SET_ONLY_REKOR_KINDS.includes(kindVersion(e)));
      options.tlogThreshold = Math.max(0, options.tlogThreshold - setOnly.length);
    }
    signer = new Verifier(tm, options).verify(entity);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw invalid(candidate, `${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}`, err);
  }
  try {
    checkCodeSigning(candidate, bundle);
    checkTlogKeyBinding(candidate, bundle, signer);
  } catch (err) {
    if (err instanceof DropzoneError) throw err;
    throw invalid(candidate, (err as Error).message, err);
  }

  // 4. Content binding.
  const statement: InTotoStatement | undefined = bindContent(candidate, bundle, payload);

  // 5. Policy.
  const result = signerResult(candidate, bundle, signer, policy);
  return { result, ...(statement ? { statement } : {}) };
}
