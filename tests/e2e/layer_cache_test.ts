/**
 * Reuse of layer snapshots across the CLI: a second package sharing the base layer, an update that changes one
 * layer, a reinstall after `dz remove`, `dz run`, gc (with --dry-run) and `layer_cache: false`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runWrapper, startE2E } from "../support/e2e.ts";

async function snapshots(home: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(join(home, "cache", "layers")), (e) => e.name)).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

function currentRootfs(home: string, name: string): string {
  return join(home, "packages", name, "current", "rootfs");
}

Deno.test("layer snapshots are extracted once and shared: second package, update, reinstall, run, gc", async () => {
  await using env = await startE2E();
  await env.publish("one", "latest", "one\n");
  const two = await env.publish("two", "latest", "two\n");
  assert.equal((await env.dz(["install", "lab/one"])).code, 0);
  assert.equal((await snapshots(env.home)).length, 2);

  // A second package with the same base layer extracts only its own top layer.
  const second = await env.dz(["install", "lab/two"]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /Layers: +1 reused from the layer cache, 1 extracted/);
  assert.equal((await snapshots(env.home)).length, 3);
  const base = join(two.image.layers[0]!.digest.replace(":", "-"));
  const baseTree = join(env.home, "cache", "layers", base, "tree");
  const echo = "usr/bin/echo";
  const inodes = await Promise.all(
    [
      join(currentRootfs(env.home, "one"), echo),
      join(currentRootfs(env.home, "two"), echo),
      join(
        baseTree,
        echo,
      ),
    ].map(async (p) => (await Deno.lstat(p)).ino),
  );
  assert.equal(new Set(inodes).size, 1, "one inode for the base layer's file");
  const info = await env.dz(["info", "two"]);
  assert.match(info.stdout, /Disk: +\S+ \S+ own, \S+ \S+ shared/);

  // An update that changes the top layer extracts only that layer.
  await env.publish("one", "latest", "one v2\n");
  const update = await env.dz(["update", "one", "--yes"]);
  assert.equal(update.code, 0, update.stderr);
  assert.match(update.stderr, /1 reused from the layer cache, 1 extracted/);
  assert.equal((await runWrapper(`${env.home}/bin/one`)).stdout, "one v2\n");

  // Reinstall after remove: everything comes from snapshots.
  assert.equal((await env.dz(["remove", "two", "--yes"])).code, 0);
  const again = await env.dz(["install", "lab/two"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /2 reused from the layer cache, 0 extracted/);
  assert.equal((await runWrapper(`${env.home}/bin/two`)).stdout, "two\n");

  // dz run of a new image reuses the base snapshot too.
  await env.publish("three", "latest", "three\n");
  // dz run execs the program with inherited stdio, so drive it through the real entry point.
  const { spawnDz } = await import("../support/cli_harness.ts");
  const run = await spawnDz(["run", "lab/three"], { home: env.home });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "three\n");
  const [runDir] = await Array.fromAsync(Deno.readDir(join(env.home, "cache", "run")), (e) => e.name);
  const runEcho = join(env.home, "cache", "run", runDir!, "current", "rootfs", echo);
  assert.equal((await Deno.lstat(runEcho)).ino, inodes[0], "dz run links the base snapshot too");

  // gc: the pruned-away v1 top layer and three's top layer are unreferenced; --dry-run removes nothing.
  const before = await snapshots(env.home);
  const dry = await env.dz(["gc", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(
    dry.stderr,
    /Would remove \d+ blob\(s\), freeing .*; would remove [1-9]\d* layer snapshot\(s\), freeing /,
  );
  assert.deepEqual(await snapshots(env.home), before);
  const gc = await env.dz(["gc"]);
  assert.match(gc.stderr, /Removed \d+ blob\(s\), freed .*; removed [1-9]\d* layer snapshot\(s\), freed /);
  assert.ok((await snapshots(env.home)).length < before.length);
  assert.equal((await runWrapper(`${env.home}/bin/one`)).stdout, "one v2\n");
  assert.equal((await runWrapper(`${env.home}/bin/two`)).stdout, "two\n");
  const doctor = await env.dz(["doctor", "--json"]);
  const findings = JSON.parse(doctor.stdout).findings.filter((f: { kind: string }) => f.kind !== "path");
  assert.deepEqual(findings.filter((f: { severity: string }) => f.severity === "error"), []);
});

Deno.test("layer_cache: false installs independent copies and keeps no snapshots", async () => {
  await using env = await startE2E();
  const config = join(env.home, "config", "config.yaml");
  await Deno.writeTextFile(config, (await Deno.readTextFile(config)) + "layer_cache: false\n");
  await env.publish("solo", "latest", "solo\n");
  const r = await env.dz(["install", "lab/solo"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/solo`)).stdout, "solo\n");
  assert.deepEqual(await snapshots(env.home), []);
  const rootfs = currentRootfs(env.home, "solo");
  assert.equal((await Deno.lstat(join(rootfs, "usr/bin/echo"))).nlink, 1);
  const versionDir = await Deno.realPath(join(env.home, "packages", "solo", "current"));
  const names = await Array.fromAsync(Deno.readDir(versionDir), (e) => e.name);
  assert.ok(!names.includes("layers"), `the private snapshots were deleted after composition: ${names}`);
  for (const name of ["image-config.json", "metadata.json", "rootfs"]) assert.ok(names.includes(name), name);
});

/** Every snapshot directory with its mtime: equal before and after means nothing was extracted or replaced. */
async function snapshotState(home: string): Promise<[string, number | null][]> {
  const dir = join(home, "cache", "layers");
  return await Promise.all(
    (await snapshots(home)).map(async (n) => [n, (await Deno.lstat(join(dir, n))).mtime?.getTime() ?? null]),
  );
}

Deno.test("dz export copies blobs and extracts nothing; installing the archive reuses the snapshots present", async () => {
  await using env = await startE2E();
  await env.publish("one", "latest", "one\n");
  const two = await env.publish("two", "latest", "two\n");
  assert.equal((await env.dz(["install", "lab/one"])).code, 0);
  const before = await snapshotState(env.home);
  const work = await Deno.makeTempDir({ prefix: "dz-export-snapshots-" });
  try {
    const archive = join(work, "two.tar");
    const exported = await env.dz(["export", "lab/two", "-o", archive]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual(await snapshotState(env.home), before, "export extracted nothing");
    const listing = new TextDecoder().decode(
      (await new Deno.Command("tar", { args: ["-tf", archive] }).output()).stdout,
    );
    for (const layer of two.image.layers) {
      assert.ok(
        listing.includes(`blobs/sha256/${layer.digest.slice(7)}`),
        "the layer blob is copied as it is",
      );
    }

    // The base layer's snapshot (from "one") is reused; only two's own layer is extracted.
    const installed = await env.dz(["install", archive]);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stderr, /Layers: +1 reused from the layer cache, 1 extracted/);
    assert.equal((await runWrapper(`${env.home}/bin/two`)).stdout, "two\n");
    const base = join(env.home, "cache", "layers", two.image.layers[0]!.digest.replace(":", "-"), "tree");
    assert.equal(
      (await Deno.lstat(join(currentRootfs(env.home, "two"), "usr/bin/echo"))).ino,
      (await Deno.lstat(join(base, "usr/bin/echo"))).ino,
      "the archive install links the shared snapshot",
    );

    // Installed again from the archive after remove: every layer comes from a snapshot.
    assert.equal((await env.dz(["remove", "two", "--yes"])).code, 0);
    const again = await env.dz(["install", archive]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Layers: +2 reused from the layer cache, 0 extracted/);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
