import assert from "node:assert/strict";
import { sha256Digest } from "../../src/oci/digest.ts";
import { verifyBundleCommand } from "../../scripts/sigstore_conformance.ts";
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
    // Message-signature bundles (what sign-blob produces) verify against the file, and against its digest
    // (pre-hashed), but not against another digest.
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
    const byDigest = await run([...blobArgs, ...keyless, digest]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.equal((await run([...blobArgs, ...keyless, otherDigest])).code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The sigstore-conformance `bundle-verify` cases (../shared/vectors, see its README), run as the suite's own
 * runner does: every case twice, with the artifact as a path and as `sha256:<hex>`; a case whose directory
 * ends in `_fail` must fail, every other must verify. In-process: the adapter's logic without its console I/O.
 */
const CONFORMANCE_DIRS = [
  Deno.env.get("DZ_CONFORMANCE_VECTORS"),
  // The project root's sibling (CI, /work/main), or the workspace's when the root is a worktree under wt/.
  `${Deno.cwd()}/../shared/vectors/sigstore-conformance/bundle-verify`,
  `${Deno.cwd()}/../../shared/vectors/sigstore-conformance/bundle-verify`,
].filter((d): d is string => d !== undefined);
const DEFAULT_IDENTITY = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/" +
  ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";
/** Cases dz is allowed to miss: "name [mode]" → reason. None today. */
const ACCEPTED_MISSES: Readonly<Record<string, string>> = {};

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("sigstore-conformance bundle-verify: every case passes as a path and as a digest (140/140)", async () => {
  let base: string | undefined;
  for (const dir of CONFORMANCE_DIRS) {
    if (await exists(`${dir}/a.txt`)) {
      base = dir;
      break;
    }
  }
  assert.ok(base, `conformance vectors not found in ${CONFORMANCE_DIRS.join(", ")}`);
  const cases = [...Deno.readDirSync(base)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  assert.equal(cases.length, 70, "the suite at a73de497 has 70 bundle-verify cases");
  const misses: string[] = [];
  let passed = 0;
  for (const name of cases) {
    const dir = `${base}/${name}`;
    const artifact = await exists(`${dir}/artifact`) ? `${dir}/artifact` : `${base}/a.txt`;
    const digest = await sha256Digest(await Deno.readFile(artifact));
    const material = await exists(`${dir}/key.pub`) ? ["--key", `${dir}/key.pub`] : [
      "--certificate-identity",
      await exists(`${dir}/identity`)
        ? (await Deno.readTextFile(`${dir}/identity`)).trim()
        : DEFAULT_IDENTITY,
      "--certificate-oidc-issuer",
      await exists(`${dir}/issuer`) ? (await Deno.readTextFile(`${dir}/issuer`)).trim() : DEFAULT_ISSUER,
    ];
    const root = await exists(`${dir}/trusted_root.json`)
      ? ["--trusted-root", `${dir}/trusted_root.json`]
      : [];
    for (const [mode, target] of [["path", artifact], ["digest", digest]] as const) {
      const args = ["verify-bundle", "--bundle", `${dir}/bundle.sigstore.json`, ...material, ...root, target];
      const { code, message } = await verifyBundleCommand(args);
      const shouldFail = name.endsWith("_fail");
      // 2 is a usage error: never an acceptable "failure" for a _fail case.
      const ok = shouldFail ? code === 1 : code === 0;
      const id = `${name} [${mode}]`;
      if (ok) passed++;
      else if (!(id in ACCEPTED_MISSES)) misses.push(`${id}: exit ${code}: ${message}`);
    }
  }
  assert.deepEqual(misses, [], `unexpected results:\n${misses.join("\n")}`);
  assert.equal(passed, 140 - Object.keys(ACCEPTED_MISSES).length);
});
