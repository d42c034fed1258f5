/**
 * Checks of a bundle's Rekor entries that sigstore-js leaves to cosign: the entry's key binding, the SET and body
 * of kinds the library cannot check (rekord, intoto), and the thresholds a key-based or keyless bundle must meet.
 */
import crypto from "node:crypto";
import { type Bundle, canonicalJson, type Signer, type TrustMaterial } from "./sigstore.ts";
import { fromBase64, pemCertificates, rekorBodyKind, toBase64 } from "./legacy_bundle.ts";
import { type Candidate, claimedVerifier, equal, hex, invalid, sha256 } from "./candidate.ts";

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
export function checkTlogKeyBinding(candidate: Candidate, bundle: Bundle, signer: Signer): void {
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

export interface TlogEntry {
  readonly logId?: { readonly keyId: Uint8Array } | undefined;
  readonly kindVersion?: { readonly kind: string; readonly version: string } | undefined;
  readonly integratedTime: string;
  readonly logIndex: string;
  readonly canonicalizedBody: Uint8Array;
  readonly inclusionPromise?: { readonly signedEntryTimestamp: Uint8Array } | undefined;
}

export const kindVersion = (e: { kindVersion?: { kind: string; version: string } | undefined }): string =>
  `${e.kindVersion?.kind}/${e.kindVersion?.version}`;

/**
 * For Rekor kinds the library cannot check (rekord/0.0.1, intoto/0.0.1): verify the SET against the trusted
 * log valid at integratedTime, and bind the body to the exact legacy layer bytes. The library then sees the
 * entry only as a timestamp (it does not verify SETs there, so this check is what makes that timestamp sound).
 */
export function verifySetOnlyEntry(
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

/** How many tlog entries, CT log SCTs and timestamps the library must find for this bundle. */
export interface Thresholds {
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
}

/** The thresholds for a bundle: keyless needs one of each; a key-based one only what it carries. Pure. */
export function thresholds(bundle: Bundle, keyBased: boolean): Thresholds {
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
