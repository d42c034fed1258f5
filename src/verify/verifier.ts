/**
 * Verifies one signature candidate (pure: bytes and trust material in, signer out). Fixed order: shape →
 * @sigstore/verify (timestamps, chain, SCT, tlog, signature) → tlog entry key binding → content binding to the
 * image digest → policy. Every exception from the library is a verification failure.
 */
import crypto from "node:crypto";
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import {
  type Bundle,
  bundleFromJSON,
  canonicalJson,
  type KeyFinderFunc,
  type Signer,
  toSignedEntity,
  toTrustMaterial,
  TrustedRoot,
  type TrustMaterial,
  Verifier,
  X509Certificate,
} from "./sigstore.ts";
import {
  fromBase64,
  legacyAttestationBundle,
  legacySignatureBundle,
  pemCertificates,
  rekorBodyKind,
  SET_ONLY_REKOR_KINDS,
  SUPPORTED_REKOR_KINDS,
  toBase64,
} from "./legacy_bundle.ts";
import { describeExpected, matchesKeylessPolicy } from "./policy.ts";
import { boundStatement, type InTotoStatement, SIGN_PREDICATE_TYPE } from "./statement.ts";
import { validateTrustedRoot } from "./trusted_root_validate.ts";
import { prehashedSignatureContent } from "./prehashed.ts";
import { fromHex } from "../oci/digest.ts";
import type { CosignPolicy, SignatureResult } from "./types.ts";

/** Trust material for verification, loaded beforehand (see trusted_root.ts `loadTrustContext`). */
export interface TrustContext {
  /** A parsed trusted_root.json (protobuf-JSON field names). */
  readonly trustedRoot: unknown;
  /** PEM text of the policy's public_key, for key-based policies. */
  readonly publicKeyPem?: string;
}

/** Something that may prove a signature over an image digest. */
export type Candidate =
  | {
    /** A layer of the legacy `sha256-<hex>.sig` manifest (simple signing) or `.att` manifest (DSSE). */
    readonly kind: "legacy-sig" | "legacy-att";
    /** The digest whose tag the layer was found under. */
    readonly signedDigest: Digest;
    readonly layer: Descriptor;
    readonly blob: Uint8Array;
    /** Where it was found, for error messages (e.g. "sha256-ab….sig layer 2"). */
    readonly label: string;
  }
  | {
    /** A Sigstore bundle (OCI referrer or a file). */
    readonly kind: "bundle";
    readonly signedDigest: Digest;
    readonly bundle: unknown;
    /**
     * "signature" requires predicateType sign/v1; "attestation" accepts any predicate; "artifact" (blob
     * verification, e.g. the conformance adapter) also accepts message signatures over `artifact`.
     */
    readonly purpose: "signature" | "attestation" | "artifact";
    /** The signed bytes, for message-signature bundles (purpose "artifact"). */
    readonly artifact?: Uint8Array;
    readonly label: string;
  };

/** A candidate that verified: who signed and, for DSSE, the bound statement. */
export interface VerifiedCandidate {
  readonly result: SignatureResult;
  readonly statement?: InTotoStatement;
}

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

function invalid(candidate: Candidate, reason: string, cause?: unknown): DropzoneError {
  return new DropzoneError("SIGNATURE_INVALID", `${candidate.label}: ${reason}`, cause ? { cause } : {});
}

// Candidates share one blob when a manifest lists it repeatedly (see artifact_budget.ts): hash it once.
const HASHES = new WeakMap<Uint8Array, Uint8Array>();

function sha256(bytes: Uint8Array): Uint8Array {
  let hash = HASHES.get(bytes);
  if (!hash) HASHES.set(bytes, hash = new Uint8Array(crypto.createHash("sha256").update(bytes).digest()));
  return hash;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
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

/** Decodes a Fulcio extension value: DER UTF8String (v2 OIDs) or raw ASCII (v1 OIDs). */
function extensionText(value: Uint8Array): string {
  if (value.length >= 2 && value[0] === 0x0c && value[1]! < 0x80 && value[1] === value.length - 2) {
    return new TextDecoder().decode(value.subarray(2));
  }
  return new TextDecoder().decode(value);
}

function fulcioExtensions(signer: Signer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { oid, value } of signer.identity?.oids ?? []) {
    const name = FULCIO_EXTENSIONS[oid?.id.join(".") ?? ""];
    if (name) out[name] = extensionText(value);
  }
  return out;
}

