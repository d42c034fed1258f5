import assert from "node:assert/strict";
import { toBase64 } from "../../src/encoding.ts";
import {
  BUNDLE_V01,
  COSIGN_ANNOTATIONS,
  legacyAttestationBundle,
  legacySignatureBundle,
  pemCertificates,
  rekorBodyKind,
  SET_ONLY_REKOR_KINDS,
  SUPPORTED_REKOR_KINDS,
} from "../../src/verify/legacy_bundle.ts";

const encoder = new TextEncoder();
const DER_A = new Uint8Array([0x30, 0x82, 1, 2, 3]);
const DER_B = new Uint8Array([0x30, 0x82, 9, 8, 7, 6]);
const pem = (der: Uint8Array) => {
  const b64 = toBase64(der);
  return `-----BEGIN CERTIFICATE-----\n${b64.slice(0, 4)}\n${b64.slice(4)}\n-----END CERTIFICATE-----\n`;
};
const body = (kind: string, apiVersion: string) =>
  toBase64(encoder.encode(JSON.stringify({ kind, apiVersion, spec: {} })));
const rekorBundle = (kindVersion = "hashedrekord/0.0.1", overrides: Record<string, unknown> = {}) => {
  const [kind, version] = kindVersion.split("/");
  return JSON.stringify({
    SignedEntryTimestamp: "c2V0",
    Payload: {
      body: body(kind!, version!),
      integratedTime: 1_700_000_000,
      logIndex: 42,
      logID: "c0ffee",
      ...overrides,
    },
  });
};
const PAYLOAD_SHA = new Uint8Array(32).fill(7);
const SIGNATURE = toBase64(encoder.encode("sig"));

Deno.test("pemCertificates() decodes every CERTIFICATE block in order and skips other blocks", () => {
  const text = `${pem(DER_A)}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n${pem(DER_B)}`;
  assert.deepEqual(pemCertificates(text), [DER_A, DER_B]);
  assert.deepEqual(pemCertificates(undefined), []);
  assert.deepEqual(pemCertificates(""), []);
  assert.deepEqual(pemCertificates("not pem"), []);
});

Deno.test("rekorBodyKind() reads kind and apiVersion and refuses bodies without them", () => {
  assert.deepEqual(rekorBodyKind(body("hashedrekord", "0.0.1")), {
    kind: "hashedrekord",
    version: "0.0.1",
    body: { kind: "hashedrekord", apiVersion: "0.0.1", spec: {} },
  });
  assert.throws(() => rekorBodyKind(toBase64(encoder.encode("nope"))), /not base64 JSON/);
  assert.throws(() => rekorBodyKind(toBase64(encoder.encode('{"kind":"x"}'))), /lacks kind\/apiVersion/);
  assert.throws(() => rekorBodyKind(toBase64(encoder.encode("null"))), /lacks kind\/apiVersion/);
});

Deno.test("legacySignatureBundle() maps a keyless layer to a v0.1 bundle with chain, tlog entry and timestamp", () => {
  const bundle = legacySignatureBundle(PAYLOAD_SHA, {
    [COSIGN_ANNOTATIONS.SIGNATURE]: SIGNATURE,
    [COSIGN_ANNOTATIONS.CERTIFICATE]: pem(DER_A),
    [COSIGN_ANNOTATIONS.CHAIN]: pem(DER_B),
    [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle(),
    [COSIGN_ANNOTATIONS.RFC3161]: JSON.stringify({ SignedRFC3161Timestamp: "dHNh" }),
  });
  assert.deepEqual(bundle, {
    mediaType: BUNDLE_V01,
    verificationMaterial: {
      x509CertificateChain: { certificates: [{ rawBytes: toBase64(DER_A) }, { rawBytes: toBase64(DER_B) }] },
      tlogEntries: [{
        logIndex: "42",
        logId: { keyId: toBase64(new Uint8Array([0xc0, 0xff, 0xee])) },
        kindVersion: { kind: "hashedrekord", version: "0.0.1" },
        integratedTime: "1700000000",
        inclusionPromise: { signedEntryTimestamp: "c2V0" },
        canonicalizedBody: body("hashedrekord", "0.0.1"),
      }],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: "dHNh" }] },
    },
    messageSignature: {
      messageDigest: { algorithm: "SHA2_256", digest: toBase64(PAYLOAD_SHA) },
      signature: SIGNATURE,
    },
  });
});

Deno.test("legacySignatureBundle() for a key-based layer without tlog carries a public key hint and no entries", () => {
  const bundle = legacySignatureBundle(PAYLOAD_SHA, { [COSIGN_ANNOTATIONS.SIGNATURE]: SIGNATURE });
  assert.deepEqual(bundle.verificationMaterial, {
    publicKey: { hint: "" },
    tlogEntries: [],
    timestampVerificationData: { rfc3161Timestamps: [] },
  });
});

