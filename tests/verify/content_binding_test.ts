/** Content binding: a verified signature counts only for the exact digest (or artifact bytes) it is about. */
import assert from "node:assert/strict";
import { bindContent, checkSimpleSigning } from "../../src/verify/content_binding.ts";
import type { Candidate } from "../../src/verify/candidate.ts";
import type { Bundle } from "../../src/verify/sigstore.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { fakeDigest } from "../support/resolved_image.ts";

const DIGEST = fakeDigest("a");
const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const bundleCandidate = (purpose: "signature" | "attestation" | "artifact"): Candidate => ({
  kind: "bundle",
  signedDigest: DIGEST,
  bundle: {},
  purpose,
  label: "referrer bundle 1",
});
const legacy: Candidate = {
  kind: "legacy-sig",
  signedDigest: DIGEST,
  layer: { mediaType: "x", digest: fakeDigest("b"), size: 1 },
  blob: new Uint8Array(),
  label: "sha256-aa….sig layer 1",
};
const rejects = (pattern: RegExp) => (err: unknown) =>
  isDropzoneError(err, "SIGNATURE_INVALID") && / layer 1: |referrer bundle 1: /.test(err.message) &&
  pattern.test(err.message);

function simple(critical: unknown) {
  return enc({ critical, optional: null });
}

Deno.test("checkSimpleSigning() accepts cosign's payload for the digest, keys in any case (2021 cosign)", () => {
  checkSimpleSigning(
    legacy,
    simple({ type: "cosign container image signature", image: { "docker-manifest-digest": DIGEST } }),
    DIGEST,
  );
  checkSimpleSigning(
    legacy,
    enc({ Critical: { Type: "cosign container signature", Image: { "Docker-manifest-digest": DIGEST } } }),
    DIGEST,
  );
});

Deno.test("checkSimpleSigning() refuses another digest, another payload type and a payload that is not JSON", () => {
  for (
    const [payload, pattern] of [
      [
        simple({
          type: "cosign container image signature",
          image: { "docker-manifest-digest": fakeDigest("f") },
        }),
        /signature is for sha256:f+, not sha256:a+/,
      ],
      [
        simple({ type: "something else", image: { "docker-manifest-digest": DIGEST } }),
        /payload type is "something else"/,
      ],
      [enc("not json"), /not JSON/],
    ] as const
  ) {
    assert.throws(() => checkSimpleSigning(legacy, payload, DIGEST), rejects(pattern));
  }
});

function dsse(statement: unknown, payloadType = "application/vnd.in-toto+json"): Bundle {
  return {
    content: { $case: "dsseEnvelope", dsseEnvelope: { payloadType, payload: enc(statement) } },
  } as unknown as Bundle;
}
const statement = (predicateType: string, sha256 = "a".repeat(64)) => ({
  _type: "https://in-toto.io/Statement/v1",
  subject: [{ name: "img", digest: { sha256 } }],
  predicateType,
  predicate: {},
});

Deno.test("bindContent() returns the DSSE statement bound to the digest; a signature bundle must be sign/v1", () => {
  const signed = bindContent(
    bundleCandidate("signature"),
    dsse(statement("https://sigstore.dev/cosign/sign/v1")),
    undefined,
  );
  assert.equal(signed?.predicateType, "https://sigstore.dev/cosign/sign/v1");
  const sbom = bindContent(
    bundleCandidate("attestation"),
    dsse(statement("https://spdx.dev/Document")),
    undefined,
  );
  assert.equal(sbom?.predicateType, "https://spdx.dev/Document");
  assert.throws(
    () => bindContent(bundleCandidate("signature"), dsse(statement("https://spdx.dev/Document")), undefined),
    rejects(/is not a signature/),
  );
});

Deno.test("bindContent() refuses a statement about another digest or of another payload type", () => {
  assert.throws(
    () => bindContent(bundleCandidate("attestation"), dsse(statement("p", "f".repeat(64))), undefined),
    rejects(/does not name sha256:a+/),
  );
  assert.throws(
    () => bindContent(bundleCandidate("attestation"), dsse(statement("p"), "text/plain"), undefined),
    rejects(/payloadType is "text\/plain"/),
  );
});

Deno.test("bindContent() refuses a message signature for an image, and checks an artifact's recorded digest", async () => {
  const payload = enc("the artifact");
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-256", payload));
  const message = (digest: Uint8Array) =>
    ({
      content: {
        $case: "messageSignature",
        messageSignature: { messageDigest: { digest }, signature: new Uint8Array() },
      },
    }) as unknown as Bundle;
  assert.throws(
    () => bindContent(bundleCandidate("signature"), message(sha), undefined),
    rejects(/cannot be bound to an image/),
  );
  assert.equal(bindContent(bundleCandidate("artifact"), message(sha), payload), undefined);
  assert.throws(
    () => bindContent(bundleCandidate("artifact"), message(new Uint8Array(32)), payload),
    rejects(/message digest does not match the artifact/),
  );
});
