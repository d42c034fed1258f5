import assert from "node:assert/strict";
import {
  digestHex,
  digestToDirName,
  isDigest,
  parseDigest,
  sha256Digest,
  shortDigest,
} from "../../src/oci/digest.ts";

const HEX = "0123456789abcdef".repeat(4);

Deno.test("isDigest() accepts only sha256 with 64 lower-case hex characters", async (t) => {
  const cases: [string, boolean][] = [
    [`sha256:${HEX}`, true],
    [`sha256:${HEX.toUpperCase()}`, false],
    [`sha256:${HEX.slice(1)}`, false],
    [`sha256:${HEX}0`, false],
    [`sha512:${HEX}${HEX}`, false],
    [`SHA256:${HEX}`, false],
    [`sha256:${HEX}\n`, false],
    [` sha256:${HEX}`, false],
    [`sha256-${HEX}`, false],
    [`sha256:${"g".repeat(64)}`, false],
    ["sha256:../../etc/passwd", false],
    ["", false],
  ];
  for (const [value, expected] of cases) {
    await t.step(
      JSON.stringify(value.slice(0, 20)) + ` (${value.length})`,
      () => assert.equal(isDigest(value), expected),
    );
  }
});

Deno.test("parseDigest() returns a valid digest and throws a TypeError naming an invalid one", () => {
  assert.equal(parseDigest(`sha256:${HEX}`), `sha256:${HEX}`);
  assert.throws(
    () => parseDigest("sha256:nope"),
    (err) => err instanceof TypeError && /"sha256:nope"/.test(err.message),
  );
});

Deno.test("sha256Digest() hashes bytes to the known digests", async () => {
  assert.equal(
    await sha256Digest(new Uint8Array(0)),
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    await sha256Digest(new TextEncoder().encode("abc")),
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("digestHex(), digestToDirName() and shortDigest() give the forms dz uses", () => {
  const digest = `sha256:${HEX}` as const;
  assert.equal(digestHex(digest), HEX);
  assert.equal(digestToDirName(digest), `sha256-${HEX}`);
  assert.equal(shortDigest(digest), "sha256:0123456789ab");
  assert.equal(shortDigest(HEX), "0123456789ab", "a bare hex string is cut to 12 characters");
  assert.equal(shortDigest("sha256:abc"), "sha256:abc");
});
