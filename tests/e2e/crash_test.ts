/**
 * Crash safety of install and update (issue 5 item 7): a dz child is SIGKILLed at many points, then the previous
 * version must still run (a first install must leave nothing half-visible), and repair (`dz doctor --fix`, or
 * `repairStore` while doctor is not built) plus the next install or update must finish the job. Ctrl-C during
 * an install must clean the staging dir at once and exit 130.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { repairStore, scanStore } from "../../src/store/recovery.ts";
import { storeLayout } from "../../src/store/layout.ts";
import { spawnUntil as spawnAt } from "../support/dz_child.ts";
import { type E2E, runWrapper, startE2E } from "../support/e2e.ts";

/** Steps before which nothing of the new version is visible (`current` still points at the old one). */
const BEFORE_FLIP = [
  "download",
  "unpack",
  "commit:before-metadata",
  "commit:before-rename",
  "commit:after-rename",
  "symlink:current",
];
/** Steps after `current` flipped and before the wrappers are written. */
const AFTER_FLIP = ["activate:after-flip", "write:history.json", "wrapper"];

/** Spawns dz in a child that stops at `step`; resolves once it is there, with the live process. */
function spawnUntil(env: E2E, argv: string[], step: string, extra: Record<string, string> = {}) {
  return spawnAt(env.home, argv, step, extra);
}

/** SIGKILLs dz at `step` of `argv`. */
async function killAt(env: E2E, argv: string[], step: string, extra: Record<string, string> = {}) {
  const { child, rest } = await spawnUntil(env, argv, step, extra);
  child.kill("SIGKILL");
  const status = await child.status;
  await rest;
  assert.equal(status.signal, "SIGKILL", `${step}: the child was killed`);
}

/** `dz doctor --fix`, or the store repair it runs while doctor is not built yet. */
async function repair(env: E2E): Promise<void> {
  const doctor = await env.dz(["doctor", "--fix"]);
  if (/not available in this build/.test(doctor.stderr)) {
    const layout = storeLayout(env.home);
    await repairStore(layout, await scanStore(layout));
  }
  const left = (await scanStore(storeLayout(env.home))).filter((f) => f.kind !== "unreferenced-blob");
  assert.deepEqual(left, [], "nothing left to repair");
}

async function stagingDirs(env: E2E, name: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(join(env.home, "packages", name))))
      .map((e) => e.name)
      .filter((n) => n.startsWith(".staging-"));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

async function listed(env: E2E): Promise<string[]> {
  const r = await env.dz(["list", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).map((p: { name: string }) => p.name);
}

Deno.test("crash during a first install: nothing half-visible before the flip; repair + reinstall complete it", async () => {
  await using env = await startE2E();
  const steps = [...BEFORE_FLIP, ...AFTER_FLIP];
  const pubs = [];
  for (let i = 0; i < steps.length; i++) pubs.push(await env.publish(`f${i}`, "latest", `first ${i}\n`));
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    // The first step runs with an empty blob cache, so the big base layer really is downloading.
    await killAt(env, ["install", `lab/f${i}`], step, { DZ_CRASH_BLOB: pubs[i]!.image.layers[0]!.digest });
    if (["unpack", "commit:before-metadata", "commit:before-rename"].includes(step)) {
      assert.equal(
        (await stagingDirs(env, `f${i}`)).length,
        1,
        `${step}: killed with a staging dir in flight`,
      );
    }
    if (BEFORE_FLIP.includes(step)) {
      await assert.rejects(() => Deno.lstat(`${env.home}/bin/f${i}`), Deno.errors.NotFound, step);
      assert.ok(!(await listed(env)).includes(`f${i}`), `${step}: not listed`);
    } else {
      // Committed and current; the wrapper is either not written yet or complete (written by rename).
      const exists = await Deno.lstat(`${env.home}/bin/f${i}`).then(() => true, () => false);
      if (exists) assert.equal((await runWrapper(`${env.home}/bin/f${i}`)).stdout, `first ${i}\n`, step);
    }
  }
  await repair(env);
  for (let i = 0; i < steps.length; i++) {
    const r = await env.dz(["install", `lab/f${i}`]);
    assert.equal(r.code, 0, `${steps[i]}: ${r.stderr}`);
    const run = await runWrapper(`${env.home}/bin/f${i}`);
    assert.equal(run.stdout, `first ${i}\n`, `${steps[i]}: wrapper after reinstall: ${run.stderr}`);
  }
  assert.deepEqual((await listed(env)).sort(), steps.map((_, i) => `f${i}`).sort());
});

