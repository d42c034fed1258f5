/**
 * Hostile layers: every case must fail with UNSAFE_LAYER (or stay inside the rootfs), leave the sentinel
 * directory next to the rootfs untouched, and leave nothing behind once the caller removes the staging dir.
 */
import assert from "node:assert/strict";
import { applyLayer, createRootfsState } from "../../src/unpack/extract.ts";
import { removeTree } from "../../src/fs.ts";
import { isDropzoneError } from "../../src/errors.ts";
import {
  buildTar,
  dir,
  file,
  hardlink,
  paxGlobal,
  type RawEntry,
  streamOf,
  symlink,
  withGnuLongNames,
  withPax,
} from "../support/tar_writer.ts";
import { composeLayers, exists, type NodeInfo, snapshot, tempDir } from "../support/unpack_fixtures.ts";

type Layer = ReadonlyArray<RawEntry | RawEntry[]>;

interface Workspace {
  /** Parent of rootfs and sentinel: nothing else may appear here. */
  readonly base: string;
  readonly rootfs: string;
  readonly sentinel: string;
  /** Layer snapshot store for the composed mode (deep, so that a climbing entry would land in `base`). */
  readonly store: string;
}

/**
 * How layers are applied: straight from the tars, as dz installs (composed from layer snapshots), or composed
 * from snapshots extracted in a Worker (the Workers experiment must keep every guarantee).
 */
type Mode = "tar" | "composed" | "worker";
const MODES: readonly Mode[] = ["tar", "composed", "worker"];

async function workspace(base: string): Promise<Workspace> {
  // rootfs is nested so that "../../x" from inside it still lands in `base`, where we can see it.
  const rootfs = `${base}/stage/rootfs`;
  const sentinel = `${base}/sentinel`;
  await Deno.mkdir(rootfs, { recursive: true });
  await Deno.mkdir(`${base}/store/a/b/c`, { recursive: true });
  await Deno.mkdir(`${sentinel}/etc`, { recursive: true });
  await Deno.writeTextFile(`${sentinel}/keep`, "sentinel\n");
  await Deno.writeTextFile(`${sentinel}/etc/passwd`, "root:x:0:0\n");
  return { base, rootfs, sentinel, store: `${base}/store/a/b/c` };
}

async function outside(ws: Workspace): Promise<Map<string, NodeInfo>> {
  const all = await snapshot(ws.base);
  for (const key of [...all.keys()]) {
    // The rootfs, and complete snapshots (whose trees hold the layers' own files), may change; nothing else.
    if (key === "stage" || key.startsWith("stage/") || key.startsWith("store/a/b/c/sha256-")) all.delete(key);
  }
  return all;
}

/** Applies the layers as the installer would: on failure the staging dir is deleted. */
async function install(ws: Workspace, layers: readonly Layer[], mode: Mode): Promise<unknown> {
  const state = createRootfsState();
  try {
    if (mode !== "tar") {
      const worker = mode === "worker";
      await composeLayers(ws.rootfs, layers.map((l) => buildTar(l)), ws.store, { finalize: false, worker });
      return undefined;
    }
    for (const layer of layers) await applyLayer(streamOf(buildTar(layer)), ws.rootfs, { state });
    return undefined;
  } catch (err) {
    await removeTree(`${ws.base}/stage`);
    return err;
  }
}

const NAME_300 = `${"a".repeat(120)}/${"b".repeat(120)}/${"c".repeat(60)}`;

