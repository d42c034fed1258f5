/** `dz lock`, `dz lock --check` and `dz install --locked` (src/cli/commands/lock.ts): end to end, and through the harness. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseLockfile } from "../../../src/app/lockfile.ts";
import { runDz } from "../../support/cli_harness.ts";
import { OCI_ARCH, runWrapper, startE2E } from "../../support/e2e.ts";
import { tempHome } from "../../support/temp_home.ts";
import { installVersion } from "../../support/store_fixtures.ts";

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

Deno.test("dz lock --check: exit 0 when nothing drifted, 1 with one line per difference on stdout, 2 for a bad file", async () => {
  await using home = await tempHome();
  const file = join(home.path, "dz.lock");
  const dz = (...argv: string[]) => runDz(argv, { home: home.path });

  const written = await dz("lock", file);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stderr, `Wrote ${file} with 0 package(s)\n`);
  assert.deepEqual(parseLockfile(await Deno.readTextFile(file), file), { version: 1, packages: [] });
  const clean = await dz("lock", file, "--check");
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stderr, `Installed packages match ${file}\n`);

  await installVersion(home.layout, "cat", "1");
  const drift = await dz("lock", file, "--check");
  assert.equal(drift.code, 1);
  assert.equal(drift.stdout, "cat: installed but not in the lockfile\n");
  assert.match(drift.stderr, /^1 difference\(s\) from .*; run "dz install --locked .*" or "dz lock"\n$/);

  const missing = await dz("lock", join(home.path, "nope.lock"), "--check");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: Cannot read lockfile .*nope\.lock\nhint: Create one with "dz lock"/);
  await Deno.writeTextFile(file, "version: 9\npackages: []\n");
  const bad = await dz("lock", file, "--check");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid lockfile .*: unsupported version 9\nhint: Regenerate it with "dz lock"/);
});

Deno.test("dz install --locked refuses a lockfile without a digest for this platform, before any download", async () => {
  await using home = await tempHome();
  const file = join(home.path, "dz.lock");
  const other = OCI_ARCH === "amd64" ? "linux/arm64" : "linux/amd64";
  await Deno.writeTextFile(
    file,
    `version: 1\npackages:\n  - name: jq\n    source: docker.io/chainguard/jq\n    platforms:\n` +
      `      ${other}: sha256:${"a".repeat(64)}\n`,
  );
  const fetched: string[] = [];
  const r = await runDz(["install", "--locked", file], {
    home: home.path,
    env: { DZ_NO_TUF: "1" },
    fetch: (input) => {
      fetched.push(String(input));
      return Promise.reject(new Error("no network"));
    },
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: .*dz\\.lock has no linux/${OCI_ARCH} digest for "jq"`));
  assert.deepEqual(fetched, []);
});
