/**
 * The shared core of layer application (src/unpack/engine.ts): the umask probe, the bounded write pipeline,
 * parent checks, replacing creates, deferred directory modes and the entry admission rules.
 */
import assert from "node:assert/strict";
import { type ErrorCode, isDropzoneError } from "../../src/errors.ts";
import {
  admitEntry,
  applyTreeEntry,
  createReplacing,
  createRootfsState,
  ensureParents,
  finalizeRootfs,
  newContext,
} from "../../src/unpack/engine.ts";
import { applyLayer } from "../../src/unpack/extract.ts";
import type { LayerOp } from "../../src/unpack/rules.ts";
import { buildTar, dir, file, hardlink, streamOf, withPax } from "../support/tar_writer.ts";
import { applyLayers, paths, readText, snapshot, tempDir } from "../support/unpack_fixtures.ts";

async function modeOf(path: string): Promise<number> {
  return ((await Deno.lstat(path)).mode ?? 0) & 0o7777;
}

// Runs in the child without --allow-sys, as the compiled binary does, so Deno.umask() is denied and the probe is
// what decides whether a chmod is needed. Modes must come out exact under umasks that do and do not match.
Deno.test("applyLayer() sets exact modes when the umask is only known from a probe file", async () => {
  for (const umask of ["022", "077", "000"]) {
    const dir = await Deno.makeTempDir();
    const script = `umask ${umask}; exec "$0" run --allow-read --allow-write --no-prompt "$1" "$2"`;
    const child = new URL("./_umask_child.ts", import.meta.url).pathname;
    const out = await new Deno.Command("sh", {
      args: ["-c", script, Deno.execPath(), child, dir],
      stderr: "piped",
    })
      .output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    for (const [name, mode] of [["a", 0o644], ["b", 0o755], ["c", 0o600], ["d", 0o640]] as const) {
      assert.equal(
        (await Deno.stat(`${dir}/rootfs/${name}`)).mode! & 0o777,
        mode,
        `${name} under umask ${umask}`,
      );
    }
    assert.deepEqual([...Deno.readDirSync(`${dir}/rootfs`)].map((e) => e.name).sort(), ["a", "b", "c", "d"]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyLayer() keeps directories writable until finalizeRootfs, across layers", async () => {
  await using tmp = await tempDir();
  const state = createRootfsState();
  await applyLayer(streamOf(buildTar([dir("ro/", 0o555), file("ro/a", "a")])), tmp.path, { state });
  assert.equal(await modeOf(`${tmp.path}/ro`), 0o700);
  await applyLayer(streamOf(buildTar([file("ro/b", "b"), file("ro/.wh.a")])), tmp.path, { state });
  await finalizeRootfs(tmp.path, state);
  assert.equal(await modeOf(`${tmp.path}/ro`), 0o555);
  assert.deepEqual(paths(await snapshot(tmp.path)), ["ro", "ro/b"]);
});

Deno.test("applyLayer() lets the last entry for a path win while earlier writes are still in flight", async () => {
  await using tmp = await tempDir();
  const many = Array.from({ length: 150 }, (_, i) => file(`d/f${i}`, `v${i}`));
  await applyLayers(tmp.path, [[
    dir("d/"),
    ...many,
    file("d/f1", "second"),
    file("x", "file first"),
    dir("x/"),
    file("x/in", "in"),
    file("y/deep/z", "z"),
    file("y", "file replaces dir"),
    file("h", "target"),
    hardlink("h2", "h"),
    file("d/f2", "third"),
    file("d/f2", "fourth"),
  ]]);
  assert.equal(await readText(`${tmp.path}/d/f1`), "second");
  assert.equal(await readText(`${tmp.path}/d/f2`), "fourth");
  assert.equal(await readText(`${tmp.path}/d/f149`), "v149");
  assert.equal(await readText(`${tmp.path}/x/in`), "in");
  assert.equal(await readText(`${tmp.path}/y`), "file replaces dir");
  assert.equal(await readText(`${tmp.path}/h2`), "target");
});

Deno.test("applyLayer() reports a failing in-flight write as IO and leaves no pending ops", {
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  await using tmp = await tempDir();
  // A name longer than NAME_MAX makes the write itself fail (ENAMETOOLONG), after the entry was queued.
  const tar = buildTar([
    dir("d/"),
    file("d/ok", "1"),
    withPax({ path: `d/${"n".repeat(300)}` }, file("p", "2")),
    file("d/later", "3"),
  ]);
  await assert.rejects(
    () => applyLayer(streamOf(tar), tmp.path),
    (err) => isDropzoneError(err, "IO") && err.message.includes("nnnn"),
  );
});

Deno.test("admitEntry() counts every entry and refuses NUL bytes, climbing names and too deep paths", async () => {
  await using tmp = await tempDir();
  const ctx = await newContext(tmp.path, { limits: { maxDepth: 3, maxEntries: 6 } });
  assert.deepEqual(admitEntry(ctx, "./a/b"), ["a", "b"]);
  assert.equal(admitEntry(ctx, "./"), undefined, "the root itself is skipped");
  const cases: [string, ErrorCode][] = [
    ["a\0b", "UNSAFE_LAYER"],
    ["../x", "UNSAFE_LAYER"],
    ["a/b/c/d", "LAYER_LIMIT"],
  ];
  for (const [name, code] of cases) {
    assert.throws(() => admitEntry(ctx, name), (err) => isDropzoneError(err, code), name);
  }
  assert.equal(ctx.state.entries, 5);
  admitEntry(ctx, "ok");
  assert.throws(() => admitEntry(ctx, "one-too-many"), (err) => isDropzoneError(err, "LAYER_LIMIT"));
});

Deno.test("ensureParents() creates missing directories and refuses a symlink or a file on the way", async () => {
  await using tmp = await tempDir();
  await Deno.mkdir(`${tmp.path}/real`);
  await Deno.symlink("/", `${tmp.path}/link`);
  await Deno.writeTextFile(`${tmp.path}/file`, "");
  const ctx = await newContext(tmp.path, {});
  assert.equal(await ensureParents(ctx, "n", ["new", "deep", "x"], 2, true), true);
  assert.ok((await Deno.lstat(`${tmp.path}/new/deep`)).isDirectory);
  assert.equal(
    await ensureParents(ctx, "n", ["absent", "x"], 1, false),
    false,
    "not created when asked not to",
  );
  assert.equal(await Deno.lstat(`${tmp.path}/absent`).then(() => true, () => false), false);
  for (const parent of ["link", "file"]) {
    await assert.rejects(
      () => ensureParents(ctx, `${parent}/x`, [parent, "x"], 1, true),
      (err) => isDropzoneError(err, "UNSAFE_LAYER") && err.message.includes(`"${parent}"`),
      parent,
    );
  }
  assert.equal(await ensureParents(ctx, "r", ["real", "x"], 1, false), true);
});

Deno.test("createReplacing() removes whatever is in the way (file, directory tree, symlink) and creates once more", async () => {
  await using tmp = await tempDir();
  const ctx = await newContext(tmp.path, {});
  await Deno.writeTextFile(`${tmp.path}/f`, "old");
  await Deno.mkdir(`${tmp.path}/d/sub`, { recursive: true });
  await Deno.symlink("/etc/passwd", `${tmp.path}/s`);
  for (const rel of ["f", "d", "s", "fresh"]) {
    await createReplacing(
      ctx,
      rel,
      () => Deno.writeTextFile(`${tmp.path}/${rel}`, "new", { createNew: true }),
    );
    assert.equal(await Deno.readTextFile(`${tmp.path}/${rel}`), "new", rel);
    assert.ok((await Deno.lstat(`${tmp.path}/${rel}`)).isFile, rel);
  }
});

Deno.test("applyTreeEntry() records directories, symlinks and hardlinks while recording, and refuses NUL targets", async () => {
  await using tmp = await tempDir();
  const record = { ops: [] as LayerOp[] };
  const ctx = await newContext(tmp.path, { record });
  await applyTreeEntry(ctx, "etc/", ["etc"], { type: "directory", mode: 0o750 });
  await applyTreeEntry(ctx, "etc/l", ["etc", "l"], { type: "symlink", target: "/usr/bin/x" });
  await applyTreeEntry(ctx, "h", ["h"], { type: "hardlink", target: "lower/file" });
  assert.deepEqual(record.ops, [["d", "etc", 0o750], ["s", "etc/l", "../usr/bin/x"], [
    "h",
    "h",
    "lower/file",
  ]]);
  assert.equal(await Deno.readLink(`${tmp.path}/etc/l`), "../usr/bin/x");
  await assert.rejects(
    () => applyTreeEntry(ctx, "bad", ["bad"], { type: "symlink", target: "a\0b" }),
    (err) => isDropzoneError(err, "UNSAFE_LAYER") && /NUL byte in its link target/.test(err.message),
  );
});

Deno.test("finalizeRootfs() applies directory modes deepest first and skips paths that are no longer directories", async () => {
  await using tmp = await tempDir();
  const state = createRootfsState();
  await Deno.mkdir(`${tmp.path}/a/b`, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${tmp.path}/gone`, "now a file");
  state.dirModes.set("a", 0o555);
  state.dirModes.set("a/b", 0o500);
  state.dirModes.set("gone", 0o555);
  const fileMode = await modeOf(`${tmp.path}/gone`);
  await finalizeRootfs(tmp.path, state);
  assert.equal(await modeOf(`${tmp.path}/a`), 0o555);
  assert.equal(await modeOf(`${tmp.path}/a/b`), 0o500);
  assert.equal(await modeOf(`${tmp.path}/gone`), fileMode, "a path that became a file keeps its mode");
  assert.equal(state.dirModes.size, 0);
  await Deno.chmod(`${tmp.path}/a/b`, 0o700);
  await Deno.chmod(`${tmp.path}/a`, 0o700);
});