const REJECTED: Array<[string, Layer[]]> = [
  ["dot-dot file", [[file("../x", "owned")]]],
  ["dot-dot deep file", [[file("../../sentinel/keep", "owned")]]],
  ["dot-dot after a real dir", [[dir("a/"), file("a/../../x", "owned")]]],
  ["absolute path climbing", [[file("/../x", "owned")]]],
  ["dot-dot directory", [[dir("../newdir/")]]],
  ["dot-dot symlink name", [[symlink("../link", "/etc")]]],
  ["symlink to / then a file through it", [[symlink("a", "/"), file("a/etc/passwd", "owned")]]],
  ["symlink to .. then a file through it", [[symlink("a", ".."), file("a/x", "owned")]]],
  ["symlink .. chain", [[
    dir("d/"),
    symlink("d/up", ".."),
    symlink("d/up2", "up/.."),
    file("d/up/up/up/x", "owned"),
  ]]],
  ["symlink in a lower layer, then a file through it", [[symlink("etc", "/")], [
    file("etc/passwd", "owned"),
  ]]],
  ["symlink in a lower layer, then a directory through it", [[symlink("lib", "..")], [dir("lib/evil/")]]],
  ["symlink in a lower layer, then a symlink through it", [[symlink("lib", "..")], [
    symlink("lib/evil", "/"),
  ]]],
  ["hardlink to ../../outside", [[hardlink("h", "../../sentinel/keep")]]],
  ["hardlink to an absolute path above the root", [[hardlink("h", "/../../sentinel/keep")]]],
  ["hardlink through a symlinked directory", [[symlink("s", "/"), hardlink("h", "s/keep")]]],
  ["hardlink through a symlink from a lower layer", [[symlink("s", "..")], [hardlink("h", "s/etc/passwd")]]],
  ["hardlink to a symlink that escapes from the new place", [[
    dir("a/"),
    dir("a/b/"),
    symlink("a/b/l", "../../x"),
    hardlink("h", "a/b/l"),
  ]]],
  ["PAX path override ../x", [[withPax({ path: "../x" }, file("innocent", "owned"))]]],
  ["PAX path override deep", [[withPax({ path: `${NAME_300}/../../../../x` }, file("innocent", "owned"))]]],
  ["PAX linkpath override for a hardlink", [[
    file("t", "t"),
    withPax({ linkpath: "../../sentinel/keep" }, hardlink("h", "t")),
  ]]],
  ["PAX global path override", [[paxGlobal({ path: "../global" }), file("innocent", "owned")]]],
  ["GNU long name climbing", [[withGnuLongNames(file(`../${"x".repeat(150)}`, "owned"))]]],
  ["whiteout through a symlink", [[symlink("s", "..")], [file("s/.wh.keep")]]],
  ["opaque marker through a symlink", [[symlink("s", "/")], [file("s/.wh..wh..opq")]]],
  ["whiteout climbing", [[file("../.wh.keep")]]],
  ["NUL in a PAX path", [[withPax({ path: "a\0b" }, file("x", "owned"))]]],
];

Deno.test("applyLayer() rejects hostile layers with UNSAFE_LAYER and writes nothing outside the rootfs", async (t) => {
  for (const [name, layers, mode] of REJECTED.flatMap(([n, l]) => MODES.map((m) => [n, l, m] as const))) {
    await t.step(`${name} (${mode})`, async () => {
      await using tmp = await tempDir();
      const ws = await workspace(tmp.path);
      const before = await outside(ws);
      const err = await install(ws, layers, mode);
      assert.ok(isDropzoneError(err, "UNSAFE_LAYER"), `expected UNSAFE_LAYER, got ${err}`);
      assert.match((err as Error).message, /entry "/, "the error names the entry");
      assert.deepEqual(await outside(ws), before);
      assert.equal(await exists(`${ws.base}/stage`), false, "the caller removed the staging dir");
    });
  }
});

Deno.test("applyLayer() keeps absolute entry names inside the rootfs", async () => {
  for (const mode of MODES) {
    await using tmp = await tempDir();
    const ws = await workspace(tmp.path);
    const before = await outside(ws);
    assert.equal(await install(ws, [[file("/etc/x", "inside"), file("/keep", "inside")]], mode), undefined);
    assert.equal(await Deno.readTextFile(`${ws.rootfs}/etc/x`), "inside", mode);
    assert.deepEqual(await outside(ws), before, mode);
  }
});

Deno.test("applyLayer() never follows a symlink that already sits in the rootfs", async (t) => {
  // A rootfs that (somehow) already holds links pointing at the host, e.g. from an older dz.
  const cases: Array<[string, Layer, boolean]> = [
    ["file through the link", [file("hostdir/keep", "owned")], true],
    ["whiteout through the link", [file("hostdir/.wh.keep")], true],
    ["opaque marker through the link", [file("hostdir/.wh..wh..opq")], true],
    ["hardlink through the link", [hardlink("h", "hostdir/keep")], true],
    ["directory through the link", [dir("hostdir/sub/")], true],
    ["file over the link replaces it", [file("hostfile", "replaced")], false],
    ["hardlink over the link replaces it", [file("t", "t"), hardlink("hostfile", "t")], false],
    ["whiteout of the link removes only the link", [file(".wh.hostdir")], false],
    ["directory over the link replaces it", [dir("hostdir/"), file("hostdir/keep", "inside")], false],
    ["symlink over the link replaces it", [symlink("hostdir", "/etc")], false],
  ];
  for (const [name, layer, rejected, mode] of cases.flatMap((c) => MODES.map((m) => [...c, m] as const))) {
    await t.step(`${name} (${mode})`, async () => {
      await using tmp = await tempDir();
      const ws = await workspace(tmp.path);
      await Deno.symlink(ws.sentinel, `${ws.rootfs}/hostdir`);
      await Deno.symlink(`${ws.sentinel}/keep`, `${ws.rootfs}/hostfile`);
      const before = await outside(ws);
      const err = await install(ws, [layer], mode);
      if (rejected) assert.ok(isDropzoneError(err, "UNSAFE_LAYER"), `expected UNSAFE_LAYER, got ${err}`);
      else assert.equal(err, undefined);
      assert.equal(await Deno.readTextFile(`${ws.sentinel}/keep`), "sentinel\n");
      assert.deepEqual(await outside(ws), before);
    });
  }
});
