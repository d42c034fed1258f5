/**
 * Replaying a layer snapshot's recorded ops (src/unpack/compose.ts): each op kind on a rootfs holding lower
 * layers, the file hashes it carries over, and the same refusals as extraction. Snapshots here are written by
 * hand (a tree plus ops), so every op kind is exercised on its own.
 */
import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { applySnapshot, type KnownFiles, type SnapshotSource } from "../../src/unpack/compose.ts";
import type { LayerOp } from "../../src/unpack/rules.ts";
import { exists, readText, tempDir } from "../support/unpack_fixtures.ts";

const SHA_A = "a".repeat(64);

/** A snapshot tree under `dir`/tree with `files`, and the rootfs `dir`/root holding `lower`. */
async function setup(dir: string, files: Record<string, string>, lower: Record<string, string> = {}) {
  for (const [root, content] of [["tree", files], ["root", lower]] as const) {
    await Deno.mkdir(`${dir}/${root}`);
    for (const [rel, text] of Object.entries(content)) {
      await Deno.mkdir(`${dir}/${root}/${rel.split("/").slice(0, -1).join("/")}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${root}/${rel}`, text);
    }
  }
  return { tree: `${dir}/tree`, root: `${dir}/root` };
}

async function ino(path: string): Promise<number | null> {
  return (await Deno.lstat(path)).ino;
}

Deno.test("applySnapshot() links files, replays directories, symlinks, removals, whiteouts and lower hardlinks", async () => {
  await using tmp = await tempDir();
  const { tree, root } = await setup(tmp.path, { "bin/tool": "new tool" }, {
    "etc/old": "old",
    "etc/hidden": "h",
    "lib/base.so": "base",
  });
  const ops: LayerOp[] = [
    ["d", "bin", 0o755],
    ["f", "bin/tool", 8, SHA_A],
    ["x", "etc/old"],
    ["w", "etc/.wh.hidden"],
    ["s", "bin/alias", "tool"],
    ["h", "lib/again.so", "lib/base.so"],
  ];
  await applySnapshot({ tree, ops }, root);
  assert.equal(await ino(`${root}/bin/tool`), await ino(`${tree}/bin/tool`), "linked, not copied");
  assert.equal(await exists(`${root}/etc/old`), false, "x removes what a lower layer had there");
  assert.equal(await exists(`${root}/etc/hidden`), false, "the whiteout hides the lower file");
  assert.equal(await Deno.readLink(`${root}/bin/alias`), "tool");
  assert.equal(await ino(`${root}/lib/again.so`), await ino(`${root}/lib/base.so`));
  assert.equal(await readText(`${tree}/bin/tool`), "new tool", "the snapshot is untouched");
});

Deno.test("applySnapshot() keeps the recorded sha256 per path: f sets it, h copies it, any other op forgets it", async () => {
  await using tmp = await tempDir();
  const { tree, root } = await setup(tmp.path, { a: "A", b: "B" });
  const known: KnownFiles = new Map([["stale", { sha256: "f".repeat(64) }]]);
  const cases: [LayerOp[], Record<string, string | undefined>][] = [
    [[["f", "a", 1, SHA_A], ["f", "b", 1]], { a: SHA_A, b: undefined }],
    [[["h", "c", "a"]], { c: SHA_A }],
    [[["x", "a"]], { a: undefined, c: SHA_A }],
    [[["s", "c", "b"], ["d", "stale", 0o755]], { c: undefined, stale: undefined }],
  ];
  for (const [ops, want] of cases) {
    await applySnapshot({ tree, ops } satisfies SnapshotSource, root, { known });
    for (const [path, sha] of Object.entries(want)) {
      assert.equal(known.get(path)?.sha256, sha, `${JSON.stringify(ops)}: ${path}`);
    }
  }
});

Deno.test("applySnapshot() passes on a file's recorded size and mode only from an op that recorded its mode", async () => {
  await using tmp = await tempDir();
  const { tree, root } = await setup(tmp.path, { a: "A", b: "B" });
  const known: KnownFiles = new Map();
  // "b" as an older dz recorded it, and as an in-layer hardlink is recorded (size 0, no mode): both unknown.
  await applySnapshot({ tree, ops: [["f", "a", 1, SHA_A, 0o640], ["f", "b", 0, SHA_A]] }, root, { known });
  assert.deepEqual(known.get("a"), { sha256: SHA_A, size: 1, mode: 0o640 });
  assert.deepEqual(known.get("b"), { sha256: SHA_A });
  await applySnapshot({ tree, ops: [["h", "c", "a"]] }, root, { known });
  assert.deepEqual(
    known.get("c"),
    { sha256: SHA_A, size: 1, mode: 0o640 },
    "a lower-layer hardlink is the same file",
  );
});

Deno.test("applySnapshot() refuses ops that climb out or pass through a lower symlink, writing nothing outside", async () => {
  const cases: [string, LayerOp][] = [
    ["a climbing file", ["f", "../escape", 1]],
    ["a file through a lower symlink", ["f", "up/escape", 1]],
    ["a whiteout through a lower symlink", ["w", "up/.wh.keep"]],
    ["a hardlink to a missing lower file", ["h", "h", "not/there"]],
    ["a hardlink through a lower symlink", ["h", "h", "up/keep"]],
  ];
  for (const [what, op] of cases) {
    await using tmp = await tempDir();
    const { tree, root } = await setup(tmp.path, { escape: "x" });
    await Deno.writeTextFile(`${tmp.path}/keep`, "sentinel");
    await Deno.symlink("..", `${root}/up`);
    await assert.rejects(
      () => applySnapshot({ tree, ops: [op] }, root, { label: "L" }),
      (err) => isDropzoneError(err, "UNSAFE_LAYER") && /layer L: entry "/.test(err.message),
      what,
    );
    assert.equal(await exists(`${tmp.path}/escape`), false, what);
    assert.equal(await readText(`${tmp.path}/keep`), "sentinel", what);
  }
});

Deno.test("applySnapshot() reports a missing snapshot file as IO naming the entry, and stops when aborted", async () => {
  await using tmp = await tempDir();
  const { tree, root } = await setup(tmp.path, {});
  await assert.rejects(
    () => applySnapshot({ tree, ops: [["f", "gone", 1]] }, root),
    (err) => isDropzoneError(err, "IO") && err.message.includes('entry "gone"'),
  );
  const many: LayerOp[] = Array.from({ length: 600 }, (_, i) => ["d", `d${i}`, 0o755]);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    () => applySnapshot({ tree, ops: many }, root, { signal: controller.signal }),
    (err) => err instanceof DOMException && err.name === "AbortError",
  );
  assert.ok((await Array.fromAsync(Deno.readDir(root))).length < many.length, "stopped before the end");
});
