import assert from "node:assert/strict";
import { applyLayer, createRootfsState, finalizeRootfs } from "../../src/unpack/extract.ts";
import { removeTree } from "../../src/fs.ts";
import { isDropzoneError } from "../../src/errors.ts";
import {
  buildTar,
  dir,
  file,
  hardlink,
  type RawEntry,
  streamOf,
  symlink,
  withGnuLongNames,
  withPax,
} from "../support/tar_writer.ts";
import { applyLayers, exists, paths, readText, snapshot, tempDir } from "../support/unpack_fixtures.ts";

async function modeOf(path: string): Promise<number> {
  return ((await Deno.lstat(path)).mode ?? 0) & 0o7777;
}

Deno.test("applyLayer() writes files, directories and symlinks with their contents", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [[
    dir("usr/"),
    dir("usr/bin/"),
    file("usr/bin/tool", "#!/bin/sh\n", 0o755),
    symlink("usr/bin/t", "tool"),
    file("/etc/hostname", "abs\n"),
    file("./etc/issue", "dot\n"),
  ]]);
  assert.equal(await readText(`${tmp.path}/usr/bin/tool`), "#!/bin/sh\n");
  assert.equal(await modeOf(`${tmp.path}/usr/bin/tool`), 0o755);
  assert.equal(await Deno.readLink(`${tmp.path}/usr/bin/t`), "tool");
  assert.equal(await readText(`${tmp.path}/etc/hostname`), "abs\n");
  assert.equal(await readText(`${tmp.path}/etc/issue`), "dot\n");
});

Deno.test("applyLayer() streams files larger than the buffering threshold", async () => {
  await using tmp = await tempDir();
  const big = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  await applyLayers(tmp.path, [[file("big.bin", big, 0o640)]], { chunkSize: 100_000 });
  assert.deepEqual(await Deno.readFile(`${tmp.path}/big.bin`), big);
  assert.equal(await modeOf(`${tmp.path}/big.bin`), 0o640);
});

Deno.test("applyLayer() materialises PAX and GNU long names", async () => {
  await using tmp = await tempDir();
  const long = `${"a".repeat(100)}/${"b".repeat(100)}/${"c".repeat(90)}`;
  await applyLayers(tmp.path, [[
    withPax({ path: `${long}/pax` }, file("ignored", "pax")),
    withGnuLongNames(file(`${long}/gnu`, "gnu")),
    withPax({ linkpath: `/${long}/pax` }, symlink("link-to-pax", "ignored")),
  ]]);
  assert.equal(await readText(`${tmp.path}/${long}/pax`), "pax");
  assert.equal(await readText(`${tmp.path}/${long}/gnu`), "gnu");
  assert.equal(await Deno.readLink(`${tmp.path}/link-to-pax`), `${long}/pax`);
  assert.equal(await exists(`${tmp.path}/ignored`), false);
});

Deno.test("applyLayer() deletes lower entries named by whiteouts and never materialises whiteout files", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [
    [
      dir("etc/"),
      file("etc/a", "a"),
      file("etc/b", "b"),
      dir("var/"),
      dir("var/cache/"),
      file("var/cache/x", "x"),
    ],
    [file("etc/.wh.a"), file("var/.wh.cache"), file("etc/.wh.missing"), file("nodir/.wh.x")],
  ]);
  assert.deepEqual(paths(await snapshot(tmp.path)), ["etc", "etc/b", "var"]);
});

Deno.test("applyLayer() recreates a path in a later layer after a whiteout removed it", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [
    [dir("d/"), file("d/old", "old")],
    [file(".wh.d")],
    [dir("d/", 0o750), file("d/new", "new")],
  ]);
  assert.deepEqual(paths(await snapshot(tmp.path)), ["d", "d/new"]);
  assert.equal(await modeOf(`${tmp.path}/d`), 0o750);
});

Deno.test("applyLayer() keeps what the same layer wrote when it also carries a whiteout for it", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [[file("x", "lower")], [file("x", "upper"), file(".wh.x")]]);
  assert.equal(await readText(`${tmp.path}/x`), "upper");
});

