import assert from "node:assert/strict";
import { runWrapper, startE2E } from "../support/e2e.ts";

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string) => {
    for await (const e of Deno.readDir(d)) {
      out.push(prefix + e.name);
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${prefix}${e.name}/`);
    }
  };
  await walk(dir, "");
  return out.sort();
}

Deno.test("dz pin keeps a package out of update --all and --yes; update --check shows it; unpin lets it update", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "cat one\n");
  await env.publish("dog", "latest", "dog one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/dog"])).code, 0);

  const pinned = await env.dz(["pin", "cat"]);
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.match(pinned.stderr, /^Pinned cat at sha256:[0-9a-f]{12}/m);
  const pin = JSON.parse(await Deno.readTextFile(`${env.home}/packages/cat/pin.json`));
  assert.equal(pin.version, 1);
  assert.match(pin.digest, /^sha256:/);
  assert.match((await env.dz(["pin", "cat"])).stderr, /already pinned/);
  const notInstalled = await env.dz(["pin", "nosuch"]);
  assert.equal(notInstalled.code, 1);
  assert.match(notInstalled.stderr, /^error: "nosuch" is not installed/m);

  const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.deepEqual(list.map((p: { name: string; pinned: boolean }) => [p.name, p.pinned]), [
    ["cat", true],
    ["dog", false],
  ]);
  assert.match((await env.dz(["list"])).stdout, /^cat\s+latest \(pinned\)/m);

  await env.publish("cat", "latest", "cat two\n");
  await env.publish("dog", "latest", "dog two\n");
  const check = await env.dz(["update", "--check", "--json"]);
  assert.equal(check.code, 100, check.stderr);
  const rows = Object.fromEntries(JSON.parse(check.stdout).map((r: { name: string }) => [r.name, r]));
  assert.equal(rows.cat.pinned, true);
  assert.equal(rows.cat.rebuild, true);
  assert.equal(rows.dog.pinned, false);
  const table = await env.dz(["update", "--check"]);
  assert.match(table.stdout, /^cat\s.*pinned; same-tag rebuild$/m);

  const all = await env.dz(["update", "--all", "--yes"]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stderr, /Not updating pinned cat/);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "cat one\n");
  assert.equal((await runWrapper(`${env.home}/bin/dog`)).stdout, "dog two\n");

  // Only the pinned package has an update: --check exits 0 (nothing --all would apply), --yes says so.
  assert.equal((await env.dz(["update", "--check"])).code, 0);
  const onlyPinned = await env.dz(["update", "--yes"]);
  assert.equal(onlyPinned.code, 0, onlyPinned.stderr);
  assert.match(onlyPinned.stderr, /Everything that is not pinned is up to date/);
  const named = await env.dz(["update", "cat", "--yes"]);
  assert.equal(named.code, 1);
  assert.match(named.stderr, /^error: "cat" is pinned; dz does not update it\nhint: Run "dz unpin cat"/m);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "cat one\n");

  const unpinned = await env.dz(["unpin", "cat"]);
  assert.equal(unpinned.code, 0);
  assert.match((await env.dz(["unpin", "cat"])).stderr, /was not pinned/);
  assert.equal((await env.dz(["update", "cat", "--yes"])).code, 0);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "cat two\n");

  // Removing a package removes its pin: a reinstall starts unpinned.
  assert.equal((await env.dz(["pin", "dog"])).code, 0);
  assert.equal((await env.dz(["remove", "dog", "--yes"])).code, 0);
  assert.equal((await env.dz(["install", "lab/dog"])).code, 0);
  const relisted = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(relisted.find((p: { name: string }) => p.name === "dog").pinned, false);
});

Deno.test("--dry-run on update, remove, gc and purge says what would change, changes nothing, exits 0", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "cat one\n");
  await env.publish("tool", "1.0", "one oh\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/tool:1.0"])).code, 0);
  await env.publish("cat", "latest", "cat two\n");
  await env.publish("tool", "1.1", "one one\n");
  // Checks record what they read in the cache; packages, wrappers and config must not change.
  const state = async () => [
    ...(await tree(`${env.home}/packages`)),
    ...(await tree(`${env.home}/bin`)),
    await Deno.readTextFile(`${env.home}/config/config.yaml`),
  ];
  const before = await state();

  const upd = await env.dz(["update", "--all", "--dry-run"]);
  assert.equal(upd.code, 0, upd.stderr);
  assert.match(upd.stderr, /^Would update cat latest \(sha256:[0-9a-f]{12}\) -> latest \(rebuild sha256:/m);
  assert.match(upd.stderr, /^Would update tool 1\.0 \(sha256:[0-9a-f]{12}\) -> 1\.1$/m);
  assert.match(upd.stderr, /Dry run: 2 updates would be applied; nothing was changed/);
  const implicit = await env.dz(["update", "--dry-run"]);
  assert.equal(implicit.code, 0, implicit.stderr);
  assert.match(implicit.stderr, /Would not move tool to a newer tag/);
  assert.match(implicit.stderr, /1 update would be applied/);

  const rm = await env.dz(["remove", "cat", "--dry-run"]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(rm.stderr, /^Would remove cat \(sha256:[0-9a-f]{12}\), and the wrapper\(s\) .*\/bin\/cat$/m);
  assert.deepEqual(await state(), before);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "cat one\n");

  // A blob only the removed version used: gc --dry-run names it, a real gc then removes exactly that.
  await env.dz(["update", "cat", "--yes"]);
  await env.dz(["remove", "tool", "--yes"]);
  const beforeGc = await tree(env.home);
  const gcDry = await env.dz(["gc", "--dry-run", "--verbose"]);
  assert.equal(gcDry.code, 0, gcDry.stderr);
  const would = [...gcDry.stderr.matchAll(/^debug: would remove blob (sha256:[0-9a-f]{64})$/gm)].map((m) =>
    m[1]
  );
  assert.ok(would.length > 0, gcDry.stderr);
  assert.match(gcDry.stderr, /^Would remove \d+ blob\(s\), freeing /m);
  assert.deepEqual(await tree(env.home), beforeGc);
  const gc = await env.dz(["gc", "--verbose"]);
  const removed = [...gc.stderr.matchAll(/^debug: removed blob (sha256:[0-9a-f]{64})$/gm)].map((m) => m[1]);
  assert.deepEqual(removed.sort(), would.sort());

  const afterGc = await tree(env.home);
  const purge = await env.dz(["purge", "--dry-run"]);
  assert.equal(purge.code, 0, purge.stderr);
  assert.match(purge.stderr, /^Would delete .*: 1 package\(s\) \(cat\)/m);
  assert.match(purge.stderr, /Dry run: nothing was changed/);
  assert.deepEqual(await tree(env.home), afterGc);
});

Deno.test("dz update messages: registry down is not 'up to date'; counts are plural and complete", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "cat one\n");
  await env.publish("tool", "1.0", "one oh\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/tool:1.0"])).code, 0);
  await env.publish("cat", "latest", "cat two\n");
  await env.publish("tool", "1.1", "one one\n");

  // One rebuild and one newer tag: two updates, and the hint says how to apply each kind.
  const plain = await env.dz(["update"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(
    plain.stderr,
    /^2 updates available; apply with "dz update --yes" \(rebuilds\) or "dz update --all --yes"/m,
  );
  assert.doesNotMatch(plain.stderr, /update\(s\)/);

  await env.registry.stop();
  const down = await env.dz(["update", "--yes"], { DZ_HTTP_TIMEOUT_MS: "2000" });
  assert.equal(down.code, 1, down.stderr);
  assert.doesNotMatch(down.stderr, /up to date/);
  assert.match(down.stderr, /^warning: could not check cat, tool; nothing was updated/m);
});
