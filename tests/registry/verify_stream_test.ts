import assert from "node:assert/strict";
import { DropzoneError } from "../../src/errors.ts";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import { digestVerifier, isDigestVerified, verifiedStream } from "../../src/registry/verify_stream.ts";
import { streamOf } from "../support/tar_writer.ts";

const BYTES = new Uint8Array(10_000).map((_, i) => i % 251);
const DIGEST = await sha256Digest(BYTES);

async function pass(
  bytes: Uint8Array,
  digest: Digest,
  options: { size?: number; chunk?: number } = {},
): Promise<Uint8Array> {
  const verifier = digestVerifier(digest, {
    what: "blob under test",
    ...(options.size === undefined ? {} : { size: options.size }),
  });
  return new Uint8Array(
    await new Response(streamOf(bytes, options.chunk ?? 1000).pipeThrough(verifier)).arrayBuffer(),
  );
}

function mismatch(pattern: RegExp, hint: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof DropzoneError, String(err));
    assert.equal(err.code, "DIGEST_MISMATCH");
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /^Cannot verify blob under test: /);
    assert.match(err.message, pattern);
    assert.match(err.hint ?? "", hint);
    return true;
  };
}

Deno.test("digestVerifier() passes matching bytes through unchanged, with or without a size", async (t) => {
  for (const chunk of [1, 7, 1000, 20_000]) {
    await t.step(`chunks of ${chunk}`, async () => {
      assert.deepEqual(await pass(BYTES, DIGEST, { size: BYTES.length, chunk }), BYTES);
    });
  }
  assert.deepEqual(await pass(BYTES, DIGEST), BYTES);
  const empty = new Uint8Array(0);
  assert.deepEqual(await pass(empty, await sha256Digest(empty), { size: 0 }), empty);
});

Deno.test("digestVerifier() refuses bytes that hash to something else, naming the actual digest", async () => {
  const tampered = BYTES.slice();
  tampered[5_000]! ^= 1;
  const actual = await sha256Digest(tampered);
  await assert.rejects(
    pass(tampered, DIGEST, { size: BYTES.length }),
    mismatch(new RegExp(`content hashes to ${actual}$`), /do not trust it/),
  );
});

Deno.test("digestVerifier() refuses a truncated stream by size before comparing hashes", async () => {
  await assert.rejects(
    pass(BYTES.subarray(0, 9_999), DIGEST, { size: BYTES.length }),
    mismatch(/got 9999 bytes, expected 10000$/, /truncated/),
  );
  // Without a size, a truncated stream is still caught by its hash.
  await assert.rejects(
    pass(BYTES.subarray(0, 9_999), DIGEST),
    mismatch(/content hashes to sha256:/, /do not trust/),
  );
});

Deno.test("digestVerifier() errors as soon as more bytes than the size arrive, before forwarding them", async () => {
  const longer = new Uint8Array(BYTES.length + 1);
  longer.set(BYTES);
  const forwarded: number[] = [];
  const verifier = digestVerifier(DIGEST, { what: "blob under test", size: BYTES.length });
  const sink = new WritableStream<Uint8Array>({ write: (chunk) => void forwarded.push(chunk.byteLength) });
  await assert.rejects(
    streamOf(longer, 4_000).pipeThrough(verifier).pipeTo(sink),
    mismatch(/more than the expected 10000 bytes$/, /different content/),
  );
  assert.ok(
    forwarded.reduce((a, b) => a + b, 0) <= BYTES.length,
    "no byte beyond the size reaches the reader",
  );
});

Deno.test("digestVerifier() with the right size but the wrong digest is still a mismatch", async () => {
  const other = await sha256Digest(new TextEncoder().encode("other"));
  await assert.rejects(
    pass(BYTES, other, { size: BYTES.length }),
    mismatch(/content hashes to/, /do not trust/),
  );
});

Deno.test("isDigestVerified() recognises a verifiedStream only for its own digest and size, and nothing wrapped around it", async () => {
  const other = await sha256Digest(new Uint8Array([1]));
  const stream = verifiedStream(streamOf(BYTES, 1000), DIGEST, {
    what: "blob under test",
    size: BYTES.length,
  });
  assert.equal(isDigestVerified(stream, DIGEST, BYTES.length), true);
  assert.equal(isDigestVerified(stream, other, BYTES.length), false);
  assert.equal(isDigestVerified(stream, DIGEST, BYTES.length - 1), false);
  const wrapped = stream.pipeThrough(new TransformStream());
  assert.equal(isDigestVerified(wrapped, DIGEST, BYTES.length), false);
  assert.equal(isDigestVerified(streamOf(BYTES, 1000), DIGEST, BYTES.length), false);
  assert.deepEqual(new Uint8Array(await new Response(wrapped).arrayBuffer()), BYTES);
});

Deno.test("a verifiedStream of bytes that hash to something else errors instead of ending", async () => {
  const tampered = BYTES.slice();
  tampered[5_000] = tampered[5_000]! ^ 1;
  const stream = verifiedStream(streamOf(tampered, 1000), DIGEST, {
    what: "blob under test",
    size: BYTES.length,
  });
  await assert.rejects(
    new Response(stream).arrayBuffer(),
    mismatch(/content hashes to sha256:/, /do not trust/),
  );
});
