import assert from "node:assert/strict";
import { parseLockfile } from "../../../src/app/lockfile.ts";
import { OCI_ARCH, runWrapper, startE2E } from "../../support/e2e.ts";

Deno.test("dz lock records digests and signers; install --locked reproduces them; lock --check detects drift", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "1.0", "locked one\n");
  assert.equal((await env.dz(["install", "lab/cat:1.0"])).code, 0);
  const file = `${env.home}/../${env.home.split("/").pop()}-dz.lock`;
  const w = await env.dz(["lock", file]);
  assert.equal(w.code, 0, w.stderr);
  const lock = parseLockfile(await Deno.readTextFile(file), file);
  assert.equal(lock.packages.length, 1);
  const p = lock.packages[0]!;
  assert.equal(p.name, "cat");
  assert.equal(p.source, `${env.registry.host}/apps/cat`);
  assert.equal(p.index_digest, pub.indexDigest);
  assert.equal(p.platforms[`linux/${OCI_ARCH}`], pub.digest);
  assert.match(p.signer!.identity, /dz-test\/tools/);
  assert.equal((await env.dz(["lock", file, "--check"])).code, 0);

  // Another machine: a fresh home with the same registry config installs exactly the locked digest.
  assert.equal((await env.dz(["remove", "cat", "--yes"])).code, 0);
  const drift = await env.dz(["lock", file, "--check"]);
  assert.equal(drift.code, 1);
  assert.match(drift.stdout, /cat: locked but not installed/);
  // The tag moves on; --locked still installs the locked digest.
  await env.publish("cat", "1.0", "moved tag\n");
  const li = await env.dz(["install", "--locked", file]);
  assert.equal(li.code, 0, li.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "locked one\n");
  assert.equal((await env.dz(["lock", file, "--check"])).code, 0);

  // A lockfile naming a different signer is refused (exit 3) before anything is unpacked.
  await Deno.writeTextFile(file, (await Deno.readTextFile(file)).replace("dz-test/tools", "dz-test/other"));
  assert.equal((await env.dz(["remove", "cat", "--yes"])).code, 0);
  const refused = await env.dz(["install", "--locked", file]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /the lockfile says/);
  await Deno.remove(file);
});
