/**
 * Signature verification over a digest instead of the message (pure): what blob verification needs when only
 * `sha256:<hex>` of the artifact is given. node:crypto always hashes the data it verifies, so ECDSA goes through
 * @noble/curves (NIST P-256/384/521, DER signatures, high S accepted like Go's crypto/ecdsa) and RSA PKCS#1 v1.5
 * through the public-key operation plus a comparison of the DigestInfo. RSA-PSS and Ed25519 cannot be checked
 * against a bare digest here (Ed25519 signs the message itself) and are refused with a reason.
 */
import crypto from "node:crypto";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { SignatureContent } from "./sigstore.ts";

/** Digest algorithms dz accepts pre-hashed, with their DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<string, string>> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

const CURVES = { "P-256": p256, "P-384": p384, "P-521": p521 } as const;

function base64url(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64url"));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * Verifies `signature` by `key` over the already computed `digest` (of algorithm `hash`). Returns true or false
 * for a signature that does or does not verify; throws for a key type that cannot be verified pre-hashed.
 */
export function verifyPrehashed(
  key: crypto.KeyObject,
  hash: "sha256" | "sha384" | "sha512",
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (key.asymmetricKeyType === "ec") {
    const jwk = key.export({ format: "jwk" });
    const curve = CURVES[jwk.crv as keyof typeof CURVES];
    if (!curve || !jwk.x || !jwk.y) throw new TypeError(`unsupported EC curve "${jwk.crv}" for a digest`);
    const point = new Uint8Array([4, ...base64url(jwk.x), ...base64url(jwk.y)]);
    try {
      return curve.verify(signature, digest, point, { prehash: false, format: "der", lowS: false });
    } catch {
      return false; // malformed DER or point
    }
  }
  if (key.asymmetricKeyType === "rsa") {
    let decoded: Uint8Array;
    try {
      decoded = new Uint8Array(
        crypto.publicDecrypt({ key, padding: crypto.constants.RSA_PKCS1_PADDING }, signature),
      );
    } catch {
      return false; // not a PKCS#1 v1.5 signature block for this key
    }
    const expected = new Uint8Array([...Buffer.from(DIGEST_INFO_PREFIX[hash]!, "hex"), ...digest]);
    return equal(decoded, expected);
  }
  throw new TypeError(
    `a ${
      key.asymmetricKeyType ?? "unknown"
    } key cannot be verified against a digest; pass the artifact itself`,
  );
}

/**
 * The signed content of a message-signature bundle verified against `digest` (SHA-256 of the artifact) rather
 * than the artifact: the library compares the Rekor entry's digest with `digest` and calls back here for the
 * signature. Throws when the bundle signed a different digest or with another hash algorithm.
 */
export function prehashedSignatureContent(
  messageSignature: { signature: Uint8Array; messageDigest?: { algorithm: number; digest: Uint8Array } },
  digest: Uint8Array,
): SignatureContent {
  const md = messageSignature.messageDigest;
  // HashAlgorithm: 0 unspecified (cosign: SHA-256), 1 SHA2_256.
  if (md !== undefined && md.algorithm !== 0 && md.algorithm !== 1) {
    throw new TypeError("the bundle signed a non-SHA-256 digest; pass the artifact itself");
  }
  if (md !== undefined && !equal(md.digest, digest)) {
    throw new TypeError("bundle message digest does not match the artifact");
  }
  const signature = Buffer.from(messageSignature.signature);
  const matches = (d: Buffer) => equal(new Uint8Array(d), digest);
  return {
    signature,
    compareSignature: (other) => equal(new Uint8Array(other), signature),
    compareDigest: matches,
    compareSignedDigest: matches,
    verifySignature: (key) => verifyPrehashed(key, "sha256", digest, signature),
  };
}
