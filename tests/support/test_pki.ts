/**
 * An offline Sigstore deployment for tests: Fulcio-like CA with a CT log, a Rekor-like transparency log and an
 * RFC 3161 TSA, all in-process via @sigstore/mock (no HTTP, no nock), plus the matching trusted_root.json.
 *
 * Clocks are whole seconds: @sigstore/core only parses RFC 3161 genTimes with exactly three fractional digits,
 * and DER strips trailing zeros, so a millisecond clock makes ~10% of timestamps unparseable.
 */
import "../../src/verify/crypto_compat.ts";
import crypto from "node:crypto";
import { initializeCA, initializeCTLog, initializeTLog, initializeTSA } from "@sigstore/mock";

type KeyPair = { publicKey: crypto.KeyObject; privateKey: crypto.KeyObject };
type CA = Awaited<ReturnType<typeof initializeCA>>;
type TLog = Awaited<ReturnType<typeof initializeTLog>>;
type TSA = Awaited<ReturnType<typeof initializeTSA>>;

/** Fulcio OIDC issuer extension OIDs. */
export const OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
export const OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";

/** A signing identity: how signatures are produced and which services witness them. */
export interface TestSigner {
  readonly kind: "keyless" | "key";
  readonly privateKey: crypto.KeyObject;
  /** PEM of the signing public key (ephemeral for keyless). */
  readonly publicKeyPem: string;
  /** Leaf certificate PEM (keyless only). */
  readonly certificatePem?: string;
  /** The CA root PEM, for the legacy chain annotation (keyless only). */
  readonly chainPem?: string;
  /** The transparency log to record entries in; undefined = no tlog entry. */
  readonly tlog?: TLog | undefined;
  /** The TSA to timestamp signatures with; undefined = no RFC 3161 timestamp. */
  readonly tsa?: TSA;
}

/** Options for {@linkcode TestPki.keyless}. */
export interface KeylessOptions {
  identity: string;
  issuer: string;
  /** Record in the tlog (default true). */
  tlog?: boolean;
  /** Add an RFC 3161 timestamp (default false). */
  tsa?: boolean;
  /** Shift the tlog clock by this many seconds (e.g. 1200 to log after the 10-minute cert expired). */
  tlogOffsetSeconds?: number;
  /** Use only the legacy (v1, raw) issuer extension. */
  legacyIssuerOnly?: boolean;
}

/** An offline test PKI. */
export interface TestPki {
  /** Whole-second clock every service uses. */
  readonly clock: Date;
  /** trusted_root.json as an object (protobuf-JSON field names). */
  readonly trustedRoot: Record<string, unknown>;
  readonly trustedRootText: string;
  readonly tlog: TLog;
  readonly tsa: TSA;
  /** A Fulcio-style signer with a fresh ephemeral key and certificate. */
  keyless(options: KeylessOptions): Promise<TestSigner>;
  /** A cosign key-pair signer; `tlog: false` produces signatures with no Rekor entry. */
  keyPair(options?: { tlog?: boolean; tsa?: boolean }): TestSigner;
}

function ecKeyPair(): KeyPair {
  return crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
}

function spki(key: crypto.KeyObject): Buffer {
  return key.export({ format: "der", type: "spki" }) as Buffer;
}

/** DER bytes → PEM. */
export function toPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function publicKeyJson(key: crypto.KeyObject, start: string): Record<string, unknown> {
  return {
    rawBytes: spki(key).toString("base64"),
    keyDetails: "PKIX_ECDSA_P256_SHA_256",
    validFor: { start },
  };
}

/** Creates a fresh offline PKI. */
export async function createTestPki(): Promise<TestPki> {
  // A whole second, strictly after the (real-time) root certificates' notBefore.
  const clock = new Date((Math.floor(Date.now() / 1000) + 2) * 1000);
  const caKey = ecKeyPair();
  const ctKey = ecKeyPair();
  const rekorKey = ecKeyPair();
  const tsaKey = ecKeyPair();
  const ctlog = await initializeCTLog(ctKey, clock);
  const ca: CA = await initializeCA(caKey, ctlog, clock);
  const tlog = await initializeTLog("https://rekor.test", rekorKey, clock);
  const tsa = await initializeTSA(tsaKey, clock);
  const start = new Date(clock.getTime() - 86_400_000).toISOString();
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [{
      baseUrl: "https://rekor.test",
      hashAlgorithm: "SHA2_256",
      publicKey: publicKeyJson(rekorKey.publicKey, start),
      logId: { keyId: crypto.createHash("sha256").update(spki(rekorKey.publicKey)).digest("base64") },
    }],
    certificateAuthorities: [{
      subject: { organization: "sigstore.mock", commonName: "sigstore" },
      uri: "https://fulcio.test",
      certChain: {
        certificates: [{ rawBytes: Buffer.from(ca.rootCertificate as Uint8Array).toString("base64") }],
      },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: "https://ctfe.test",
      hashAlgorithm: "SHA2_256",
      publicKey: publicKeyJson(ctKey.publicKey, start),
      logId: { keyId: Buffer.from(ctlog.logID as Uint8Array).toString("base64") },
    }],
    timestampAuthorities: [{
      subject: { organization: "sigstore.mock", commonName: "tsa" },
      uri: "https://tsa.test",
      certChain: {
        certificates: [
          { rawBytes: Buffer.from(tsa.intCertificate as Uint8Array).toString("base64") },
          { rawBytes: Buffer.from(tsa.rootCertificate as Uint8Array).toString("base64") },
        ],
      },
      validFor: { start },
    }],
  };
  const rootPem = toPem(ca.rootCertificate as Uint8Array);
  return {
    clock,
    trustedRoot,
    trustedRootText: JSON.stringify(trustedRoot),
    tlog,
    tsa,
    async keyless(options) {
      const eph = ecKeyPair();
      const extensions = [{ oid: OID_ISSUER_V1, value: options.issuer, legacy: true }];
      if (!options.legacyIssuerOnly) {
        extensions.push({ oid: OID_ISSUER_V2, value: options.issuer, legacy: false });
      }
      const leaf = await ca.issueCertificate({
        publicKey: new Uint8Array(spki(eph.publicKey)),
        subjectAltName: options.identity,
        extensions,
      });
      let signerTlog: TLog | undefined;
      if (options.tlog !== false) {
        signerTlog = options.tlogOffsetSeconds
          ? await initializeTLog(
            "https://rekor.test",
            rekorKey,
            new Date(clock.getTime() + options.tlogOffsetSeconds * 1000),
          )
          : tlog;
      }
      return {
        kind: "keyless",
        privateKey: eph.privateKey,
        publicKeyPem: eph.publicKey.export({ format: "pem", type: "spki" }) as string,
        certificatePem: toPem(leaf as Uint8Array),
        chainPem: rootPem,
        ...(signerTlog ? { tlog: signerTlog } : {}),
        ...(options.tsa ? { tsa } : {}),
      };
    },
    keyPair(options = {}) {
      const kp = ecKeyPair();
      return {
        kind: "key",
        privateKey: kp.privateKey,
        publicKeyPem: kp.publicKey.export({ format: "pem", type: "spki" }) as string,
        ...(options.tlog === false ? {} : { tlog }),
        ...(options.tsa ? { tsa } : {}),
      };
    },
  };
}