Deno.test("applyLayer() opaque marker removes lower children but keeps same-layer siblings written before it", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [
    [
      dir("opt/"),
      file("opt/lower", "l"),
      dir("opt/sub/"),
      file("opt/sub/lower", "l"),
      file("opt/sub/keep", "l"),
    ],
    [
      dir("opt/"),
      file("opt/new", "n"),
      dir("opt/sub/"),
      file("opt/sub/keep", "upper"),
      file("opt/.wh..wh..opq"),
      file("opt/after", "a"),
    ],
  ]);
  assert.deepEqual(paths(await snapshot(tmp.path)), [
    "opt",
    "opt/after",
    "opt/new",
    "opt/sub",
    "opt/sub/keep",
  ]);
  assert.equal(await readText(`${tmp.path}/opt/sub/keep`), "upper");
});

Deno.test("applyLayer() opaque marker before siblings clears the lower directory, then writes the layer", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [
    [dir("d/"), file("d/a", "a"), dir("d/x/"), file("d/x/y", "y")],
    [dir("d/"), file("d/.wh..wh..opq"), file("d/b", "b")],
  ]);
  assert.deepEqual(paths(await snapshot(tmp.path)), ["d", "d/b"]);
});

Deno.test("applyLayer() keeps hardlinks as links, inside and across layers, and unlinks before rewriting", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [
    [dir("bin/"), file("bin/a", "one", 0o755), hardlink("bin/b", "bin/a"), hardlink("/bin/c", "/bin/a")],
    [hardlink("bin/d", "bin/a"), file("bin/a", "two", 0o755)],
  ]);
  const tree = await snapshot(tmp.path);
  const ino = (p: string) => tree.get(p)?.ino;
  assert.equal(ino("bin/b"), ino("bin/c"));
  assert.equal(ino("bin/b"), ino("bin/d"));
  assert.notEqual(ino("bin/a"), ino("bin/b"));
  assert.equal(await readText(`${tmp.path}/bin/b`), "one", "rewriting bin/a must not change its old links");
  assert.equal(await readText(`${tmp.path}/bin/a`), "two");
});

Deno.test("applyLayer() refuses a hardlink to a missing target", async () => {
  await using tmp = await tempDir();
  await assert.rejects(
    () => applyLayers(tmp.path, [[hardlink("b", "nope")]]),
    (err) => isDropzoneError(err, "UNSAFE_LAYER") && /b/.test(err.message),
  );
});

Deno.test("applyLayer() rewrites absolute symlinks to equivalent relative targets", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [[
    dir("usr/"),
    dir("usr/lib64/"),
    file("usr/lib64/ld.so", "ld"),
    symlink("lib64", "/usr/lib64"),
    dir("usr/bin/"),
    symlink("usr/bin/ld", "/usr/lib64/ld.so"),
    symlink("usr/bin/root", "/"),
    symlink("up", "../../../usr"),
  ]]);
  assert.equal(await Deno.readLink(`${tmp.path}/lib64`), "usr/lib64");
  assert.equal(await Deno.readLink(`${tmp.path}/usr/bin/ld`), "../lib64/ld.so");
  assert.equal(await Deno.readLink(`${tmp.path}/usr/bin/root`), "../..");
  assert.equal(await Deno.readLink(`${tmp.path}/up`), "usr");
  assert.equal(await readText(`${tmp.path}/lib64/ld.so`), "ld", "the link works inside the rootfs");
  assert.equal(await readText(`${tmp.path}/usr/bin/ld`), "ld");
});

Deno.test("applyLayer() drops setuid/setgid/sticky and handles 0000 files and 0555/0000 directories", async () => {
  await using tmp = await tempDir();
  const state = await applyLayers(tmp.path, [[
    file("su", "su", 0o4755),
    file("sg", "sg", 0o2711),
    dir("tmp/", 0o1777),
    file("shadow", "secret", 0o000),
    dir("ro/", 0o555),
    file("ro/f", "in ro", 0o444),
    dir("locked/", 0o000),
    dir("locked/inner/", 0o700),
    file("locked/inner/f", "deep", 0o600),
    file("odd", "odd", 0o666),
  ]]);
  assert.equal(await modeOf(`${tmp.path}/su`), 0o755);
  assert.equal(await modeOf(`${tmp.path}/sg`), 0o711);
  assert.equal(await modeOf(`${tmp.path}/tmp`), 0o777);
  assert.equal(await modeOf(`${tmp.path}/shadow`), 0o000);
  assert.equal(await modeOf(`${tmp.path}/odd`), 0o666, "umask does not apply");
  assert.equal(await modeOf(`${tmp.path}/ro`), 0o555);
  assert.equal(await modeOf(`${tmp.path}/locked`), 0o000);
  assert.equal(state.dirModes.size, 0, "finalize consumed the deferred modes");
  await Deno.chmod(`${tmp.path}/locked`, 0o700);
  assert.equal(await readText(`${tmp.path}/locked/inner/f`), "deep");
  assert.equal(await readText(`${tmp.path}/shadow`), "secret");
});