Deno.test("legacySignatureBundle() accepts every Rekor kind it can check, plus the SET-only ones", async (t) => {
  for (const kv of [...SUPPORTED_REKOR_KINDS, ...SET_ONLY_REKOR_KINDS]) {
    await t.step(kv, () => {
      const bundle = legacySignatureBundle(PAYLOAD_SHA, {
        [COSIGN_ANNOTATIONS.SIGNATURE]: SIGNATURE,
        [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle(kv),
      });
      const entry = (bundle.verificationMaterial as { tlogEntries: { kindVersion: unknown }[] })
        .tlogEntries[0]!;
      const [kind, version] = kv.split("/");
      assert.deepEqual(entry.kindVersion, { kind, version });
    });
  }
});

Deno.test("legacySignatureBundle() refuses hostile annotations with a TypeError naming the annotation", async (t) => {
  const sig = { [COSIGN_ANNOTATIONS.SIGNATURE]: SIGNATURE };
  const cases: [string, Record<string, string>, RegExp][] = [
    ["no signature", {}, /layer has no "dev\.cosignproject\.cosign\/signature" annotation/],
    [
      "empty signature",
      { [COSIGN_ANNOTATIONS.SIGNATURE]: "" },
      /has no "dev\.cosignproject\.cosign\/signature"/,
    ],
    [
      "certificate without PEM",
      { ...sig, [COSIGN_ANNOTATIONS.CERTIFICATE]: "garbage" },
      /"dev\.sigstore\.cosign\/certificate" holds no PEM certificate/,
    ],
    [
      "rekor bundle not JSON",
      { ...sig, [COSIGN_ANNOTATIONS.BUNDLE]: "{" },
      /"dev\.sigstore\.cosign\/bundle" is not JSON/,
    ],
    [
      "rekor bundle without SET",
      { ...sig, [COSIGN_ANNOTATIONS.BUNDLE]: JSON.stringify({ Payload: {} }) },
      /lacks SignedEntryTimestamp or Payload fields/,
    ],
    [
      "rekor bundle null",
      { ...sig, [COSIGN_ANNOTATIONS.BUNDLE]: "null" },
      /lacks SignedEntryTimestamp or Payload/,
    ],
    ["logIndex as string", {
      ...sig,
      [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle(undefined, { logIndex: "42" }),
    }, /lacks SignedEntryTimestamp or Payload/],
    ["integratedTime missing", {
      ...sig,
      [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle(undefined, { integratedTime: undefined }),
    }, /lacks SignedEntryTimestamp or Payload/],
    [
      "unsupported Rekor kind",
      { ...sig, [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle("alpine/0.0.1") },
      /Rekor entry kind "alpine\/0\.0\.1" is not supported \(supported: hashedrekord\/0\.0\.1, /,
    ],
    ["Rekor body not JSON", {
      ...sig,
      [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle(undefined, { body: "bm9wZQ==" }),
    }, /Rekor entry body is not base64 JSON/],
    [
      "RFC 3161 not JSON",
      { ...sig, [COSIGN_ANNOTATIONS.RFC3161]: "x" },
      /"dev\.sigstore\.cosign\/rfc3161timestamp" is not JSON/,
    ],
    [
      "RFC 3161 without token",
      { ...sig, [COSIGN_ANNOTATIONS.RFC3161]: "{}" },
      /lacks SignedRFC3161Timestamp/,
    ],
  ];
  for (const [name, annotations, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => legacySignatureBundle(PAYLOAD_SHA, annotations),
        (err) => err instanceof TypeError && pattern.test(err.message),
      );
    });
  }
  await t.step("a signature that is not base64", () => {
    assert.throws(() => legacySignatureBundle(PAYLOAD_SHA, { [COSIGN_ANNOTATIONS.SIGNATURE]: "%%%" }));
  });
});

Deno.test("legacyAttestationBundle() maps a DSSE envelope and leaves out the envelope timestamp", () => {
  const envelope = {
    payloadType: "application/vnd.in-toto+json",
    payload: "e30=",
    signatures: [{ sig: "c2ln", keyid: "" }],
    extra: 1,
  };
  const bundle = legacyAttestationBundle(encoder.encode(JSON.stringify(envelope)), {
    [COSIGN_ANNOTATIONS.CERTIFICATE]: pem(DER_A),
    [COSIGN_ANNOTATIONS.BUNDLE]: rekorBundle("intoto/0.0.2"),
    [COSIGN_ANNOTATIONS.RFC3161]: JSON.stringify({ SignedRFC3161Timestamp: "dHNh" }),
  });
  assert.equal(bundle.mediaType, BUNDLE_V01);
  assert.deepEqual(bundle.dsseEnvelope, {
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signatures: envelope.signatures,
  });
  const vm = bundle.verificationMaterial as Record<string, unknown>;
  assert.deepEqual(
    vm.timestampVerificationData,
    { rfc3161Timestamps: [] },
    "cosign timestamps the whole envelope",
  );
  assert.deepEqual(vm.x509CertificateChain, { certificates: [{ rawBytes: toBase64(DER_A) }] });
  assert.equal((vm.tlogEntries as unknown[]).length, 1);
});

Deno.test("legacyAttestationBundle() refuses layers that are not DSSE envelopes", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{", /not a JSON DSSE envelope/],
    ["null", "null", /not a DSSE envelope/],
    ["no payloadType", '{"payload":"e30=","signatures":[]}', /not a DSSE envelope/],
    ["payload not a string", '{"payloadType":"x","payload":{},"signatures":[]}', /not a DSSE envelope/],
    ["signatures not a list", '{"payloadType":"x","payload":"e30=","signatures":{}}', /not a DSSE envelope/],
  ];
  for (const [name, text, pattern] of cases) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => legacyAttestationBundle(encoder.encode(text), {}),
          (err) => err instanceof TypeError && pattern.test(err.message),
        ),
    );
  }
});
