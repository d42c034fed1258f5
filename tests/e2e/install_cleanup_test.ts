/** End to end: a refused or failed install leaves nothing on disk (issue 9 finding 14, issue 11 item 3). */
import assert from "node:assert/strict";
import { digestHex } from "../../src/oci/digest.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { ISSUER, labRegistryArgs, startE2E } from "../support/e2e.ts";

async function cached(home: string, digest: Digest): Promise<boolean> {
  try {
    return (await Deno.stat(`${home}/cache/blobs/sha256/${digestHex(digest)}`)).isFile;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("a refused install removes the layer blobs it downloaded, keeps those already cached (finding 14)", async () => {
  await using env = await startE2E();
  const one = await env.publish("cat", "1.0", "one\n");
  assert.equal((await env.dz(["install", "lab/cat:1.0"])).code, 0);
  const [base, oneOwn] = one.image.layers.map((l) => l.digest);
  assert.ok(await cached(env.home, base!) && await cached(env.home, oneOwn!));

  // Refused after verification, by the gate: too young, and a changed signer.
  const two = await env.publish("cat", "2.0", "two\n");
  const twoOwn = two.image.layers[1]!.digest;
  assert.equal(two.image.layers[0]!.digest, base, "the base layer is shared");
  const young = await env.dz(["install", "lab/cat:2.0", "--min-age", "3d"]);
  assert.equal(young.code, 1, young.stderr);
  assert.equal(await cached(env.home, twoOwn), false, "the refused version's own layer is gone");
  assert.ok(await cached(env.home, base!), "a layer the installed version uses stays");
  assert.ok(await cached(env.home, oneOwn!));

  const other = await env.pki.keyless({
    identity: "https://github.com/dz-test/tools/.github/workflows/release.yml@refs/heads/other",
    issuer: ISSUER,
  });
  // A regex policy both signers match, so only continuity refuses.
  assert.equal((await env.dz(["remove", "registry", "lab", "--force"])).code, 0);
  const add = await env.dz(labRegistryArgs(env, {
    identityRegex: "https://github\\.com/dz-test/tools/\\.github/workflows/release\\.yml@refs/heads/.+",
  }));
  assert.equal(add.code, 0, add.stderr);
  const three = await env.publish("cat", "3.0", "three\n", { signer: other });
  const changed = await env.dz(["install", "lab/cat:3.0"]);
  assert.equal(changed.code, 3, changed.stderr);
  assert.equal(await cached(env.home, three.image.layers[1]!.digest), false);

  // Refused by verification: no signature under a policy.
  const unsigned = await env.publish("cat", "4.0", "unsigned\n", { sign: "none" });
  const nosig = await env.dz(["install", "lab/cat:4.0"]);
  assert.equal(nosig.code, 3, nosig.stderr);
  assert.equal(await cached(env.home, unsigned.image.layers[1]!.digest), false);
  assert.ok(await cached(env.home, base!));
  const staging = [...Deno.readDirSync(`${env.home}/packages/cat`)].filter((e) => e.name.startsWith("."));
  assert.deepEqual(staging, []);
});

Deno.test("a failed first install (a layer that hashes wrong) leaves no packages/NAME directory (issue 11 item 3)", async () => {
  await using env = await startE2E();
  const pub = await env.publish("dog", "latest", "woof\n");
  const layer = pub.image.layers[1]!;
  const hex = digestHex(layer.digest);
  const data = `${env.registry.dir}/data/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  assert.ok(await exists(data), data);
  await Deno.writeFile(data, new Uint8Array(layer.bytes.length).fill(7));
  const r = await env.dz(["install", "lab/dog"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /content hashes to/);
  assert.equal(await exists(`${env.home}/packages/dog`), false);
  assert.deepEqual([...Deno.readDirSync(`${env.home}/bin`)], []);
  assert.equal(await cached(env.home, pub.image.layers[0]!.digest), false, "its other layer is gone too");
  const doctor = await env.dz(["doctor", "--json"]);
  const findings = JSON.parse(doctor.stdout).findings as { kind: string; subject: string }[];
  assert.deepEqual(findings.filter((f) => f.subject.includes("dog")), []);
});
