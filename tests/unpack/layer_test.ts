import assert from "node:assert/strict";
import { zstdCompressSync } from "node:zlib";
import { isSupportedLayerMediaType, openLayer } from "../../src/unpack/layer.ts";
import { applyLayer } from "../../src/unpack/extract.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import { buildTar, file, gzip, streamOf } from "../support/tar_writer.ts";
import { tempDir } from "../support/unpack_fixtures.ts";

const TAR = buildTar([file("hello.txt", "hello layer\n".repeat(500))]);

async function bytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("openLayer() decompresses gzip, zstd and uncompressed layers by media type", async (t) => {
  const gz = await gzip(TAR);
  const zst = new Uint8Array(zstdCompressSync(TAR));
  const cases: Array<[string, Uint8Array]> = [
    [MEDIA_TYPES.OCI_LAYER, TAR],
    [MEDIA_TYPES.OCI_LAYER_GZIP, gz],
    [MEDIA_TYPES.DOCKER_LAYER_GZIP, gz],
    [MEDIA_TYPES.OCI_LAYER_ZSTD, zst],
  ];
  for (const [mediaType, blob] of cases) {
    await t.step(mediaType, async () => {
      assert.deepEqual(await bytes(openLayer(streamOf(blob, 1000), mediaType)), TAR);
    });
  }
});

Deno.test("openLayer() throws UNSUPPORTED_MEDIA_TYPE for non-layer media types", () => {
  for (const mediaType of [MEDIA_TYPES.OCI_CONFIG, "application/vnd.oci.image.layer.v1.tar+bzip2", ""]) {
    assert.equal(isSupportedLayerMediaType(mediaType), false);
    assert.throws(
      () => openLayer(streamOf(TAR), mediaType),
      (err) => isDropzoneError(err, "UNSUPPORTED_MEDIA_TYPE") && err.message.includes(`"${mediaType}"`),
    );
  }
});

Deno.test("applyLayer() reports corrupt gzip data as UNSAFE_LAYER", async () => {
  await using tmp = await tempDir();
  const gz = await gzip(TAR);
  gz.fill(0x41, 20, 60);
  await assert.rejects(
    () => applyLayer(openLayer(streamOf(gz), MEDIA_TYPES.OCI_LAYER_GZIP), tmp.path),
    (err) => isDropzoneError(err, "UNSAFE_LAYER"),
  );
});

Deno.test("openLayer() reads a gzip layer of several members as gzip(1) and Go do, and refuses a cut-off or corrupt one", async (t) => {
  const gz = await gzip(TAR);
  const half = Math.floor(TAR.length / 2);
  await t.step("two members", async () => {
    const members = new Uint8Array([...await gzip(TAR.subarray(0, half)), ...await gzip(TAR.subarray(half))]);
    assert.deepEqual(await bytes(openLayer(streamOf(members, 333), MEDIA_TYPES.OCI_LAYER_GZIP)), TAR);
  });
  const refused: Array<[string, Uint8Array]> = [
    ["cut in the middle", gz.subarray(0, Math.floor(gz.length / 2))],
    ["without its trailer", gz.subarray(0, gz.length - 8)],
    ["with a wrong CRC", gz.map((b, i) => i === gz.length - 6 ? b ^ 1 : b)],
    ["followed by garbage", new Uint8Array([...gz, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])],
    ["not gzip at all", TAR.subarray(0, 4096)],
  ];
  for (const [label, blob] of refused) {
    await t.step(label, async () => {
      await using tmp = await tempDir();
      await assert.rejects(
        () => applyLayer(openLayer(streamOf(blob, 1000), MEDIA_TYPES.OCI_LAYER_GZIP), tmp.path),
        (err) => isDropzoneError(err, "UNSAFE_LAYER"),
      );
    });
  }
});

Deno.test("cancelling a gzip or zstd layer stream midway (an interrupted extraction) stops the decompressor cleanly", async (t) => {
  const big = new Uint8Array(16 * 1024 * 1024).map((_, i) => (i * 7 + (i >> 10)) & 0xff);
  const blobs: Array<[string, Uint8Array]> = [
    [MEDIA_TYPES.OCI_LAYER_GZIP, await gzip(big)],
    [MEDIA_TYPES.OCI_LAYER_ZSTD, new Uint8Array(zstdCompressSync(big))],
  ];
  for (const [mediaType, blob] of blobs) {
    await t.step(mediaType, async () => {
      const reader = openLayer(streamOf(blob, 64 * 1024), mediaType).getReader();
      assert.equal((await reader.read()).done, false);
      assert.equal((await reader.read()).done, false);
      await reader.cancel(new Error("interrupted"));
      // Deno's Duplex.toWeb kept enqueueing after a cancel and threw an uncaught TypeError here.
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await bytes(openLayer(streamOf(blob, 64 * 1024), mediaType)), big);
    });
  }
});

Deno.test("applyLayer() applies a zstd layer end to end", async () => {
  await using tmp = await tempDir();
  const zst = new Uint8Array(zstdCompressSync(TAR));
  await applyLayer(openLayer(streamOf(zst), MEDIA_TYPES.OCI_LAYER_ZSTD), tmp.path);
  assert.equal(await Deno.readTextFile(`${tmp.path}/hello.txt`), "hello layer\n".repeat(500));
});

Deno.test({
  name: "applyLayer() leaves no pending ops or open files, after success and after a hostile entry",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    await using tmp = await tempDir();
    const big = new Uint8Array(2 * 1024 * 1024 + 3);
    const good = await gzip(buildTar([file("a", "a"), file("big", big), file("c", "c")]));
    await applyLayer(openLayer(streamOf(good), MEDIA_TYPES.OCI_LAYER_GZIP), `${tmp.path}`);
    const bad = await gzip(buildTar([file("big", big), file("../escape", "x"), file("after", big)]));
    await Deno.mkdir(`${tmp.path}/r2`);
    await assert.rejects(
      () => applyLayer(openLayer(streamOf(bad, 512), MEDIA_TYPES.OCI_LAYER_GZIP), `${tmp.path}/r2`),
      (err) => isDropzoneError(err, "UNSAFE_LAYER"),
    );
    // Truncated in the middle of a streamed (large) file body.
    const tar = buildTar([file("big", big)]);
    await Deno.mkdir(`${tmp.path}/r3`);
    await assert.rejects(
      () => applyLayer(streamOf(tar.subarray(0, 1024 * 1024 + 512), 4096), `${tmp.path}/r3`),
      (err) => isDropzoneError(err, "UNSAFE_LAYER"),
    );
  },
});

Deno.test("openLayer() checks the uncompressed bytes against the diff_id and fails applyLayer on a mismatch", async () => {
  await using tmp = await tempDir();
  const gz = await gzip(TAR);
  const good = await sha256Digest(TAR);
  const opened = openLayer(streamOf(gz), MEDIA_TYPES.OCI_LAYER_GZIP, { diffId: good });
  assert.deepEqual(await bytes(opened), TAR);
  const wrong = await sha256Digest(new Uint8Array([1]));
  await assert.rejects(
    () => applyLayer(openLayer(streamOf(gz), MEDIA_TYPES.OCI_LAYER_GZIP, { diffId: wrong }), tmp.path),
    (err) => isDropzoneError(err, "DIGEST_MISMATCH"),
  );
});
