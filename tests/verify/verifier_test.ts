import assert from "node:assert/strict";
import crypto from "node:crypto";
import { isDropzoneError } from "../../src/errors.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import { type Candidate, verifyCandidate } from "../../src/verify/verifier.ts";
import { legacySignatureBundle, pemCertificates } from "../../src/verify/legacy_bundle.ts";
import { createTestPki } from "../support/test_pki.ts";
import { legacyCandidate } from "../support/verify_fixtures.ts";
import {
  legacySignatureLayer,
  messageSignatureBundle,
  simpleSigningPayload,
} from "../support/cosign_signer.ts";

const ID = "https://example.com/signer";
const ISS = "https://issuer.example.com";
const POLICY = { identity: ID, issuer: ISS };
const pki = await createTestPki();
const trust = { trustedRoot: pki.trustedRoot };

Deno.test("legacySignatureBundle() maps cosign annotations to a v0.1 bundle", async () => {
  const digest = await sha256Digest(new TextEncoder().encode("x"));
  const layer = await legacySignatureLayer("r", digest, await pki.keyless({ ...POLICY, tsa: true }));
  const hash = new Uint8Array(crypto.createHash("sha256").update(layer.blob).digest());
  const bundle = legacySignatureBundle(hash, layer.annotations) as {
    mediaType: string;
    verificationMaterial: Record<
      string,
      { certificates?: unknown[]; rfc3161Timestamps?: unknown[] }[] & never
    >;
  };
  assert.equal(bundle.mediaType, "application/vnd.dev.sigstore.bundle+json;version=0.1");
  const vm = bundle.verificationMaterial as unknown as {
    x509CertificateChain: { certificates: unknown[] };
    tlogEntries: { kindVersion: { kind: string } }[];
    timestampVerificationData: { rfc3161Timestamps: unknown[] };
  };
  assert.equal(vm.x509CertificateChain.certificates.length, 2); // leaf + chain annotation
  assert.equal(vm.tlogEntries[0]?.kindVersion.kind, "hashedrekord");
  assert.equal(vm.timestampVerificationData.rfc3161Timestamps.length, 1);
  assert.equal(pemCertificates(layer.annotations["dev.sigstore.cosign/certificate"]).length, 1);
  assert.throws(() => legacySignatureBundle(hash, {}), /signature/);
});

Deno.test("verifyCandidate() refuses a layer whose blob does not match its descriptor", async () => {
  const digest = await sha256Digest(new TextEncoder().encode("x"));
  const layer = await legacySignatureLayer("r", digest, await pki.keyless(POLICY));
  const candidate = await legacyCandidate(digest, layer);
  const swapped = { ...candidate, blob: simpleSigningPayload("other", digest) } as Candidate;
  assert.throws(
    () => verifyCandidate(swapped, POLICY, trust),
    (err) => isDropzoneError(err, "SIGNATURE_INVALID") && /hashes to/.test(err.message),
  );
});

Deno.test("verifyCandidate() refuses a Rekor entry made for another certificate", async () => {
  const digest = await sha256Digest(new TextEncoder().encode("x"));
  const signer = await pki.keyless(POLICY);
  const other = await pki.keyless(POLICY);
  const layer = await legacySignatureLayer("r", digest, { ...signer, tlog: undefined });
  const signature = layer.annotations["dev.cosignproject.cosign/signature"]!;
  // A genuine entry with the right hash and signature bytes, but naming another certificate.
  const entries = await pki.tlog.log({
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: {
        hash: { algorithm: "sha256", value: crypto.createHash("sha256").update(layer.blob).digest("hex") },
      },
      signature: { content: signature, publicKey: { content: btoa(other.certificatePem!) } },
    },
  }) as unknown as Record<
    string,
    {
      body: string;
      integratedTime: number;
      logIndex: number;
      logID: string;
      verification: { signedEntryTimestamp: string };
    }
  >;
  const e = Object.values(entries)[0]!;
  layer.annotations["dev.sigstore.cosign/bundle"] = JSON.stringify({
    SignedEntryTimestamp: e.verification.signedEntryTimestamp,
    Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
  });
  const candidate = await legacyCandidate(digest, layer);
  assert.throws(
    () => verifyCandidate(candidate, POLICY, trust),
    (err) => isDropzoneError(err, "SIGNATURE_INVALID") && /different certificate or key/.test(err.message),
  );
});

Deno.test("verifyCandidate() verifies message-signature bundles only against the artifact bytes", async () => {
  const artifact = new TextEncoder().encode("release.tar.gz");
  const bundle = await messageSignatureBundle(artifact, await pki.keyless(POLICY));
  const signedDigest = await sha256Digest(artifact);
  const ok = verifyCandidate(
    { kind: "bundle", signedDigest, bundle, purpose: "artifact", artifact, label: "b" },
    POLICY,
    trust,
  );
  assert.equal(ok.result.identity, ID);
  assert.throws(
    () =>
      verifyCandidate(
        {
          kind: "bundle",
          signedDigest,
          bundle,
          purpose: "artifact",
          artifact: new TextEncoder().encode("x"),
          label: "b",
        },
        POLICY,
        trust,
      ),
    (err) => isDropzoneError(err, "SIGNATURE_INVALID"),
  );
  // As an image signature a message signature binds to nothing.
  assert.throws(
    () =>
      verifyCandidate(
        { kind: "bundle", signedDigest, bundle, purpose: "signature", label: "b" },
        POLICY,
        trust,
      ),
    (err) => isDropzoneError(err, "SIGNATURE_INVALID") && /DSSE/.test(err.message),
  );
});

Deno.test("verifyCandidate() refuses to run on an invalid trusted root", async () => {
  const digest = await sha256Digest(new TextEncoder().encode("x"));
  const candidate = await legacyCandidate(
    digest,
    await legacySignatureLayer("r", digest, await pki.keyless(POLICY)),
  );
  const root = structuredClone(pki.trustedRoot) as { tlogs: { publicKey: { validFor?: unknown } }[] };
  delete root.tlogs[0]!.publicKey.validFor;
  assert.throws(
    () => verifyCandidate(candidate, POLICY, { trustedRoot: root }),
    (err) => isDropzoneError(err, "TRUSTED_ROOT_INVALID"),
  );
});
