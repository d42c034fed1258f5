/**
 * Interrupting dz (issue 11 items 2 and 14): SIGINT or SIGTERM at any phase of install (resolve, verify, download,
 * unpack, commit), update, run and export stops the real dz within 2 s with exit 130 and one line on stderr, and
 * leaves no staging dir, no partial blob and, for a first install, no package dir; a second signal never skips
 * that cleanup.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnUntil } from "../support/dz_child.ts";
import { type E2E, type Published, runWrapper, startE2E } from "../support/e2e.ts";
import type { TarEntry } from "../support/image_builder.ts";

/** Enough small files in the top layer that its unpack is still running when the signal arrives. */
const MANY: TarEntry[] = [
  { type: "dir", path: "many" },
  ...Array.from(
    { length: 3000 },
    (_, i): TarEntry => ({ type: "file", path: `many/f${i}`, content: `${i}\n` }),
  ),
];

/** Every in-flight name (`.staging-*`, `.tmp-*`, `.trash-*`) below `dir`. */
async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      if (/^\.(staging|tmp|trash)-/.test(e.name)) found.push(path);
      else if (e.isDirectory && e.name !== "rootfs") await walk(path);
    }
  };
  await walk(dir);
  return found;
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

/** Signals the stopped child (twice with `twice`) and returns its exit code, stderr and how long it took. */
async function interrupt(
  env: E2E,
  argv: string[],
  step: string,
  signal: Deno.Signal,
  extra: Record<string, string> = {},
  twice = false,
): Promise<{ code: number; stderr: string; ms: number }> {
  const { child, stderr, rest } = await spawnUntil(env.home, argv, step, extra);
  const start = performance.now();
  child.kill(signal);
  if (twice) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  }
  const status = await child.status;
  const ms = performance.now() - start;
  await rest;
  return { code: status.code, stderr: stderr(), ms };
}

function assertInterrupted(
  r: { code: number; stderr: string; ms: number },
  what: string,
  signal: Deno.Signal,
) {
  assert.equal(r.code, 130, `${what}: exit code\n${r.stderr}`);
  assert.ok(r.ms < 2000, `${what}: stopped after ${Math.round(r.ms)} ms`);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, `${what}: one line\n${r.stderr}`);
  assert.match(errors[0]!, signal === "SIGTERM" ? /^error: terminated/ : /^error: interrupted/, what);
}

/** The phases of a first install and how the child is held in each. */
function phases(pub: Published): { phase: string; step: string; extra: Record<string, string> }[] {
  return [
    { phase: "resolve", step: "resolve", extra: { DZ_HANG_URL: "/manifests/latest$" } },
    { phase: "verify", step: "verify", extra: { DZ_HANG_URL: "\\.sig$" } },
    { phase: "download", step: "download-sigint", extra: { DZ_CRASH_BLOB: pub.image.layers[0]!.digest } },
    { phase: "unpack", step: "unpack-slow", extra: {} },
    { phase: "commit", step: "commit:before-rename", extra: {} },
  ];
}

Deno.test("SIGINT and SIGTERM stop a first install in every phase within 2 s, exit 130, and leave nothing", async () => {
  await using env = await startE2E();
  const pub = await env.publish("many", "latest", "many\n", { extraEntries: MANY });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const { phase, step, extra } of phases(pub)) {
      const what = `${signal} during ${phase}`;
      // An empty blob cache, so every phase really runs (download needs the layer to be fetched).
      await Deno.remove(join(env.home, "cache"), { recursive: true }).catch(() => {});
      const r = await interrupt(env, ["install", "lab/many"], step, signal, extra);
      assertInterrupted(r, what, signal);
      assert.deepEqual(await leftovers(env.home), [], `${what}: leftovers`);
      assert.ok(!(await exists(join(env.home, "packages", "many"))), `${what}: no packages/many`);
      assert.ok(!(await exists(join(env.home, "bin", "many"))), `${what}: no wrapper`);
    }
  }
  // Nothing was left that blocks the next install.
  const again = await env.dz(["install", "lab/many"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/many`)).stdout, "many\n");
});

Deno.test("a second signal does not skip the cleanup of the first", async () => {
  await using env = await startE2E();
  await env.publish("many", "latest", "many\n", { extraEntries: MANY });
  for (const step of ["unpack-slow", "commit:before-rename"]) {
    const r = await interrupt(env, ["install", "lab/many"], step, "SIGINT", {}, true);
    assertInterrupted(r, `two SIGINTs at ${step}`, "SIGINT");
    assert.deepEqual(await leftovers(env.home), [], step);
    assert.ok(!(await exists(join(env.home, "packages", "many"))), `${step}: no packages/many`);
  }
});

Deno.test("interrupted update, run and export stop within 2 s and clean up; the installed version keeps working", async () => {
  await using env = await startE2E();
  await env.publish("many", "latest", "old\n");
  assert.equal((await env.dz(["install", "lab/many"])).code, 0);
  const v2 = await env.publish("many", "latest", "new\n", { extraEntries: MANY });

  const update = await interrupt(env, ["update", "many", "--yes"], "unpack-slow", "SIGTERM");
  assertInterrupted(update, "update", "SIGTERM");
  assert.deepEqual(await leftovers(env.home), [], "update: leftovers");
  assert.equal((await runWrapper(`${env.home}/bin/many`)).stdout, "old\n", "update: the old version runs");

  const run = await interrupt(env, ["run", "lab/many"], "unpack-slow", "SIGINT");
  assertInterrupted(run, "run", "SIGINT");
  assert.deepEqual(await leftovers(env.home), [], "run: leftovers");

  await Deno.remove(join(env.home, "cache"), { recursive: true });
  const out = await Deno.makeTempDir({ prefix: "dz-export-" });
  try {
    const exported = await interrupt(
      env,
      ["export", "lab/many", "-o", `${out}/many.tar`],
      "download-sigint",
      "SIGINT",
      {
        DZ_CRASH_BLOB: v2.image.layers[1]!.digest,
      },
    );
    assertInterrupted(exported, "export", "SIGINT");
    assert.deepEqual(await leftovers(env.home), [], "export: leftovers in the home");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), [], "export: no archive, no temp file");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
