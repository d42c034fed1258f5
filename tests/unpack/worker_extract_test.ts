/**
 * Extraction in a Deno Worker (src/unpack/worker_extract.ts): the same record and tree as the main thread, the
 * same errors, and an abort that stops the worker and leaves no staging dir. Hostile layers: hostile_test.ts
 * runs every case in "worker" mode too.
 */
import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { openLayerStore } from "../../src/store/layer_store.ts";
import { extractInWorker } from "../../src/unpack/worker_extract.ts";
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
    extractInWorker({ blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER, tree: tmp.path }, before.signal),
  );
});
