/** Tests for src/unpack/extract_worker.ts: the Worker entry that runs the contained unpacker on one blob. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import type { WorkerReply, WorkerRequest } from "../../src/unpack/worker_extract.ts";
import { buildTar, file, symlink } from "../support/tar_writer.ts";
import { tempDir } from "../support/temp_home.ts";

/** Runs the worker entry once, as extractInWorker does, and returns its reply. */
async function runWorker(request: WorkerRequest): Promise<WorkerReply> {
  const worker = new Worker(new URL("../../src/unpack/extract_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    return await new Promise<WorkerReply>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<WorkerReply>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage(request);
    });
  } finally {
    worker.terminate();
  }
}

Deno.test("the worker extracts a layer blob into the tree and replies with its record", async () => {
  await using dir = await tempDir();
  const blob = join(dir.path, "blob");
  await Deno.writeFile(blob, buildTar([file("bin/tool", "hello"), symlink("bin/t", "tool")]));
  const tree = join(dir.path, "tree");
  await Deno.mkdir(tree);
  const reply = await runWorker({ blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER, tree });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  if (!reply.ok) return;
  assert.equal(await Deno.readTextFile(join(tree, "bin/tool")), "hello");
  assert.equal(await Deno.readLink(join(tree, "bin/t")), "tool");
  assert.equal(reply.bytes, 5);
  assert.ok(reply.dirs.includes("bin"));
  assert.ok(reply.ops.some((op) => op[0] === "f" && op[1] === "bin/tool"));
});

Deno.test("the worker replies with the unpacker's error code for a hostile layer, and for a missing blob", async () => {
  await using dir = await tempDir();
  const blob = join(dir.path, "blob");
  await Deno.writeFile(blob, buildTar([file("../escape", "x")]));
  const tree = join(dir.path, "tree");
  await Deno.mkdir(tree);
  const hostile = await runWorker({ blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER, tree });
  assert.equal(hostile.ok, false);
  if (!hostile.ok) assert.equal(hostile.error.code, "UNSAFE_LAYER", hostile.error.message);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir.path)).then((e) => e.map((x) => x.name).sort()), [
    "blob",
    "tree",
  ]);
  const missing = await runWorker({
    blobPath: join(dir.path, "nope"),
    mediaType: MEDIA_TYPES.OCI_LAYER,
    tree,
  });
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(missing.error.message, /No such file|not found/i);
});
