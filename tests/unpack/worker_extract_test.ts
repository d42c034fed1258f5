/**
 * Extraction in a Deno Worker (src/unpack/worker_extract.ts): the same record and tree as the main thread, the
 * same errors, and an abort that stops the worker and leaves no staging dir. Hostile layers: hostile_test.ts
 * runs every case in "worker" mode too.
 */
import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { openLayerStore } from "../../src/store/layer_store.ts";
import { extractInWorker, ExtractionWorkers } from "../../src/unpack/worker_extract.ts";
import { buildTar, dir, file, gzip, hardlink, streamOf, symlink } from "../support/tar_writer.ts";
import { comparableTree, snapshot, tarDigest, tempDir } from "../support/unpack_fixtures.ts";

const LAYER = buildTar([
  dir("etc/"),
  file("etc/conf", "a=1\n", 0o640),
  file("etc/.wh.gone"),
  dir("usr/bin/", 0o555),
  file("usr/bin/tool", "#!/bin/sh\n", 0o755),
  symlink("usr/bin/alias", "/usr/bin/tool"),
  hardlink("usr/bin/again", "usr/bin/tool"),
  hardlink("lower", "from/a/lower/layer"),
]);

Deno.test("a layer extracted in a Worker has the same layer.json and tree as one extracted on the main thread", async () => {
  await using tmp = await tempDir();
  const blob = `${tmp.path}/blob.gz`;
  await Deno.writeFile(blob, await gzip(LAYER));
  const digest = tarDigest(LAYER);
  const main = await openLayerStore(`${tmp.path}/main`).extract(
    digest,
    () => Promise.resolve(streamOf(LAYER)),
  );
  const inWorker = await openLayerStore(`${tmp.path}/worker`).extract(digest, () => {
    throw new Error("the worker path must not open the tar stream");
  }, { worker: { blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER_GZIP } });
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(`${inWorker.dir}/layer.json`)),
    JSON.parse(await Deno.readTextFile(`${main.dir}/layer.json`)),
  );
  assert.deepEqual(comparableTree(await snapshot(inWorker.tree)), comparableTree(await snapshot(main.tree)));
  assert.equal(inWorker.entries, 8);
  assert.ok(inWorker.ops.some((op) => op[0] === "h" && op[2] === "from/a/lower/layer"));
});

Deno.test("extractInWorker() passes limits and reports the worker's DropzoneError with its code and hint", async () => {
  await using tmp = await tempDir();
  const blob = `${tmp.path}/blob.tar`;
  await Deno.writeFile(blob, LAYER);
  await Deno.mkdir(`${tmp.path}/tree`);
  const err = await extractInWorker({
    blobPath: blob,
    mediaType: MEDIA_TYPES.OCI_LAYER,
    tree: `${tmp.path}/tree`,
    label: "sha256:test",
    limits: { maxEntries: 2 },
  }).catch((e) => e);
  assert.ok(isDropzoneError(err, "LAYER_LIMIT"), String(err));
  assert.match(err.message, /layer sha256:test/);
  assert.ok(err.hint, "the hint travels back from the worker");

  const missing = await extractInWorker({
    blobPath: `${tmp.path}/no-such-blob`,
    mediaType: MEDIA_TYPES.OCI_LAYER,
    tree: `${tmp.path}/tree`,
  }).catch((e) => e);
  assert.ok(isDropzoneError(missing, "IO"), String(missing));
});

