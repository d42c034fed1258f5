/**
 * cosign legacy `.sig` / `.att` layers → Sigstore bundle v0.1 JSON (pure). v0.1 is used on purpose: it accepts an
 * inclusion promise (SET) without an inclusion proof, which is all legacy layers carry. The same mapping as
 * sigstore-go's `examples/oci-image-verification`, but keeping every certificate and the RFC 3161 timestamp.
 */
import { fromBase64, fromHex, toBase64 } from "../encoding.ts";

/** Legacy cosign layer annotation keys. */
export const COSIGN_ANNOTATIONS = {
  SIGNATURE: "dev.cosignproject.cosign/signature",
  CERTIFICATE: "dev.sigstore.cosign/certificate",
  CHAIN: "dev.sigstore.cosign/chain",
  BUNDLE: "dev.sigstore.cosign/bundle",
  RFC3161: "dev.sigstore.cosign/rfc3161timestamp",
} as const;

/** Bundle media type used for converted legacy signatures. */
export const BUNDLE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1";

/** Rekor entry kinds @sigstore/verify can check a body for. */
export const SUPPORTED_REKOR_KINDS: readonly string[] = [
  "hashedrekord/0.0.1",
  "dsse/0.0.1",
  "intoto/0.0.2",
  "hashedrekord/0.0.2",
  "dsse/0.0.2",
];

/**
 * Older Rekor kinds @sigstore/verify cannot check a body for: `rekord/0.0.1` (cosign ≤ 1.3 signatures) and
 * `intoto/0.0.1` (cosign attestations before v2.2.0). dz verifies their SET and body binding itself
 * (verifier.ts) and only for legacy layers, which carry the exact bytes the entry hashed.
 */
export const SET_ONLY_REKOR_KINDS: readonly string[] = ["rekord/0.0.1", "intoto/0.0.1"];

export { fromBase64, toBase64 };

/** DER bytes of every CERTIFICATE block in a PEM text, in order. */
export function pemCertificates(pem: string | undefined): Uint8Array[] {
  if (!pem) return [];
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) out.push(fromBase64(m[1]!.replace(/\s+/g, "")));
  return out;
}

interface RekorBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

function parseRekorBundle(text: string): RekorBundle {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TypeError(`annotation "${COSIGN_ANNOTATIONS.BUNDLE}" is not JSON`);
  }
  const d = doc as Partial<RekorBundle>;
  const p = d?.Payload;
  if (
    typeof d?.SignedEntryTimestamp !== "string" || typeof p !== "object" || p === null ||
    typeof p.body !== "string" || typeof p.integratedTime !== "number" || typeof p.logIndex !== "number" ||
    typeof p.logID !== "string"
  ) {
    throw new TypeError(
      `annotation "${COSIGN_ANNOTATIONS.BUNDLE}" lacks SignedEntryTimestamp or Payload fields`,
    );
  }
  return d as RekorBundle;
}

/** The kind/version of a Rekor canonicalized body (base64), e.g. "hashedrekord/0.0.1". */
export function rekorBodyKind(
  bodyB64: string,
): { kind: string; version: string; body: Record<string, unknown> } {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(fromBase64(bodyB64)));
  } catch {
    throw new TypeError("Rekor entry body is not base64 JSON");
  }
  const b = body as { kind?: unknown; apiVersion?: unknown };
  if (typeof b?.kind !== "string" || typeof b.apiVersion !== "string") {
    throw new TypeError("Rekor entry body lacks kind/apiVersion");
  }
  return { kind: b.kind, version: b.apiVersion, body: body as Record<string, unknown> };
}

