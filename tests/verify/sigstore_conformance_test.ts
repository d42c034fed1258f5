import assert from "node:assert/strict";
import { sha256Digest } from "../../src/oci/digest.ts";
import { createTestPki } from "../support/test_pki.ts";
import { dsseBundle, inTotoStatement, messageSignatureBundle } from "../support/cosign_signer.ts";

const SCRIPT = new URL("../../scripts/sigstore_conformance.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const ID = "https://github.com/acme/tools/.github/workflows/release.yaml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-env", "--config", CONFIG, SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("sigstore_conformance.ts verify-bundle exits 0 only for a bundle that verifies", async () => {
  const pki = await createTestPki();
  const dir = await Deno.makeTempDir();
  try {
    const artifact = new TextEncoder().encode("artifact bytes");
    await Deno.writeFile(`${dir}/artifact`, artifact);
    const digest = await sha256Digest(artifact);
    const signer = await pki.keyless({ identity: ID, issuer: ISS });
    const bundle = await dsseBundle(
      inTotoStatement("artifact", digest, "https://example.com/predicate", {}),
      signer,
    );
    await Deno.writeTextFile(`${dir}/bundle.json`, JSON.stringify(bundle));
    await Deno.writeTextFile(`${dir}/trusted_root.json`, pki.trustedRootText);
    const key = pki.keyPair();
    await Deno.writeTextFile(`${dir}/key.pub`, key.publicKeyPem);
    const keyBundle = await dsseBundle(inTotoStatement("artifact", digest, "https://example.com/p", {}), key);
    await Deno.writeTextFile(`${dir}/key-bundle.json`, JSON.stringify(keyBundle));
    const base = [
      "verify-bundle",
      "--bundle",
      `${dir}/bundle.json`,
      "--trusted-root",
      `${dir}/trusted_root.json`,
    ];
    const keyless = ["--certificate-identity", ID, "--certificate-oidc-issuer", ISS];

    const ok = await run([...base, ...keyless, `${dir}/artifact`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await run([...base, ...keyless, digest])).code, 0);
    const wrongId = await run([
      ...base,
      "--certificate-identity",
      `${ID}x`,
      "--certificate-oidc-issuer",
      ISS,
      digest,
    ]);
    assert.equal(wrongId.code, 1);
    assert.match(wrongId.stderr, /expected identity/);
    const otherDigest = await sha256Digest(new TextEncoder().encode("other"));
    assert.equal((await run([...base, ...keyless, otherDigest])).code, 1);
    // The public-good root does not trust the test CA.
    assert.equal(
      (await run(["verify-bundle", "--bundle", `${dir}/bundle.json`, ...keyless, digest])).code,
      1,
    );
    const keyed = await run([
      "verify-bundle",
      "--bundle",
      `${dir}/key-bundle.json`,
      "--key",
      `${dir}/key.pub`,
      "--trusted-root",
      `${dir}/trusted_root.json`,
      `${dir}/artifact`,
    ]);
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.equal((await run(["verify-bundle", "--bundle", `${dir}/bundle.json`])).code, 2);
    // Message-signature bundles (what sign-blob produces) verify against the file, not a bare digest.
    await Deno.writeTextFile(
      `${dir}/blob-bundle.json`,
      JSON.stringify(await messageSignatureBundle(artifact, signer)),
    );
    const blobArgs = [
      "verify-bundle",
      "--bundle",
      `${dir}/blob-bundle.json`,
      "--trusted-root",
      `${dir}/trusted_root.json`,
    ];
    const blob = await run([...blobArgs, ...keyless, `${dir}/artifact`]);
    assert.equal(blob.code, 0, blob.stderr);
    assert.equal((await run([...blobArgs, ...keyless, digest])).code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
