import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import { verifiedStream } from "../../src/registry/verify_stream.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import type { BlobWatch } from "../../src/unpack/worker_extract.ts";
import { tempHome } from "../support/temp_home.ts";
import { canMount, mountTmpfs } from "../support/tmpfs.ts";

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

async function blob(text: string): Promise<{ bytes: Uint8Array; digest: Digest }> {
  const bytes = new TextEncoder().encode(text);
  return { bytes, digest: await sha256Digest(bytes) };
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

Deno.test("putStream() stores a verified blob that open() streams back", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("hello layer");
  assert.equal(await cache.has(digest), false);
  assert.equal(
    await cache.putStream(digest, bytes.length, streamOf(bytes.subarray(0, 3), bytes.subarray(3))),
    true,
  );
  assert.equal(await cache.has(digest), true);
  assert.equal(await cache.sizeOf(digest), bytes.length);
  assert.equal(await new Response(await cache.open(digest)).text(), "hello layer");
  assert.deepEqual(await entries(home.layout.blobs), [digest.slice(7)]);
  assert.equal(await cache.putStream(digest, bytes.length, streamOf(bytes)), false);
});

Deno.test("putStream() rejects a digest mismatch with DIGEST_MISMATCH and keeps nothing", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { digest } = await blob("expected");
  const wrong = new TextEncoder().encode("tampered");
  await assert.rejects(
    cache.putStream(digest, wrong.length, streamOf(wrong)),
    (err) => isDropzoneError(err, "DIGEST_MISMATCH"),
  );
  assert.equal(await cache.has(digest), false);
  assert.deepEqual(await entries(home.layout.blobs), []);
});

Deno.test("putStream() rejects a size mismatch, including oversized streams, and keeps nothing", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("twelve bytes");
  await assert.rejects(
    cache.putStream(digest, bytes.length - 1, streamOf(bytes)),
    (err) => isDropzoneError(err, "DIGEST_MISMATCH") && err.message.includes("more than"),
  );
  await assert.rejects(
    cache.putStream(digest, bytes.length + 1, streamOf(bytes)),
    (err) => isDropzoneError(err, "DIGEST_MISMATCH") && err.message.includes("bytes"),
  );
  assert.deepEqual(await entries(home.layout.blobs), []);
});

Deno.test("teeInto() passes bytes through and commits the blob on a clean end", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("x".repeat(100_000));
  const out = cache.teeInto(
    digest,
    bytes.length,
    streamOf(bytes.subarray(0, 50_000), bytes.subarray(50_000)),
  );
  const seen = new Uint8Array(await new Response(out).arrayBuffer());
  assert.deepEqual(seen, bytes);
  assert.equal(await cache.sizeOf(digest), bytes.length);
  assert.deepEqual(await entries(home.layout.blobs), [digest.slice(7)]);
});

Deno.test("teeInto() errors the stream on a digest mismatch and keeps nothing", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { digest } = await blob("good");
  const bad = new TextEncoder().encode("evil");
  const out = cache.teeInto(digest, bad.length, streamOf(bad));
  await assert.rejects(new Response(out).arrayBuffer(), (err) => isDropzoneError(err, "DIGEST_MISMATCH"));
  assert.deepEqual(await entries(home.layout.blobs), []);
});

Deno.test("teeInto() discards the partial blob when the consumer cancels or the source fails", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("abcdefgh");
  const reader = cache.teeInto(digest, bytes.length, streamOf(bytes.subarray(0, 4), bytes.subarray(4)))
    .getReader();
  await reader.read();
  await reader.cancel();
  assert.deepEqual(await entries(home.layout.blobs), []);

  const failing = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 4));
      controller.error(new Error("connection reset"));
    },
  });
  await assert.rejects(
    new Response(cache.teeInto(digest, bytes.length, failing)).arrayBuffer(),
    /connection reset/,
  );
  assert.deepEqual(await entries(home.layout.blobs), []);
});

Deno.test("teeInto() still passes bytes through when the blob is already cached", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("cached");
  await cache.putStream(digest, bytes.length, streamOf(bytes));
  assert.equal(await new Response(cache.teeInto(digest, bytes.length, streamOf(bytes))).text(), "cached");
  assert.deepEqual(await entries(home.layout.blobs), [digest.slice(7)]);
});

Deno.test("open() fails with OFFLINE_MISS for an absent blob", async () => {
  await using home = await tempHome();
  const { digest } = await blob("absent");
  await assert.rejects(
    openBlobCache(home.layout.blobs).open(digest),
    (err) => isDropzoneError(err, "OFFLINE_MISS"),
  );
});

