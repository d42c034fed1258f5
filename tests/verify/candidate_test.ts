/** The shared helpers of a candidate's checks: its error, and a blob hash computed once per blob. */
import assert from "node:assert/strict";
import { equal, hex, invalid, sha256 } from "../../src/verify/candidate.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { fakeDigest } from "../support/resolved_image.ts";

Deno.test("invalid() is SIGNATURE_INVALID (exit 3) prefixed with where the candidate was found", () => {
  const cause = new Error("inner");
  const err = invalid(
    {
      kind: "bundle",
      signedDigest: fakeDigest("a"),
      bundle: {},
      purpose: "signature",
      label: "referrer bundle 2",
    },
    "bad",
    cause,
  );
  assert.ok(isDropzoneError(err, "SIGNATURE_INVALID"));
  assert.equal(err.message, "referrer bundle 2: bad");
  assert.equal(err.cause, cause);
});

Deno.test("sha256() hashes correctly, and returns the same result for the same blob", () => {
  const blob = new TextEncoder().encode("abc");
  assert.equal(hex(sha256(blob)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(sha256(blob), sha256(blob), "cached per blob");
  assert.notEqual(sha256(new TextEncoder().encode("abc")), sha256(blob), "another blob is hashed on its own");
});

Deno.test("equal() compares bytes and lengths", () => {
  assert.ok(equal(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!equal(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!equal(new Uint8Array([1]), new Uint8Array([1, 0])));
});
