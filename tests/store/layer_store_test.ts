/**
 * The layer snapshot store: layers extracted once and shared by hard links between package rootfs trees, with
 * whiteouts, opaque directories and cross-layer hardlinks applied exactly as from the tars, and never a write
 * through a shared inode.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { manifestOfTree } from "../../src/store/file_manifest.ts";
import { gcSnapshots, openLayerStore, treeUsage } from "../../src/store/layer_store.ts";
import { repairStore, scanStore } from "../../src/store/recovery.ts";
import type { KnownFiles } from "../../src/unpack/extract.ts";
import { buildTar, dir, file, hardlink, streamOf } from "../support/tar_writer.ts";
import { tempHome } from "../support/temp_home.ts";
import { applyLayers, composeLayers, readText, tarDigest, tempDir } from "../support/unpack_fixtures.ts";

async function ino(path: string): Promise<number | null> {
  return (await Deno.lstat(path)).ino;
}

async function present(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("a whiteout in layer 3 of a layer-1 file hides it in that package only; the shared snapshot and the other package keep it", async () => {
  await using tmp = await tempDir();
  const store = `${tmp.path}/layers`;
  const base = buildTar([dir("usr/"), file("usr/a", "A"), file("usr/b", "B")]);
  const middle = buildTar([file("x", "x")]);
  const top = buildTar([file("usr/.wh.a")]);
  await composeLayers(`${tmp.path}/p`, [base], store);
  await composeLayers(`${tmp.path}/q`, [base, middle, top], store);

  assert.equal(await present(`${tmp.path}/q/usr/a`), false, "whited out in q");
  assert.equal(await readText(`${tmp.path}/q/usr/b`), "B");
  assert.equal(await readText(`${tmp.path}/p/usr/a`), "A", "p keeps its file");
  const snapshot = (await openLayerStore(store).load(tarDigest(base)))!;
  assert.equal(await readText(`${snapshot.tree}/usr/a`), "A", "the snapshot keeps its file");
  // One extraction, one inode for every package.
  assert.equal((await openLayerStore(store).list()).length, 3);
  assert.equal(await ino(`${tmp.path}/q/usr/b`), await ino(`${snapshot.tree}/usr/b`));
  assert.equal(await ino(`${tmp.path}/p/usr/b`), await ino(`${snapshot.tree}/usr/b`));
});

Deno.test("an opaque directory over a shared layer empties it in the upper package only", async () => {
  await using tmp = await tempDir();
  const store = `${tmp.path}/layers`;
  const base = buildTar([dir("opt/"), file("opt/old", "o"), dir("opt/sub/"), file("opt/sub/deep", "d")]);
  const top = buildTar([dir("opt/"), file("opt/.wh..wh..opq"), file("opt/new", "n")]);
  await composeLayers(`${tmp.path}/p`, [base], store);
  await composeLayers(`${tmp.path}/q`, [base, top], store);

  assert.deepEqual(await Array.fromAsync(Deno.readDir(`${tmp.path}/q/opt`), (e) => e.name), ["new"]);
  assert.equal(await readText(`${tmp.path}/p/opt/old`), "o");
  assert.equal(await readText(`${tmp.path}/p/opt/sub/deep`), "d");
  const snapshot = (await openLayerStore(store).load(tarDigest(base)))!;
  assert.equal(await readText(`${snapshot.tree}/opt/sub/deep`), "d");
});

Deno.test("a hardlink in layer 2 to a file of layer 1 links the same inode, and a later rewrite breaks only the link", async () => {
  await using tmp = await tempDir();
  const store = `${tmp.path}/layers`;
  const base = buildTar([dir("bin/"), file("bin/tool", "T")]);
  const linked = buildTar([hardlink("bin/alias", "bin/tool")]);
  await composeLayers(`${tmp.path}/a`, [base, linked], store);
  const snapshot = (await openLayerStore(store).load(tarDigest(base)))!;
  assert.equal(await readText(`${tmp.path}/a/bin/alias`), "T");
  assert.equal(await ino(`${tmp.path}/a/bin/alias`), await ino(`${tmp.path}/a/bin/tool`));
  assert.equal(await ino(`${tmp.path}/a/bin/alias`), await ino(`${snapshot.tree}/bin/tool`));
  const upper = (await openLayerStore(store).load(tarDigest(linked)))!;
  assert.deepEqual(upper.ops, [["h", "bin/alias", "bin/tool"]], "recorded, resolved at composition");

  // Layer 2 links, then rewrites the target: the alias keeps layer 1's content, the snapshot is untouched.
  const rewrite = buildTar([hardlink("bin/alias", "bin/tool"), file("bin/tool", "T2")]);
  await composeLayers(`${tmp.path}/b`, [base, rewrite], store);
  assert.equal(await readText(`${tmp.path}/b/bin/alias`), "T");
  assert.equal(await readText(`${tmp.path}/b/bin/tool`), "T2");
  assert.equal(await readText(`${snapshot.tree}/bin/tool`), "T");
  // And the same as applying the tars (applyLayers also composes and compares both trees).
  await Deno.mkdir(`${tmp.path}/c`);
  await applyLayers(`${tmp.path}/c`, [[dir("bin/"), file("bin/tool", "T")], [
    hardlink("bin/alias", "bin/tool"),
    file("bin/tool", "T2"),
  ]]);
});

Deno.test("an upper layer that rewrites a lower file replaces the link: the snapshot's inode is never written", async () => {
  await using tmp = await tempDir();
  const store = `${tmp.path}/layers`;
  const base = buildTar([file("etc/conf", "one", 0o644), file("etc/keep", "k", 0o755)]);
  const top = buildTar([file("etc/conf", "two", 0o600)]);
  await composeLayers(`${tmp.path}/p`, [base], store);
  await composeLayers(`${tmp.path}/q`, [base, top], store);
  const snapshot = (await openLayerStore(store).load(tarDigest(base)))!;
  assert.equal(await readText(`${tmp.path}/q/etc/conf`), "two");
  assert.equal((await Deno.lstat(`${tmp.path}/q/etc/conf`)).mode! & 0o777, 0o600);
  for (const root of [`${tmp.path}/p`, snapshot.tree]) {
    assert.equal(await readText(`${root}/etc/conf`), "one");
    assert.equal((await Deno.lstat(`${root}/etc/conf`)).mode! & 0o777, 0o644);
  }
  assert.notEqual(await ino(`${tmp.path}/q/etc/conf`), await ino(`${snapshot.tree}/etc/conf`));
  // The snapshot tree is read-only: its directories are 0555.
  assert.equal((await Deno.lstat(`${snapshot.tree}/etc`)).mode! & 0o777, 0o555);
});

Deno.test("gcSnapshots() reports with dryRun, then removes unreferenced snapshots; composed trees keep their files", async () => {
  await using tmp = await tempDir();
  const store = openLayerStore(`${tmp.path}/layers`);
  const base = buildTar([file("big", "x".repeat(10_000))]);
  const top = buildTar([file("small", "y".repeat(100))]);
  await composeLayers(`${tmp.path}/q`, [base, top], store.dir);
  assert.deepEqual(await treeUsage(`${tmp.path}/q`), { own: 0, shared: 10_100 });

  const record = (await Deno.stat(`${(await store.load(tarDigest(top)))!.dir}/layer.json`)).size;
  const dry = await gcSnapshots(store, new Set([tarDigest(base)]), { dryRun: true });
  // Its only file is still linked from q: only the record would be freed.
  assert.deepEqual(dry, { removed: [tarDigest(top)], bytesFreed: record });
  assert.equal((await store.list()).length, 2, "dry run removes nothing");
  await Deno.remove(`${tmp.path}/q/small`);
  const after = await gcSnapshots(store, new Set([tarDigest(base)]), { dryRun: true });
  assert.equal(after.bytesFreed, record + 100);

  const all = await gcSnapshots(store, new Set());
  assert.equal(all.removed.length, 2);
  assert.deepEqual(await store.list(), []);
  assert.equal(await readText(`${tmp.path}/q/big`), "x".repeat(10_000));
  assert.deepEqual(await treeUsage(`${tmp.path}/q`), { own: 10_000, shared: 0 });
});

Deno.test("doctor's store scan finds snapshot leftovers and damaged snapshots; repair removes them and reuse re-extracts", async () => {
  await using home = await tempHome();
  const store = openLayerStore(home.layout.layers);
  const tar = buildTar([file("a", "a")]);
  const snap = await store.extract(tarDigest(tar), () => Promise.resolve(streamOf(tar)));
  await Deno.mkdir(join(home.layout.layers, ".staging-crashed/tree"), { recursive: true });
  await Deno.chmod(snap.dir, 0o755);
  await Deno.remove(join(snap.dir, "layer.json"));
  const findings = await scanStore(home.layout);
  assert.deepEqual(
    findings.map((f) => f.kind === "leftover" ? f.path : f.kind).sort(),
    [join(home.layout.layers, ".staging-crashed"), snap.dir].sort(),
  );
  await repairStore(home.layout, findings);
  assert.deepEqual(await scanStore(home.layout), []);
  assert.equal(await store.load(tarDigest(tar)), undefined);
  const again = await store.extract(tarDigest(tar), () => Promise.resolve(streamOf(tar)));
  assert.equal(await readText(`${again.tree}/a`), "a");
});

Deno.test("files.json from the hashes the snapshots recorded equals a full re-hash, across rewrites, whiteouts, opaque dirs and hardlinks", async () => {
  await using tmp = await tempDir();
  const store = `${tmp.path}/layers`;
  const layers = [
    buildTar([
      dir("usr/"),
      file("usr/a", "A"),
      file("usr/b", "B"),
      file("usr/b", "B2"),
      hardlink("usr/inner", "usr/a"),
      dir("opt/"),
      file("opt/old", "o"),
      file("secret", "s", 0o000),
    ]),
    buildTar([dir("usr/"), file("usr/.wh.a"), hardlink("usr/lower", "usr/b"), file("usr/a", "A-new")]),
    buildTar([
      dir("opt/"),
      file("opt/.wh..wh..opq"),
      file("opt/new", "n"),
      dir("usr/b/"),
      file("usr/c", "C"),
    ]),
  ];
  const known: KnownFiles = new Map();
  await composeLayers(`${tmp.path}/rootfs`, layers, store, { known });

  const full = await manifestOfTree(`${tmp.path}/rootfs`);
  assert.deepEqual(await manifestOfTree(`${tmp.path}/rootfs`, known), full);
  assert.deepEqual(full.map((f) => f.path), [
    "opt/new",
    "secret",
    "usr/a",
    "usr/c",
    "usr/inner",
    "usr/lower",
  ]);
  // Every file of this rootfs came from a recording snapshot: none had to be read again, and all but the in-layer
  // hardlink (recorded without a mode) needed no lstat either.
  for (const f of full) assert.equal(known.get(f.path)?.sha256, f.sha256, f.path);
  const statFree = full.filter((f) => known.get(f.path)?.mode !== undefined).map((f) => f.path);
  assert.deepEqual(statFree, ["opt/new", "secret", "usr/a", "usr/c", "usr/lower"]);
});

Deno.test("a snapshot records each file's sha256 and mode in layer.json; a malformed one marks it damaged", async () => {
  await using tmp = await tempDir();
  const store = openLayerStore(`${tmp.path}/layers`);
  const tar = buildTar([dir("bin/"), file("bin/tool", "T", 0o750), hardlink("bin/alias", "bin/tool")]);
  const snapshot = await store.extract(tarDigest(tar), () => Promise.resolve(streamOf(tar)));
  const sha = createHash("sha256").update("T").digest("hex");
  assert.deepEqual(snapshot.ops.filter((op) => op[0] === "f"), [["f", "bin/tool", 1, sha, 0o750], [
    "f",
    "bin/alias",
    0,
    sha,
  ]]);
  assert.deepEqual((await store.load(tarDigest(tar)))?.ops, snapshot.ops);

  const path = join(snapshot.dir, "layer.json");
  const original = await Deno.readTextFile(path);
  await Deno.chmod(snapshot.dir, 0o755);
  const damages: [string, (ops: unknown[][]) => void][] = [
    ["a malformed sha256", (ops) => ops[2]![3] = "not-a-hash"],
    ["a mode beyond the permission bits", (ops) => ops[1]![4] = 0o4755],
    ["a mode that is not a number", (ops) => ops[1]![4] = "0755"],
    ["a negative size", (ops) => ops[1]![2] = -1],
  ];
  for (const [what, damage] of damages) {
    const doc = JSON.parse(original);
    damage(doc.ops);
    await Deno.writeTextFile(path, JSON.stringify(doc));
    assert.equal(await store.load(tarDigest(tar)), undefined, what);
  }
  await Deno.writeTextFile(path, original);
  assert.deepEqual((await store.load(tarDigest(tar)))?.ops, snapshot.ops, "the undamaged file loads again");
});

Deno.test("extract() publishes nothing when beforePublish rejects (a streamed blob whose digest turned out wrong)", async () => {
  await using tmp = await tempDir();
  const store = openLayerStore(`${tmp.path}/layers`);
  const tar = buildTar([file("bin/tool", "unverified")]);
  const digest = tarDigest(tar);
  await assert.rejects(
    store.extract(digest, () => Promise.resolve(streamOf(tar)), {
      beforePublish: () => Promise.reject(new Error("digest mismatch")),
    }),
    /digest mismatch/,
  );
  assert.equal(await store.load(digest), undefined);
  assert.deepEqual(await store.list(), [], "no snapshot and no staging leftover");
  const snapshot = await store.extract(digest, () => Promise.resolve(streamOf(tar)), {
    beforePublish: () => Promise.resolve(),
  });
  assert.equal(await readText(`${snapshot.tree}/bin/tool`), "unverified");
});