Deno.test("crash during an update: the previous version keeps working; repair + update finish it", async () => {
  await using env = await startE2E();
  const steps = [...BEFORE_FLIP, ...AFTER_FLIP];
  const v2 = [];
  for (let i = 0; i < steps.length; i++) {
    await env.publish(`u${i}`, "latest", `old ${i}\n`);
    assert.equal((await env.dz(["install", `lab/u${i}`])).code, 0);
    v2.push(await env.publish(`u${i}`, "latest", `new ${i}\n`));
  }
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    // Only the small top layer differs between versions; the base layer is cached.
    await killAt(env, ["update", `u${i}`, "--yes"], step, { DZ_CRASH_BLOB: v2[i]!.image.layers[1]!.digest });
    if (["unpack", "commit:before-metadata", "commit:before-rename"].includes(step)) {
      assert.equal(
        (await stagingDirs(env, `u${i}`)).length,
        1,
        `${step}: killed with a staging dir in flight`,
      );
    }
    const run = await runWrapper(`${env.home}/bin/u${i}`);
    assert.equal(run.code, 0, `${step}: the wrapper still runs: ${run.stderr}`);
    if (BEFORE_FLIP.includes(step)) assert.equal(run.stdout, `old ${i}\n`, step);
    else assert.ok([`old ${i}\n`, `new ${i}\n`].includes(run.stdout), `${step}: ${run.stdout}`);
  }
  await repair(env);
  for (let i = 0; i < steps.length; i++) {
    const r = await env.dz(["update", `u${i}`, "--yes"]);
    assert.equal(r.code, 0, `${steps[i]}: ${r.stderr}`);
    const info = JSON.parse((await env.dz(["info", `u${i}`, "--json"])).stdout);
    assert.equal(info.digest, v2[i]!.digest, `${steps[i]}: updated`);
    const run = await runWrapper(`${env.home}/bin/u${i}`);
    assert.equal(run.stdout, `new ${i}\n`, `${steps[i]}: wrapper after update`);
  }
  const check = await env.dz(["update", "--check"]);
  assert.equal(check.code, 0, check.stdout);
});

Deno.test("Ctrl-C during an install cleans the staging dir at once and exits 130", async () => {
  await using env = await startE2E();
  const pub = await env.publish("slow", "latest", "slow\n");
  const { child, stderr, rest } = await spawnUntil(env, ["install", "lab/slow"], "download-sigint", {
    DZ_CRASH_BLOB: pub.image.layers[0]!.digest,
  });
  // Verification finishes while the layer hangs; unpacking then waits in a staging dir.
  const deadline = Date.now() + 30_000;
  while ((await stagingDirs(env, "slow")).length === 0) {
    assert.ok(Date.now() < deadline, "a staging dir appears");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGINT");
  const status = await child.status;
  await rest;
  assert.equal(status.code, 130, stderr());
  assert.match(stderr(), /interrupted/);
  assert.deepEqual(await stagingDirs(env, "slow"), []);
  await assert.rejects(() => Deno.lstat(`${env.home}/bin/slow`), Deno.errors.NotFound);
  const left = (await scanStore(storeLayout(env.home))).filter((f) => f.kind === "leftover");
  assert.deepEqual(left, []);
  assert.ok(!(await listed(env)).includes("slow"));
  const again = await env.dz(["install", "lab/slow"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/slow`)).stdout, "slow\n");
});

Deno.test("crash while extracting a layer snapshot or composing a rootfs from shared snapshots: the store stays consistent", async () => {
  await using env = await startE2E();
  await env.publish("keeper", "latest", "keeper\n");
  assert.equal((await env.dz(["install", "lab/keeper"])).code, 0);
  const layersDir = join(env.home, "cache", "layers");
  for (const [i, step] of ["snapshot:before-rename", "compose:layer"].entries()) {
    const name = `c${i}`;
    await env.publish(name, "latest", `${name}\n`);
    // The base layer's snapshot is shared with keeper; the top layer is new.
    await killAt(env, ["install", `lab/${name}`], step);
    assert.equal((await stagingDirs(env, name)).length, 1, `${step}: killed with a staging dir in flight`);
    assert.ok(!(await listed(env)).includes(name), `${step}: not listed`);
    assert.equal(
      (await runWrapper(`${env.home}/bin/keeper`)).stdout,
      "keeper\n",
      `${step}: keeper still runs`,
    );
    // Every complete-looking snapshot is complete; anything else is a leftover that repair removes.
    const findings = await scanStore(storeLayout(env.home));
    for (const f of findings) {
      if (f.kind === "leftover" && f.path.startsWith(layersDir)) {
        assert.match(f.path, /\/\.staging-/, `${step}: only staging dirs are left in the snapshot store`);
      }
    }
    await repair(env);
    const r = await env.dz(["install", `lab/${name}`]);
    assert.equal(r.code, 0, `${step}: ${r.stderr}`);
    assert.equal((await runWrapper(`${env.home}/bin/${name}`)).stdout, `${name}\n`, step);
  }
  assert.equal((await runWrapper(`${env.home}/bin/keeper`)).stdout, "keeper\n");
  const left = (await scanStore(storeLayout(env.home))).filter((f) => f.kind !== "unreferenced-blob");
  assert.deepEqual(left, []);
});