function keyFingerprint(key: crypto.KeyObject): string {
  const der = key.export({ format: "der", type: "spki" });
  return `key:sha256:${hex(sha256(new Uint8Array(der)))}`;
}

/** The signing key or certificate DER that the bundle claims, for comparing with the tlog body. */
function claimedVerifier(bundle: Bundle): { certificate?: Uint8Array | undefined } {
  const vm = bundle.verificationMaterial.content;
  if (vm.$case === "x509CertificateChain") {
    return { certificate: vm.x509CertificateChain.certificates[0]?.rawBytes };
  }
  if (vm.$case === "certificate") return { certificate: vm.certificate.rawBytes };
  return {};
}

/** PEMs a Rekor body says signed the entry (hashedrekord / dsse v0.0.1), or undefined for other kinds. */
function rekorVerifierPems(
  body: Record<string, unknown>,
  kind: string,
  version: string,
): string[] | undefined {
  const spec = body.spec as Record<string, unknown> | undefined;
  const decode = (v: unknown): string => typeof v === "string" ? new TextDecoder().decode(fromBase64(v)) : "";
  if (kind === "hashedrekord" && version === "0.0.1") {
    const sig = spec?.signature as { publicKey?: { content?: unknown } } | undefined;
    return [decode(sig?.publicKey?.content)];
  }
  if (kind === "dsse" && version === "0.0.1") {
    const sigs = Array.isArray(spec?.signatures) ? spec.signatures as { verifier?: unknown }[] : [];
    return sigs.map((s) => decode(s.verifier));
  }
  if (kind === "rekord" && version === "0.0.1") {
    const sig = spec?.signature as { publicKey?: { content?: unknown } } | undefined;
    return [decode(sig?.publicKey?.content)];
  }
  if (kind === "intoto" && version === "0.0.1") return [decode(spec?.publicKey)];
  return undefined;
}

/**
 * cosign (not sigstore-js) checks that the Rekor entry was made with the bundle's certificate or key. Without
 * it, a valid entry for another certificate with the same signature bytes would be accepted.
 */
function checkTlogKeyBinding(candidate: Candidate, bundle: Bundle, signer: Signer): void {
  const claimed = claimedVerifier(bundle);
  const signerKey = new Uint8Array(signer.key.export({ format: "der", type: "spki" }));
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const bodyB64 = Buffer.from(entry.canonicalizedBody).toString("base64");
    const { kind, version, body } = rekorBodyKind(bodyB64);
    const pems = rekorVerifierPems(body, kind, version);
    if (pems === undefined) continue;
    const ok = pems.some((pem) => {
      const certs = pemCertificates(pem);
      if (certs.length > 0) return claimed.certificate !== undefined && equal(certs[0]!, claimed.certificate);
      try {
        const der = new Uint8Array(crypto.createPublicKey(pem).export({ format: "der", type: "spki" }));
        return claimed.certificate === undefined && equal(der, signerKey);
      } catch {
        return false;
      }
    });
    if (!ok) throw invalid(candidate, "the Rekor entry was made for a different certificate or key");
  }
}

const OID_EKU = "2.5.29.37";
const OID_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

