/** Who signed and whether the policy accepts them: key mode, the anchored identity check, Fulcio extensions. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  checkKeyMode,
  fulcioExtensions,
  keyFingerprint,
  signerResult,
} from "../../src/verify/signer_policy.ts";
import type { Candidate } from "../../src/verify/candidate.ts";
import type { Bundle, Signer } from "../../src/verify/sigstore.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { fakeDigest } from "../support/resolved_image.ts";
import { ACME_ID, ACME_POLICY, GITHUB_ISSUER } from "../support/verify_fixtures.ts";

const candidate: Candidate = {
  kind: "bundle",
  signedDigest: fakeDigest("a"),
  bundle: {},
  purpose: "signature",
  label: "referrer bundle 1",
};
const KEY_POLICY = { public_key: "/etc/dz/cosign.pub" };

Deno.test("checkKeyMode() matches the bundle's key mode to the policy's, and needs a loaded key", () => {
  checkKeyMode(candidate, ACME_POLICY, false, false);
  checkKeyMode(candidate, KEY_POLICY, true, true);
  for (
    const [policy, keyBased, loaded, code, pattern] of [
      [KEY_POLICY, false, true, "POLICY_MISMATCH", /signed with a certificate/],
      [ACME_POLICY, true, true, "POLICY_MISMATCH", /signed with a public key/],
      [KEY_POLICY, true, false, "POLICY_MISSING", /public key was not loaded/],
    ] as const
  ) {
    assert.throws(
      () => checkKeyMode(candidate, policy, keyBased, loaded),
      (err) => isDropzoneError(err, code) && pattern.test(err.message),
    );
  }
});

const utf8 = (s: string) => new TextEncoder().encode(s);
function keyless(identity: string | undefined, issuer: string | undefined): Signer {
  const der = utf8("https://github.com/acme/tools");
  return {
    key: crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey,
    identity: {
      subjectAlternativeName: identity,
      extensions: { issuer },
      oids: [
        // v1 OID: raw ASCII; v2 OID: a DER UTF8String.
        { oid: { id: [1, 3, 6, 1, 4, 1, 57264, 1, 3] }, value: utf8("abc123") },
        { oid: { id: [1, 3, 6, 1, 4, 1, 57264, 1, 12] }, value: new Uint8Array([0x0c, der.length, ...der]) },
        { oid: { id: [1, 2, 3] }, value: utf8("ignored") },
      ],
    },
  } as unknown as Signer;
}
const bundle = (content: string, tlog: { logIndex: string; integratedTime: string }[]) =>
  ({ verificationMaterial: { content: { $case: content }, tlogEntries: tlog } }) as unknown as Bundle;

Deno.test("signerResult() of an accepted certificate: identity, issuer, log entry and named Fulcio extensions", () => {
  const result = signerResult(
    candidate,
    bundle("x509CertificateChain", [{ logIndex: "42", integratedTime: "1700000000" }]),
    keyless(ACME_ID, GITHUB_ISSUER),
    ACME_POLICY,
  );
  assert.deepEqual(result, {
    signedDigest: fakeDigest("a"),
    source: "bundle-referrer",
    rekorLogIndex: 42,
    integratedTime: 1_700_000_000,
    identity: ACME_ID,
    issuer: GITHUB_ISSUER,
    extensions: { githubWorkflowSha: "abc123", sourceRepositoryUri: "https://github.com/acme/tools" },
  });
});

Deno.test("signerResult() refuses a valid signature by someone else, naming who signed and what was expected", () => {
  for (
    const [identity, issuer] of [[`${ACME_ID}x`, GITHUB_ISSUER], [ACME_ID, "https://evil"], [
      undefined,
      undefined,
    ]]
  ) {
    assert.throws(
      () =>
        signerResult(candidate, bundle("x509CertificateChain", []), keyless(identity, issuer), ACME_POLICY),
      (err) =>
        isDropzoneError(err, "POLICY_MISMATCH") &&
        err.message.startsWith("referrer bundle 1: signed by identity") &&
        err.message.includes(identity ?? "(none)") && /expected/.test(err.message),
    );
  }
});

Deno.test("signerResult() of a key-signed bundle is the key fingerprint; a Rekor v2 entry has no integrated time", () => {
  const signer = keyless(undefined, undefined);
  const result = signerResult(
    candidate,
    bundle("publicKey", [{ logIndex: "7", integratedTime: "0" }]),
    signer,
    KEY_POLICY,
  );
  assert.equal(result.identity, keyFingerprint(signer.key));
  assert.match(result.identity, /^key:sha256:[0-9a-f]{64}$/);
  assert.equal(result.rekorLogIndex, 7);
  assert.equal(result.integratedTime, undefined);
  assert.equal(result.issuer, undefined);
  assert.deepEqual(fulcioExtensions({ identity: undefined } as unknown as Signer), {});
});