function verificationMaterial(
  annotations: Readonly<Record<string, string>>,
  useTimestamp = true,
): Record<string, unknown> {
  const vm: Record<string, unknown> = {
    tlogEntries: [],
    timestampVerificationData: { rfc3161Timestamps: [] },
  };
  const certs = [
    ...pemCertificates(annotations[COSIGN_ANNOTATIONS.CERTIFICATE]),
    ...pemCertificates(annotations[COSIGN_ANNOTATIONS.CHAIN]),
  ];
  if (annotations[COSIGN_ANNOTATIONS.CERTIFICATE] !== undefined && certs.length === 0) {
    throw new TypeError(`annotation "${COSIGN_ANNOTATIONS.CERTIFICATE}" holds no PEM certificate`);
  }
  if (certs.length > 0) {
    vm.x509CertificateChain = { certificates: certs.map((der) => ({ rawBytes: toBase64(der) })) };
  } else {
    vm.publicKey = { hint: "" };
  }
  const rekor = annotations[COSIGN_ANNOTATIONS.BUNDLE];
  if (rekor !== undefined) {
    const rb = parseRekorBundle(rekor);
    const { kind, version } = rekorBodyKind(rb.Payload.body);
    const kv = `${kind}/${version}`;
    if (!SUPPORTED_REKOR_KINDS.includes(kv) && !SET_ONLY_REKOR_KINDS.includes(kv)) {
      const supported = [...SUPPORTED_REKOR_KINDS, ...SET_ONLY_REKOR_KINDS].join(", ");
      throw new TypeError(`Rekor entry kind "${kv}" is not supported (supported: ${supported})`);
    }
    vm.tlogEntries = [{
      logIndex: String(rb.Payload.logIndex),
      logId: { keyId: toBase64(fromHex(rb.Payload.logID)) },
      kindVersion: { kind, version },
      integratedTime: String(rb.Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: rb.SignedEntryTimestamp },
      // cosign's Payload.body is Rekor's canonicalized body, base64: usable verbatim.
      canonicalizedBody: rb.Payload.body,
    }];
  }
  const ts = annotations[COSIGN_ANNOTATIONS.RFC3161];
  if (ts !== undefined && useTimestamp) {
    let signed: unknown;
    try {
      signed = (JSON.parse(ts) as { SignedRFC3161Timestamp?: unknown }).SignedRFC3161Timestamp;
    } catch {
      throw new TypeError(`annotation "${COSIGN_ANNOTATIONS.RFC3161}" is not JSON`);
    }
    if (typeof signed !== "string") throw new TypeError("RFC 3161 annotation lacks SignedRFC3161Timestamp");
    vm.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: signed }] };
  }
  return vm;
}

/** A legacy simple-signing layer (payload + annotations) as a v0.1 bundle with a message signature. */
export function legacySignatureBundle(
  payloadSha256: Uint8Array,
  annotations: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const signature = annotations[COSIGN_ANNOTATIONS.SIGNATURE];
  if (!signature) throw new TypeError(`layer has no "${COSIGN_ANNOTATIONS.SIGNATURE}" annotation`);
  fromBase64(signature);
  return {
    mediaType: BUNDLE_V01,
    verificationMaterial: verificationMaterial(annotations),
    messageSignature: {
      messageDigest: { algorithm: "SHA2_256", digest: toBase64(payloadSha256) },
      signature,
    },
  };
}

/** A legacy `.att` layer (DSSE envelope JSON + annotations) as a v0.1 bundle with a DSSE envelope. */
export function legacyAttestationBundle(
  envelopeBytes: Uint8Array,
  annotations: Readonly<Record<string, string>>,
): Record<string, unknown> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(new TextDecoder().decode(envelopeBytes));
  } catch {
    throw new TypeError("attestation layer is not a JSON DSSE envelope");
  }
  const e = envelope as { payloadType?: unknown; payload?: unknown; signatures?: unknown };
  if (typeof e?.payloadType !== "string" || typeof e.payload !== "string" || !Array.isArray(e.signatures)) {
    throw new TypeError("attestation layer is not a DSSE envelope");
  }
  return {
    mediaType: BUNDLE_V01,
    // cosign timestamps the whole envelope for .att layers; @sigstore/verify checks the imprint against the DSSE
    // signature bytes, so a real cosign RFC 3161 token would fail. The Rekor SET provides the timestamp instead.
    verificationMaterial: verificationMaterial(annotations, false),
    dsseEnvelope: { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures },
  };
}