Deno.test("applyLayer() skips device nodes and FIFOs", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [[
    dir("dev/"),
    { name: "dev/null", type: "char" },
    { name: "dev/sda", type: "block" },
    { name: "dev/fifo", type: "fifo" },
    file("dev/real", "r"),
  ]]);
  assert.deepEqual(paths(await snapshot(tmp.path)), ["dev", "dev/real"]);
});

Deno.test("applyLayer() replaces an existing path of another type", async () => {
  await using tmp = await tempDir();
  await applyLayers(tmp.path, [
    [
      dir("a/"),
      file("a/child", "c"),
      file("b", "file"),
      symlink("c", "b"),
      dir("d/"),
      file("d/x", "x"),
      file("e", "e"),
    ],
    [
      file("a", "now a file"),
      dir("b/"),
      file("b/inner", "i"),
      file("c", "not a link"),
      symlink("d", "b"),
      dir("e/"),
    ],
  ]);
  const tree = await snapshot(tmp.path);
  assert.equal(tree.get("a")?.type, "file");
  assert.equal(tree.get("b")?.type, "dir");
  assert.equal(tree.get("c")?.type, "file");
  assert.equal(tree.get("d")?.type, "symlink");
  assert.equal(tree.get("e")?.type, "dir");
  assert.equal(await readText(`${tmp.path}/b/inner`), "i");
  assert.equal(tree.has("a/child"), false);
});

Deno.test("applyLayer() restores mtimes only when asked", async () => {
  await using tmp = await tempDir();
  const state = createRootfsState();
  const tar = buildTar([dir("d/"), { name: "d/f", body: "x", mtime: 1_000_000_000 }]);
  await applyLayer(streamOf(tar), tmp.path, { state, preserveMtime: true });
  await finalizeRootfs(tmp.path, state);
  assert.equal((await Deno.lstat(`${tmp.path}/d/f`)).mtime?.getTime(), 1_000_000_000_000);
  assert.equal((await Deno.lstat(`${tmp.path}/d`)).mtime?.getTime(), 1_700_000_000_000);
});

Deno.test("applyLayer() enforces entry, depth and byte limits with LAYER_LIMIT", async (t) => {
  const cases: Array<[string, RawEntry[], object]> = [
    ["entries", [file("a"), file("b"), file("c")], { maxEntries: 2 }],
    ["depth", [file("a/b/c/d/e")], { maxDepth: 4 }],
    ["bytes", [file("a", "12345"), file("b", "123456")], { maxBytes: 10 }],
  ];
  for (const [what, entries, limits] of cases) {
    await t.step(what, async () => {
      await using tmp = await tempDir();
      await assert.rejects(
        () => applyLayer(streamOf(buildTar(entries)), tmp.path, { limits }),
        (err) => isDropzoneError(err, "LAYER_LIMIT"),
      );
    });
  }
  await t.step("limits add up across layers sharing a state", async () => {
    await using tmp = await tempDir();
    const state = createRootfsState();
    const limits = { maxBytes: 8 };
    await applyLayer(streamOf(buildTar([file("a", "12345")])), tmp.path, { state, limits });
    await assert.rejects(
      () => applyLayer(streamOf(buildTar([file("b", "12345")])), tmp.path, { state, limits }),
      (err) => isDropzoneError(err, "LAYER_LIMIT"),
    );
  });
});

Deno.test("removeTree() deletes a finalized rootfs with 0555 and 0000 directories", async () => {
  const root = await Deno.makeTempDir({ prefix: "dz-unpack-test-" });
  await applyLayers(root, [[
    dir("ro/", 0o555),
    file("ro/f", "f", 0o000),
    dir("zero/", 0o000),
    dir("zero/in/"),
  ]]);
  await removeTree(root);
  assert.equal(await exists(root), false);
  await removeTree(root);
});