Deno.test("gc() removes unreferenced blobs and stale temp files and returns bytes freed", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const keep = await blob("keep me");
  const drop = await blob("drop me!!");
  await cache.putStream(keep.digest, keep.bytes.length, streamOf(keep.bytes));
  await cache.putStream(drop.digest, drop.bytes.length, streamOf(drop.bytes));
  await Deno.writeTextFile(join(home.layout.blobs, ".tmp-stale"), "12345");
  await Deno.writeTextFile(join(home.layout.blobs, ".tmp-fresh"), "1");
  await Deno.utime(join(home.layout.blobs, ".tmp-stale"), new Date(0), new Date(0));
  const result = await cache.gc(new Set([keep.digest]));
  assert.deepEqual(result, {
    bytesFreed: drop.bytes.length + 5,
    removedBlobs: [drop.digest],
    removedTemps: 1,
  });
  assert.deepEqual(await entries(home.layout.blobs), [".tmp-fresh", keep.digest.slice(7)].sort());
  assert.deepEqual(await openBlobCache(join(home.path, "nope")).gc(new Set()), {
    bytesFreed: 0,
    removedBlobs: [],
    removedTemps: 0,
  });
});

const MOUNTABLE = await canMount();

Deno.test({
  name:
    "putStream() on a full disk says the disk is full, where, and how much the blob needed; keeps nothing",
  ignore: !MOUNTABLE,
  async fn() {
    await using disk = await mountTmpfs({ sizeKiB: 64 });
    const cache = openBlobCache(join(disk.path, "blobs"));
    const bytes = new Uint8Array(300 * 1024).fill(7);
    const digest = await sha256Digest(bytes);
    const chunks = Array.from({ length: 30 }, (_, i) => bytes.subarray(i * 10240, (i + 1) * 10240));
    const err = await cache.putStream(digest, bytes.length, streamOf(...chunks)).catch((e) => e);
    assert.ok(isDropzoneError(err, "IO"), String(err));
    assert.match(err.message, /the disk is full \(needed 300 KiB\)/);
    assert.ok(err.message.includes(join(disk.path, "blobs")), err.message);
    assert.match(err.hint ?? "", /Free space .*dz gc/);
    assert.equal(await cache.has(digest), false);
    assert.deepEqual(await entries(join(disk.path, "blobs")), [], "no temp file left behind");
  },
});

Deno.test({
  name: "teeInto() on a full disk still passes the bytes through (the cache is an optimisation there)",
  ignore: !MOUNTABLE,
  async fn() {
    await using disk = await mountTmpfs({ sizeKiB: 64 });
    const cache = openBlobCache(join(disk.path, "blobs"));
    const bytes = new Uint8Array(300 * 1024).fill(9);
    const digest = await sha256Digest(bytes);
    const out = new Uint8Array(
      await new Response(cache.teeInto(digest, bytes.length, streamOf(bytes))).arrayBuffer(),
    );
    assert.equal(out.length, bytes.length);
    assert.equal(await cache.has(digest), false);
  },
});

/**
 * A source whose chunks the test releases one at a time, to observe a follower mid-download. Releases are
 * counted, so a step taken before the reader asks for the next chunk is not lost.
 */
function gatedSource(chunks: Uint8Array[], failAt?: number) {
  let released = 0;
  let wake: () => void = () => {};
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (released === 0) await new Promise<void>((resolve) => wake = resolve);
      released--;
      if (index === failAt) throw new Error("connection reset");
      if (index >= chunks.length) return controller.close();
      controller.enqueue(chunks[index++]!);
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    step: () => {
      released++;
      wake();
    },
  };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Waits until `watch` reports something other than `seen` (bounded). */
async function nextReport(watch: BlobWatch, seen: { written: number; state: string }) {
  const deadline = Date.now() + 10_000;
  while (true) {
    const now = watch.current();
    if (now.written !== seen.written || now.state !== seen.state) return now;
    if (Date.now() > deadline) throw new Error(`no progress after ${JSON.stringify(seen)}`);
    await Promise.race([watch.changed(), new Promise((r) => setTimeout(r, 50))]);
  }
}

Deno.test("the watch reports bytes once they are in the temp file, and committed only after the digest matched", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("0123456789".repeat(1000));
  const source = gatedSource([bytes.subarray(0, 4000), bytes.subarray(4000)]);
  let watch: BlobWatch | undefined;
  const put = cache.putStream(digest, bytes.length, source.stream, { onWriting: (w) => watch = w });
  while (watch === undefined) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(watch.current(), { written: 0, state: "writing" });
  assert.equal(watch.size, bytes.length);
  source.step(); // 4000 bytes, then the download pauses
  const first = await nextReport(watch, { written: 0, state: "writing" });
  assert.deepEqual(first, { written: 4000, state: "writing" });
  assert.deepEqual((await Deno.readFile(watch.tmpPath)).subarray(0, 4000), bytes.subarray(0, 4000));
  source.step(); // the rest
  source.step(); // end of stream: verify, commit
  assert.equal(await put, true);
  assert.deepEqual(watch.current(), { written: bytes.length, state: "committed" });
  assert.deepEqual(await Deno.readFile(watch.finalPath), bytes);
  assert.equal(await cache.has(digest), true);
});

