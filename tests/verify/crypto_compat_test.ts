import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  installCryptoCompat,
  isCryptoCompatInstalled,
  originalCryptoVerify,
  uninstallCryptoCompat,
} from "../../src/verify/crypto_compat.ts";
import { Verifier } from "../../src/verify/sigstore.ts";
import { verifyCandidate } from "../../src/verify/verifier.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { createTestPki } from "../support/test_pki.ts";
import { legacySignatureLayer } from "../support/cosign_signer.ts";
import { legacyCandidate } from "../support/verify_fixtures.ts";

const data = new TextEncoder().encode("payload");

Deno.test("crypto_compat is installed once @sigstore modules are importable through sigstore.ts", () => {
  assert.equal(isCryptoCompatInstalled(), true);
  assert.equal(typeof Verifier, "function");
});

Deno.test("originalCryptoVerify() without a digest throws on an EC key under Deno", () => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const sig = crypto.sign("sha256", data, privateKey);
  const orig = originalCryptoVerify();
  assert.notEqual(orig, crypto.verify);
  // The raw Deno behaviour the shim exists for: Node would default to SHA-256.
  assert.throws(() => orig(null, data, publicKey, sig), /digest/i);
  assert.equal(orig("sha256", data, publicKey, sig), true);
});

Deno.test("crypto.verify() with the shim defaults EC and RSA keys to SHA-256", () => {
  const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  assert.equal(crypto.verify(null, data, ec.publicKey, crypto.sign("sha256", data, ec.privateKey)), true);
  const pem = ec.publicKey.export({ format: "pem", type: "spki" });
  assert.equal(crypto.verify(undefined, data, pem, crypto.sign("sha256", data, ec.privateKey)), true);
  const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  assert.equal(crypto.verify(null, data, rsa.publicKey, crypto.sign("sha256", data, rsa.privateKey)), true);
  assert.equal(
    crypto.verify(null, data, ec.publicKey, crypto.sign("sha256", new Uint8Array(3), ec.privateKey)),
    false,
  );
});

Deno.test("crypto.verify() with the shim leaves Ed25519 alone", () => {
  const ed = crypto.generateKeyPairSync("ed25519");
  assert.equal(crypto.verify(null, data, ed.publicKey, crypto.sign(null, data, ed.privateKey)), true);
});

Deno.test("verifyCandidate() needs the shim: Rekor SET checks fail under raw Deno crypto", async () => {
  const pki = await createTestPki();
  const digest = await sha256Digest(new TextEncoder().encode("image"));
  const policy = { identity: "https://example.com/id", issuer: "https://issuer.example.com" };
  const layer = await legacySignatureLayer("r", digest, await pki.keyless(policy));
  const candidate = await legacyCandidate(digest, layer);
  const trust = { trustedRoot: pki.trustedRoot };
  uninstallCryptoCompat();
  try {
    assert.throws(
      () => verifyCandidate(candidate, policy, trust),
      (err) => isDropzoneError(err, "SIGNATURE_INVALID") && /TLOG_INCLUSION_PROMISE_ERROR/.test(err.message),
    );
  } finally {
    installCryptoCompat();
  }
  assert.equal(verifyCandidate(candidate, policy, trust).result.identity, policy.identity);
});