Deno.test("aborting a Worker extraction stops the worker and the store removes its staging dir", async () => {
  await using tmp = await tempDir();
  const many = buildTar(Array.from({ length: 4000 }, (_, i) => file(`d${i % 40}/f${i}`, "x".repeat(2000))));
  const blob = `${tmp.path}/blob.tar`;
  await Deno.writeFile(blob, many);
  const store = openLayerStore(`${tmp.path}/layers`);
  const controller = new AbortController();
  const pending = store.extract(tarDigest(many), () => Promise.resolve(streamOf(many)), {
    worker: { blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER },
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(pending, (err) => err instanceof DOMException && err.name === "AbortError");
  assert.deepEqual(await Array.fromAsync(Deno.readDir(`${tmp.path}/layers`), (e) => e.name), []);
  assert.equal(await store.load(tarDigest(many)), undefined);

  const before = new AbortController();
  before.abort();
  await assert.rejects(
    extractInWorker({ blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER, tree: tmp.path }, {
      signal: before.signal,
    }),
  );
});

/** A blob being written that the test advances by hand (the shape the blob cache's writer provides). */
function manualWatch(tmpPath: string, finalPath: string, size: number) {
  let current = { written: 0, state: "writing" as "writing" | "committed" | "failed" };
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => wake = resolve);
  const set = (next: typeof current) => {
    current = next;
    const resolve = wake;
    changed = new Promise<void>((r) => wake = r);
    resolve();
  };
  return {
    watch: { tmpPath, finalPath, size, current: () => current, changed: () => changed },
    set,
  };
}

Deno.test("a pooled worker follows a blob as it is written, reads no further than reported, and is reused", async () => {
  await using tmp = await tempDir();
  const tmpPath = `${tmp.path}/.tmp-blob`;
  const finalPath = `${tmp.path}/blob`;
  const file = await Deno.open(tmpPath, { write: true, createNew: true });
  const half = Math.floor(LAYER.length / 2);
  await file.write(LAYER.subarray(0, half));
  const { watch, set } = manualWatch(tmpPath, finalPath, LAYER.length);
  const pool = new ExtractionWorkers(1);
  try {
    await Deno.mkdir(`${tmp.path}/tree`);
    let read = 0;
    const pending = pool.extract({
      blobPath: tmpPath,
      mediaType: MEDIA_TYPES.OCI_LAYER,
      tree: `${tmp.path}/tree`,
      follow: { finalPath, size: LAYER.length },
    }, { watch, onProgress: (bytes) => read += bytes });
    set({ written: half, state: "writing" });
    const deadline = Date.now() + 5_000;
    while (read < half && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(read, half, "the worker read what was reported");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(read, half, "and nothing beyond it");
    await file.write(LAYER.subarray(half));
    file.close();
    await Deno.rename(tmpPath, finalPath); // the commit; the worker's descriptor stays valid
    set({ written: LAYER.length, state: "committed" });
    const record = await pending;
    assert.equal(record.entries, 8);
    assert.equal(read, LAYER.length);
    assert.equal(await Deno.readTextFile(`${tmp.path}/tree/etc/conf`), "a=1\n");

    // The same worker takes the next job: a blob committed before the worker opened its temp file.
    await Deno.mkdir(`${tmp.path}/tree2`);
    const late = manualWatch(`${tmp.path}/.tmp-gone`, finalPath, LAYER.length);
    late.set({ written: LAYER.length, state: "committed" });
    const again = await pool.extract({
      blobPath: `${tmp.path}/.tmp-gone`,
      mediaType: MEDIA_TYPES.OCI_LAYER,
      tree: `${tmp.path}/tree2`,
      follow: { finalPath, size: LAYER.length },
    }, { watch: late.watch });
    assert.deepEqual(again.ops, record.ops);
  } finally {
    pool.close();
  }
});

Deno.test("a worker following a download that fails stops with an error and publishes nothing", async () => {
  await using tmp = await tempDir();
  const tmpPath = `${tmp.path}/.tmp-blob`;
  await Deno.writeFile(tmpPath, LAYER.subarray(0, 1024));
  const { watch, set } = manualWatch(tmpPath, `${tmp.path}/blob`, LAYER.length);
  const store = openLayerStore(`${tmp.path}/layers`);
  const pool = new ExtractionWorkers(2);
  try {
    const pending = store.extract(tarDigest(LAYER), () => {
      throw new Error("the worker path must not open the tar stream");
    }, { worker: { blobPath: tmpPath, mediaType: MEDIA_TYPES.OCI_LAYER, watch, pool } });
    set({ written: 1024, state: "writing" });
    await new Promise((r) => setTimeout(r, 20));
    set({ written: 1024, state: "failed" });
    await assert.rejects(
      pending,
      (err) => isDropzoneError(err, "IO") || isDropzoneError(err, "UNSAFE_LAYER"),
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${tmp.path}/layers`), (e) => e.name), []);
  } finally {
    pool.close();
  }
});

Deno.test("one worker runs two followed extractions at once, each reading only its own blob's progress", async () => {
  await using tmp = await tempDir();
  const other = buildTar([dir("opt/"), file("opt/other", "second layer\n")]);
  const blobs = [LAYER, other];
  const files = await Promise.all(blobs.map(async (bytes, i) => {
    const tmpPath = `${tmp.path}/.tmp-${i}`;
    const f = await Deno.open(tmpPath, { write: true, createNew: true });
    await Deno.mkdir(`${tmp.path}/tree${i}`);
    return {
      f,
      tmpPath,
      finalPath: `${tmp.path}/blob${i}`,
      bytes,
      ...manualWatch(tmpPath, `${tmp.path}/blob${i}`, bytes.length),
    };
  }));
  const pool = new ExtractionWorkers(1);
  try {
    const pending = files.map((b, i) =>
      pool.extract({
        blobPath: b.tmpPath,
        mediaType: MEDIA_TYPES.OCI_LAYER,
        tree: `${tmp.path}/tree${i}`,
        follow: { finalPath: b.finalPath, size: b.bytes.length },
      }, { watch: b.watch })
    );
    // The second blob completes first; the first is still at zero bytes meanwhile.
    await files[1]!.f.write(other);
    files[1]!.f.close();
    await Deno.rename(files[1]!.tmpPath, files[1]!.finalPath);
    files[1]!.set({ written: other.length, state: "committed" });
    const second = await pending[1]!;
    assert.equal(await Deno.readTextFile(`${tmp.path}/tree1/opt/other`), "second layer\n");
    await files[0]!.f.write(LAYER);
    files[0]!.f.close();
    await Deno.rename(files[0]!.tmpPath, files[0]!.finalPath);
    files[0]!.set({ written: LAYER.length, state: "committed" });
    const first = await pending[0]!;
    assert.equal(first.entries, 8);
    assert.equal(second.entries, 2);
    assert.equal(await Deno.readTextFile(`${tmp.path}/tree0/etc/conf`), "a=1\n");
  } finally {
    pool.close();
  }
});
