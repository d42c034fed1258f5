/**
 * Who signed, and whether the policy accepts them: the certificate's codeSigning usage, the Fulcio extensions, a
 * key's fingerprint, and the anchored identity/issuer comparison that turns a verified signer into a result.
 */
import type crypto from "node:crypto";
import { DropzoneError } from "../errors.ts";
import { type Bundle, type Signer, X509Certificate } from "./sigstore.ts";
import { describeExpected, matchesKeylessPolicy } from "./policy.ts";
import { type Candidate, claimedVerifier, hex, invalid, sha256 } from "./candidate.ts";
import type { CosignPolicy, SignatureResult } from "./types.ts";

const FULCIO_EXTENSIONS: Readonly<Record<string, string>> = {
  "1.3.6.1.4.1.57264.1.2": "githubWorkflowTrigger",
  "1.3.6.1.4.1.57264.1.3": "githubWorkflowSha",
  "1.3.6.1.4.1.57264.1.4": "githubWorkflowName",
  "1.3.6.1.4.1.57264.1.5": "githubWorkflowRepository",
  "1.3.6.1.4.1.57264.1.6": "githubWorkflowRef",
  "1.3.6.1.4.1.57264.1.9": "buildSignerUri",
  "1.3.6.1.4.1.57264.1.10": "buildSignerDigest",
  "1.3.6.1.4.1.57264.1.11": "runnerEnvironment",
  "1.3.6.1.4.1.57264.1.12": "sourceRepositoryUri",
  "1.3.6.1.4.1.57264.1.13": "sourceRepositoryDigest",
  "1.3.6.1.4.1.57264.1.14": "sourceRepositoryRef",
  "1.3.6.1.4.1.57264.1.15": "sourceRepositoryIdentifier",
  "1.3.6.1.4.1.57264.1.16": "sourceRepositoryOwnerUri",
  "1.3.6.1.4.1.57264.1.18": "buildConfigUri",
  "1.3.6.1.4.1.57264.1.19": "buildConfigDigest",
  "1.3.6.1.4.1.57264.1.20": "buildTrigger",
  "1.3.6.1.4.1.57264.1.21": "runInvocationUri",
};

/** Decodes a Fulcio extension value: DER UTF8String (v2 OIDs) or raw ASCII (v1 OIDs). */
function extensionText(value: Uint8Array): string {
  if (value.length >= 2 && value[0] === 0x0c && value[1]! < 0x80 && value[1] === value.length - 2) {
    return new TextDecoder().decode(value.subarray(2));
  }
  return new TextDecoder().decode(value);
}

/** The Fulcio extensions of a signer's certificate, by their cosign names. */
export function fulcioExtensions(signer: Signer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { oid, value } of signer.identity?.oids ?? []) {
    const name = FULCIO_EXTENSIONS[oid?.id.join(".") ?? ""];
    if (name) out[name] = extensionText(value);
  }
  return out;
}

/** A public key's identity in results: `key:sha256:<hex of its SPKI DER>`. */
export function keyFingerprint(key: crypto.KeyObject): string {
  const der = key.export({ format: "der", type: "spki" });
  return `key:sha256:${hex(sha256(new Uint8Array(der)))}`;
}

const OID_EKU = "2.5.29.37";
const OID_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

/** cosign requires the codeSigning extended key usage on the leaf; sigstore-js does not check it. */
export function checkCodeSigning(candidate: Candidate, bundle: Bundle): void {
  const der = claimedVerifier(bundle).certificate;
  if (der === undefined) return;
  let oids: string[];
  try {
    const eku = X509Certificate.parse(Buffer.from(der)).extension(OID_EKU);
    oids = eku?.valueObj.subs[0]?.subs.map((s) => s.toOID()) ?? [];
  } catch (err) {
    throw invalid(
      candidate,
      `cannot read the certificate's extended key usage: ${(err as Error).message}`,
      err,
    );
  }
  if (!oids.includes(OID_CODE_SIGNING)) {
    throw invalid(candidate, "certificate is not for code signing (no codeSigning extended key usage)");
  }
}

/**
 * The key mode must match the policy: a key-based policy accepts only key-signed bundles, a keyless one only
 * certificates; a key-based bundle needs the policy's key loaded.
 */
export function checkKeyMode(
  candidate: Candidate,
  policy: CosignPolicy,
  keyBased: boolean,
  keyLoaded: boolean,
): void {
  if (policy.public_key !== undefined && !keyBased) {
    throw new DropzoneError(
      "POLICY_MISMATCH",
      `${candidate.label}: signed with a certificate, but the policy expects ${describeExpected(policy)}`,
    );
  }
  if (policy.public_key === undefined && keyBased) {
    throw new DropzoneError(
      "POLICY_MISMATCH",
      `${candidate.label}: signed with a public key, but the policy expects ${describeExpected(policy)}`,
    );
  }
  if (keyBased && !keyLoaded) {
    throw new DropzoneError(
      "POLICY_MISSING",
      `Cannot verify key-based signatures: public key was not loaded`,
    );
  }
}

/**
 * The result for a verified signer, after the policy accepted it (compared here, anchored; never handed to the
 * library as an unanchored pattern). Throws POLICY_MISMATCH for a valid signature by someone else.
 */
export function signerResult(
  candidate: Candidate,
  bundle: Bundle,
  signer: Signer,
  policy: CosignPolicy,
): SignatureResult {
  const keyBased = bundle.verificationMaterial.content.$case === "publicKey";
  const tlog = bundle.verificationMaterial.tlogEntries[0];
  const common = {
    signedDigest: candidate.signedDigest,
    source: candidate.kind === "bundle" ? "bundle-referrer" as const : candidate.kind,
    ...(tlog ? { rekorLogIndex: Number(tlog.logIndex) } : {}),
    // Rekor v2 entries carry no integrated time (0); their time comes from the RFC 3161 timestamp instead.
    ...(tlog && Number(tlog.integratedTime) > 0 ? { integratedTime: Number(tlog.integratedTime) } : {}),
  };
  if (keyBased) return { ...common, identity: keyFingerprint(signer.key) };
  const identity = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  if (!matchesKeylessPolicy({ identity, issuer }, policy)) {
    throw new DropzoneError(
      "POLICY_MISMATCH",
      `${candidate.label}: signed by identity "${identity ?? "(none)"}", issuer "${issuer ?? "(none)"}"; ` +
        `expected ${describeExpected(policy)}`,
    );
  }
  return {
    ...common,
    identity: identity!,
    ...(issuer ? { issuer } : {}),
    extensions: fulcioExtensions(signer),
  };
}