/** cosign requires the codeSigning extended key usage on the leaf; sigstore-js does not check it. */
function checkCodeSigning(candidate: Candidate, bundle: Bundle): void {
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

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Checks a simple-signing payload names `digest` (cosign's SimpleClaimVerifier). */
function checkSimpleSigning(candidate: Candidate, payload: Uint8Array, digest: Digest): void {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw invalid(candidate, "signed payload is not JSON");
  }
  // Go unmarshals case-insensitively; 2021 cosign wrote "Docker-manifest-digest".
  const get = (obj: unknown, key: string): unknown => {
    if (typeof obj !== "object" || obj === null) return undefined;
    const hit = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
    return hit === undefined ? undefined : (obj as Record<string, unknown>)[hit];
  };
  const critical = get(doc, "critical");
  const type = get(critical, "type");
  if (type !== "cosign container image signature" && type !== "cosign container signature") {
    throw invalid(
      candidate,
      `signed payload type is "${String(type)}", not a cosign container image signature`,
    );
  }
  const signed = get(get(critical, "image"), "docker-manifest-digest");
  if (signed !== digest) {
    throw invalid(candidate, `signature is for ${String(signed)}, not ${digest}`);
  }
}

interface TlogEntry {
  readonly logId?: { readonly keyId: Uint8Array } | undefined;
  readonly kindVersion?: { readonly kind: string; readonly version: string } | undefined;
  readonly integratedTime: string;
  readonly logIndex: string;
  readonly canonicalizedBody: Uint8Array;
  readonly inclusionPromise?: { readonly signedEntryTimestamp: Uint8Array } | undefined;
}

const kindVersion = (e: { kindVersion?: { kind: string; version: string } | undefined }): string =>
  `${e.kindVersion?.kind}/${e.kindVersion?.version}`;

/**
 * For Rekor kinds the library cannot check (rekord/0.0.1, intoto/0.0.1): verify the SET against the trusted
 * log valid at integratedTime, and bind the body to the exact legacy layer bytes. The library then sees the
 * entry only as a timestamp (it does not verify SETs there, so this check is what makes that timestamp sound).
 */
function verifySetOnlyEntry(
  candidate: Candidate,
  entry: TlogEntry,
  tm: TrustMaterial,
  bundle: Bundle,
): void {
  if (candidate.kind === "bundle") {
    throw invalid(candidate, `Rekor entry kind "${kindVersion(entry)}" is only supported in legacy layers`);
  }
  const promise = entry.inclusionPromise;
  if (!promise) throw invalid(candidate, "Rekor entry has no signed entry timestamp");
  const integrated = Number(entry.integratedTime);
  const at = new Date(integrated * 1000);
  const keyId = new Uint8Array(entry.logId?.keyId ?? []);
  const log = tm.tlogs.find((t) =>
    equal(new Uint8Array(t.logID), keyId) && t.validFor.start <= at &&
    at <= t.validFor.end
  );
  if (!log) throw invalid(candidate, "TLOG_INCLUSION_PROMISE_ERROR: no trusted Rekor log for this entry");
  const signed = canonicalJson.canonicalize({
    body: Buffer.from(entry.canonicalizedBody).toString("base64"),
    integratedTime: integrated,
    logIndex: Number(entry.logIndex),
    logID: hex(keyId),
  });
  let ok = false;
  try {
    ok = crypto.verify(
      "sha256",
      Buffer.from(signed),
      log.publicKey,
      Buffer.from(promise.signedEntryTimestamp),
    );
  } catch {
    ok = false;
  }
  if (!ok) throw invalid(candidate, "TLOG_INCLUSION_PROMISE_ERROR: inclusion promise could not be verified");
  const { body } = rekorBodyKind(Buffer.from(entry.canonicalizedBody).toString("base64"));
  const spec = (body.spec ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  const blobHash = hex(sha256(candidate.blob));
  if (kindVersion(entry) === "rekord/0.0.1") {
    const sig = bundle.content.$case === "messageSignature"
      ? toBase64(bundle.content.messageSignature.signature)
      : "";
    const recorded = typeof spec.signature?.content === "string" ? spec.signature.content : "";
    if (spec.data?.hash?.value !== blobHash || recorded.replace(/\s/g, "") !== sig) {
      throw invalid(candidate, "TLOG_BODY_ERROR: rekord entry does not match the payload and signature");
    }
  } else {
    if (bundle.content.$case !== "dsseEnvelope") {
      throw invalid(candidate, "intoto entry without a DSSE envelope");
    }
    const payloadHash = hex(sha256(new Uint8Array(bundle.content.dsseEnvelope.payload)));
    const content = spec.content as Record<string, { value?: unknown }> | undefined;
    if (content?.hash?.value !== blobHash || content?.payloadHash?.value !== payloadHash) {
      throw invalid(candidate, "TLOG_BODY_ERROR: intoto entry does not match the envelope");
    }
  }
}

function thresholds(bundle: Bundle, keyBased: boolean) {
  if (!keyBased) return { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 };
  const tlogs = bundle.verificationMaterial.tlogEntries.length;
  const tsas = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  const promised = bundle.verificationMaterial.tlogEntries.filter((e) => e.inclusionPromise).length;
  // Key-based cosign signatures may carry no tlog entry (cosign sign --tlog-upload=false); keyless never.
  return {
    tlogThreshold: tlogs > 0 ? 1 : 0,
    ctlogThreshold: 0,
    timestampThreshold: promised + tsas > 0 ? 1 : 0,
  };
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
  if (keyBased && trust.publicKeyPem === undefined) {
    throw new DropzoneError(
      "POLICY_MISSING",
      `Cannot verify key-based signatures: public key was not loaded`,
    );
  }

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
  let statement: InTotoStatement | undefined;
  if (bundle.content.$case === "dsseEnvelope") {
    try {
      statement = boundStatement(
        {
          payloadType: bundle.content.dsseEnvelope.payloadType,
          payload: bundle.content.dsseEnvelope.payload,
        },
        candidate.signedDigest,
      );
    } catch (err) {
      throw invalid(candidate, (err as Error).message, err);
    }
    if (candidate.kind === "bundle" && candidate.purpose === "signature") {
      if (statement.predicateType !== SIGN_PREDICATE_TYPE) {
        throw invalid(candidate, `predicateType "${statement.predicateType}" is not a signature`);
      }
    }
  } else if (candidate.kind === "legacy-sig" && payload !== undefined) {
    checkSimpleSigning(candidate, payload, candidate.signedDigest);
  } else if (candidate.kind === "bundle" && candidate.purpose === "artifact") {
    // The library verified the signature over the artifact bytes (or, by digest, over candidate.signedDigest,
    // which prehashedSignatureContent already compared with the recorded digest); require the recorded digest
    // to match the artifact too.
    const md = bundle.content.messageSignature.messageDigest;
    if (payload !== undefined && md && md.digest.length === 32 && hex(md.digest) !== hex(sha256(payload))) {
      throw invalid(candidate, "bundle message digest does not match the artifact");
    }
  } else {
    throw invalid(
      candidate,
      "message-signature bundles cannot be bound to an image; expected a DSSE statement",
    );
  }

  // 5. Policy (compared here, anchored; never handed to the library as an unanchored pattern).
  const tlog = bundle.verificationMaterial.tlogEntries[0];
  const common = {
    signedDigest: candidate.signedDigest,
    source: candidate.kind === "bundle" ? "bundle-referrer" as const : candidate.kind,
    ...(tlog ? { rekorLogIndex: Number(tlog.logIndex) } : {}),
    // Rekor v2 entries carry no integrated time (0); their time comes from the RFC 3161 timestamp instead.
    ...(tlog && Number(tlog.integratedTime) > 0 ? { integratedTime: Number(tlog.integratedTime) } : {}),
  };
  let result: SignatureResult;
  if (keyBased) {
    result = { ...common, identity: keyFingerprint(signer.key) };
  } else {
    const identity = signer.identity?.subjectAlternativeName;
    const issuer = signer.identity?.extensions?.issuer;
    if (!matchesKeylessPolicy({ identity, issuer }, policy)) {
      throw new DropzoneError(
        "POLICY_MISMATCH",
        `${candidate.label}: signed by identity "${identity ?? "(none)"}", issuer "${issuer ?? "(none)"}"; ` +
          `expected ${describeExpected(policy)}`,
      );
    }
    result = {
      ...common,
      identity: identity!,
      ...(issuer ? { issuer } : {}),
      extensions: fulcioExtensions(signer),
    };
  }
  return { result, ...(statement ? { statement } : {}) };
}
