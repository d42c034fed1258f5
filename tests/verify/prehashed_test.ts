import assert from "node:assert/strict";
import crypto from "node:crypto";
import { prehashedSignatureContent, verifyPrehashed } from "../../src/verify/prehashed.ts";

const message = new TextEncoder().encode("artifact bytes");
const other = new TextEncoder().encode("other bytes");
const sha = (alg: string, data: Uint8Array) => new Uint8Array(crypto.createHash(alg).update(data).digest());

Deno.test("verifyPrehashed() verifies ECDSA and RSA PKCS#1 v1.5 signatures against the digest alone", () => {
  const cases: { what: string; keys: crypto.KeyPairKeyObjectResult; hash: "sha256" | "sha384" }[] = [
    { what: "ECDSA P-256", keys: crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }), hash: "sha256" },
    { what: "ECDSA P-384", keys: crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }), hash: "sha384" },
    {
      what: "ECDSA P-384 over SHA-256",
      keys: crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }),
      hash: "sha256",
    },
    { what: "RSA 2048", keys: crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }), hash: "sha256" },
  ];
  for (const { what, keys, hash } of cases) {
    const signature = new Uint8Array(crypto.sign(hash, message, keys.privateKey));
    assert.equal(verifyPrehashed(keys.publicKey, hash, sha(hash, message), signature), true, what);
    assert.equal(
      verifyPrehashed(keys.publicKey, hash, sha(hash, other), signature),
      false,
      `${what}: other digest`,
    );
    const flipped = signature.slice();
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(
      verifyPrehashed(keys.publicKey, hash, sha(hash, message), flipped),
      false,
      `${what}: bad sig`,
    );
    const stranger = what.startsWith("RSA")
      ? crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey
      : crypto.generateKeyPairSync("ec", { namedCurve: what.includes("384") ? "P-384" : "P-256" }).publicKey;
    assert.equal(verifyPrehashed(stranger, hash, sha(hash, message), signature), false, `${what}: other key`);
  }
  assert.equal(
    verifyPrehashed(cases[0]!.keys.publicKey, "sha256", sha("sha256", message), new Uint8Array(3)),
    false,
  );
});

Deno.test("verifyPrehashed() refuses key types that cannot be checked against a digest", () => {
  const ed = crypto.generateKeyPairSync("ed25519");
  const signature = new Uint8Array(crypto.sign(null, message, ed.privateKey));
  assert.throws(
    () => verifyPrehashed(ed.publicKey, "sha256", sha("sha256", message), signature),
    /ed25519 key/,
  );
});

Deno.test("prehashedSignatureContent() binds the bundle's recorded digest to the given one", () => {
  const keys = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const digest = sha("sha256", message);
  const signature = new Uint8Array(crypto.sign("sha256", message, keys.privateKey));
  const content = prehashedSignatureContent({ signature, messageDigest: { algorithm: 1, digest } }, digest);
  assert.equal(content.verifySignature(keys.publicKey), true);
  assert.equal(content.compareDigest(Buffer.from(digest)), true);
  assert.equal(content.compareSignedDigest(Buffer.from(sha("sha256", other))), false);
  assert.equal(content.compareSignature(Buffer.from(signature)), true);
  assert.throws(
    () =>
      prehashedSignatureContent({ signature, messageDigest: { algorithm: 1, digest } }, sha("sha256", other)),
    /does not match the artifact/,
  );
  assert.throws(
    () => prehashedSignatureContent({ signature, messageDigest: { algorithm: 2, digest } }, digest),
    /non-SHA-256/,
  );
});