Deno.test("the watch reports failed when the downloaded bytes do not match the digest, even with all of them written", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { digest } = await blob("the signed bytes");
  const wrong = new TextEncoder().encode("evil bytes, same len");
  let watch: BlobWatch | undefined;
  const put = cache.putStream(digest, wrong.length, streamOf(wrong), { onWriting: (w) => watch = w });
  await assert.rejects(put, (e) => isDropzoneError(e) && e.code === "DIGEST_MISMATCH");
  assert.equal(watch!.current().state, "failed");
  assert.deepEqual(await entries(home.layout.blobs), []);
});

Deno.test("the watch reports failed when the download breaks off, and the partial blob is gone", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("abcdefghij".repeat(100));
  const source = gatedSource([bytes.subarray(0, 500), bytes.subarray(500)], 1);
  let watch: BlobWatch | undefined;
  const put = cache.putStream(digest, bytes.length, source.stream, { onWriting: (w) => watch = w });
  put.catch(() => {}); // asserted below; the rejection may come before the assertion attaches
  while (watch === undefined) await new Promise((r) => setTimeout(r, 1));
  source.step();
  await new Promise((r) => setTimeout(r, 10));
  source.step();
  await assert.rejects(put, /connection reset/);
  assert.equal(watch.current().state, "failed");
  assert.deepEqual(await entries(home.layout.blobs), []);
});

Deno.test("every report of the watch names bytes that are already in the temp file", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const bytes = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
  const digest = await sha256Digest(bytes);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += 256 * 1024) {
    chunks.push(bytes.subarray(offset, offset + 256 * 1024));
  }
  const reports: number[] = [];
  let sizesOnDisk: Promise<number>[] = [];
  const put = cache.putStream(digest, bytes.length, streamOf(...chunks), {
    onWriting: (watch) => {
      void (async () => {
        let seen = watch.current();
        while (seen.state === "writing") {
          seen = await nextReport(watch, seen);
          reports.push(seen.written);
          sizesOnDisk = [...sizesOnDisk, Deno.stat(watch.tmpPath).then((i) => i.size, () => bytes.length)];
        }
      })();
    },
  });
  assert.equal(await put, true);
  await new Promise((r) => setTimeout(r, 20));
  const distinct = reports.filter((n, i) => n !== reports[i - 1]);
  assert.deepEqual(distinct, [...distinct].sort((x, y) => x - y), "progress only grows");
  assert.equal(distinct.at(-1), bytes.length);
  for (const [i, size] of (await Promise.all(sizesOnDisk)).entries()) {
    assert.ok(size >= reports[i]!, `reported ${reports[i]} bytes, ${size} on disk`);
  }
  assert.deepEqual(await readAll(await cache.open(digest)), bytes);
});

Deno.test("putStream() of a digest-verified download relies on its check: tampered bytes fail with the verifier's error and keep nothing", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const { bytes, digest } = await blob("signed layer bytes ".repeat(500));
  const tampered = bytes.slice();
  tampered[100] = tampered[100]! ^ 1;
  const what = "blob under test";
  await assert.rejects(
    cache.putStream(
      digest,
      bytes.length,
      verifiedStream(streamOf(tampered), digest, { what, size: bytes.length }),
    ),
    (e) =>
      isDropzoneError(e) && e.code === "DIGEST_MISMATCH" && /^Cannot verify blob under test/.test(e.message),
  );
  assert.deepEqual(await entries(home.layout.blobs), []);
  // Wrapped, the same stream is no longer recognised, and the cache's own hash refuses it first.
  const wrapped = verifiedStream(streamOf(tampered), digest, { what, size: bytes.length })
    .pipeThrough(new TransformStream());
  await assert.rejects(
    cache.putStream(digest, bytes.length, wrapped),
    (e) => isDropzoneError(e) && e.code === "DIGEST_MISMATCH",
  );
  assert.deepEqual(await entries(home.layout.blobs), []);
  // A verified stream cut short is refused by size.
  await assert.rejects(
    cache.putStream(
      digest,
      bytes.length,
      verifiedStream(streamOf(bytes.subarray(0, 10)), digest, { what, size: bytes.length }),
    ),
    (e) => isDropzoneError(e) && e.code === "DIGEST_MISMATCH",
  );
  assert.equal(
    await cache.putStream(
      digest,
      bytes.length,
      verifiedStream(streamOf(bytes), digest, { what, size: bytes.length }),
    ),
    true,
  );
  assert.deepEqual(await readAll(await cache.open(digest)), bytes);
});
