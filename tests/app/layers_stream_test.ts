/**
 * Extraction overlaps the download: once verification passed, a layer still downloading is extracted (in a
 * worker) from its bytes as they arrive, and its snapshot is published only after the blob's digest was
 * confirmed; when little is to be extracted, it is extracted on this thread once its download is complete.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fetchLayers, type LayerEvent } from "../../src/app/layers.ts";
import type { ResolvedImage } from "../../src/app/image.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { openLayerStore } from "../../src/store/layer_store.ts";
import { buildTar, file } from "../support/tar_writer.ts";
import { tempHome } from "../support/temp_home.ts";

/** A blob body the test releases in two parts. */
function twoPartBody(bytes: Uint8Array) {
  let releaseRest: () => void = () => {};
  const rest = new Promise<void>((resolve) => releaseRest = resolve);
  const half = Math.floor(bytes.length / 2);
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(bytes.slice(0, half));
      await rest;
      controller.enqueue(bytes.slice(half));
      controller.close();
    },
  });
  return { stream, releaseRest };
}

function imageOf(digest: Digest, size: number): ResolvedImage {
  return {
    repo: { registry: "127.0.0.1:1", repository: "lab/tool" },
    manifest: { layers: [{ mediaType: MEDIA_TYPES.OCI_LAYER, digest, size }] },
  } as unknown as ResolvedImage;
}

function clientServing(body: ReadableStream<Uint8Array>): RegistryClient {
  return { getBlob: () => Promise.resolve(body) } as unknown as RegistryClient;
}

async function setUp(served: Uint8Array, signed: Uint8Array, options: { inProcessBytes?: number } = {}) {
  const home = await tempHome();
  const digest = await sha256Digest(signed);
  const body = twoPartBody(served);
  const events: LayerEvent[] = [];
  const fetch = await fetchLayers(
    {
      layout: home.layout,
      config: { concurrency: 2, layer_cache: true },
      client: clientServing(body.stream),
      onEvent: (e) => events.push(e),
    },
    imageOf(digest, signed.length),
    openBlobCache(home.layout.blobs),
    new AbortController().signal,
    options,
  );
  return { home, digest, body, events, fetch };
}

/** Waits for `condition`; generous, because the first start of the extraction worker in a fresh checkout under
 * a parallel suite transpiles its modules (an ordering is asserted here, not a speed). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("a layer still downloading is extracted in a worker from the bytes already received, before the download ends", async () => {
  const tar = buildTar([file("bin/tool", "x".repeat(200_000)), file("etc/conf", "on")]);
  // More than "little" to extract here (the threshold is 4 MiB; the ordering, not the size, is under test).
  const { home, digest, body, events, fetch } = await setUp(tar, tar, { inProcessBytes: 0 });
  await using _home = home;
  const rootfs = join(home.path, "rootfs");
  const built = fetch.build(rootfs, {
    scratch: join(home.path, "scratch"),
    signal: new AbortController().signal,
  });
  // The extractor reads the first half while the rest has not been sent yet.
  await until(
    () => events.some((e) => e.type === "unpack-progress" && e.digest === digest),
    "unpack progress",
  );
  assert.equal(events.some((e) => e.type === "layer-done"), false, "the download is still running");
  assert.equal(await openLayerStore(home.layout.layers).load(digest), undefined, "not published yet");
  body.releaseRest();
  assert.deepEqual(await built, { extracted: 1, reused: 0 });
  assert.equal(await Deno.readTextFile(join(rootfs, "etc/conf")), "on");
  assert.notEqual(await openLayerStore(home.layout.layers).load(digest), undefined);
  assert.equal(await openBlobCache(home.layout.blobs).has(digest), true);
});

Deno.test("little to extract: the layer is extracted on this thread once its download is complete, no worker started", async () => {
  const tar = buildTar([file("bin/tool", "x".repeat(200_000)), file("etc/conf", "on")]);
  const started: string[] = [];
  const RealWorker = globalThis.Worker;
  globalThis.Worker = class extends RealWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      started.push(String(url));
    }
  };
  try {
    const { home, body, events, fetch } = await setUp(tar, tar);
    await using _home = home;
    const rootfs = join(home.path, "rootfs");
    const built = fetch.build(rootfs, {
      scratch: join(home.path, "scratch"),
      signal: new AbortController().signal,
    });
    body.releaseRest();
    assert.deepEqual(await built, { extracted: 1, reused: 0 });
    const done = events.findIndex((e) => e.type === "layer-done");
    const firstRead = events.findIndex((e) => e.type === "unpack-progress");
    assert.ok(done >= 0 && firstRead > done, "the blob is read only after its download ended");
    assert.equal(await Deno.readTextFile(join(rootfs, "etc/conf")), "on");
    assert.deepEqual(started, [], "no extraction worker");
  } finally {
    globalThis.Worker = RealWorker;
  }
});

for (const [where, inProcessBytes] of [["on this thread", undefined], ["in a worker", 0]] as const) {
  Deno.test(`a streamed layer whose bytes do not match the signed digest publishes no snapshot and fails with DIGEST_MISMATCH (extracted ${where})`, async () => {
    const signed = buildTar([file("bin/tool", "the signed build")]);
    const evil = buildTar([file("bin/tool", "an evil rebuild!")]);
    assert.equal(evil.length, signed.length);
    const { home, body, fetch } = await setUp(
      evil,
      signed,
      inProcessBytes === undefined ? {} : { inProcessBytes },
    );
    await using _home = home;
    const built = fetch.build(join(home.path, "rootfs"), {
      scratch: join(home.path, "scratch"),
      signal: new AbortController().signal,
    });
    body.releaseRest();
    await assert.rejects(built, (e) => isDropzoneError(e) && e.code === "DIGEST_MISMATCH");
    assert.deepEqual(await openLayerStore(home.layout.layers).list(), [], "no snapshot, no staging leftover");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(home.layout.blobs)).catch(() => [])).map((e) => e.name),
      [],
      "no blob and no temp file",
    );
  });
}
