import assert from "node:assert/strict";
import { sha256Digest } from "../../src/oci/digest.ts";
import { getBlob, getBlobBytes } from "../../src/registry/blobs.ts";
import { RegistryError } from "../../src/registry/registry_error.ts";
import type { AuthedRequest } from "../../src/registry/with_auth.ts";
import { brokenBody, type Handler, scriptedContext } from "../support/scripted_transport.ts";
import { readAll, rejectsCode } from "../support/registry_client.ts";

const REPO = { registry: "registry.test", repository: "team/app" };
const BLOB = new Uint8Array(50_000).map((_, i) => (i * 7) % 256);
const DIGEST = await sha256Digest(BLOB);
const SIZE = BLOB.length;

function rangeStart(req: AuthedRequest): number | undefined {
  const m = /^bytes=(\d+)-$/.exec(req.headers?.Range ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Serves BLOB; the first `breaks` responses drop the connection after `cut` bytes of what they send. */
function flaky(breaks: number, cut = 20_000, resumeStatus: 206 | 200 = 206): Handler {
  return (req, n) => {
    const start = rangeStart(req) ?? 0;
    const full = resumeStatus === 200 || start === 0;
    const body = full ? BLOB : BLOB.subarray(start);
    const status = full ? 200 : 206;
    const headers: Record<string, string> = status === 206
      ? { "content-range": `bytes ${start}-${SIZE - 1}/${SIZE}` }
      : {};
    if (n < breaks) return new Response(brokenBody([body.subarray(0, cut)]), { status, headers });
    return new Response(body as BufferSource, { status, headers });
  };
}

Deno.test("getBlob() streams a blob from its path with the pull scope and reports progress", async () => {
  const ctx = scriptedContext(() => new Response(BLOB as BufferSource));
  let progress = 0;
  const bytes = await readAll(
    await getBlob(ctx, REPO, DIGEST, { size: SIZE, onProgress: (n) => progress += n }),
  );
  assert.deepEqual(bytes, BLOB);
  assert.equal(progress, SIZE);
  assert.equal(ctx.http.requests[0]!.path, `/v2/team/app/blobs/${DIGEST}`);
  assert.equal(ctx.http.requests[0]!.scope, "repository:team/app:pull");
});

Deno.test("getBlob() resumes a dropped connection with Range at the received offset", async (t) => {
  for (const breaks of [1, 3]) {
    await t.step(`${breaks} drop(s) with 3 retries`, async () => {
      const ctx = scriptedContext(flaky(breaks, 10_000), { retries: 3 });
      assert.deepEqual(await readAll(await getBlob(ctx, REPO, DIGEST, { size: SIZE })), BLOB);
      assert.deepEqual(
        ctx.http.requests.map(rangeStart),
        [undefined, 10_000, 20_000, 30_000].slice(0, breaks + 1),
      );
    });
  }
  await t.step("a server that ignores Range (200) has the received prefix skipped", async () => {
    const ctx = scriptedContext(flaky(1, 12_345, 200));
    assert.deepEqual(await readAll(await getBlob(ctx, REPO, DIGEST, { size: SIZE })), BLOB);
    assert.equal(rangeStart(ctx.http.requests[1]!), 12_345);
  });
  await t.step("a short body (no error, fewer bytes than the size) resumes too", async () => {
    const ctx = scriptedContext((req) => {
      const start = rangeStart(req);
      if (start === undefined) return new Response(BLOB.slice(0, 30_000));
      return new Response(BLOB.slice(start), {
        status: 206,
        headers: { "content-range": `bytes ${start}-` },
      });
    });
    assert.deepEqual(await readAll(await getBlob(ctx, REPO, DIGEST, { size: SIZE })), BLOB);
    assert.equal(rangeStart(ctx.http.requests[1]!), 30_000);
  });
});

Deno.test("getBlob() gives up after `retries` resumes with REGISTRY_UNREACHABLE (exit 1, retryable)", async () => {
  const ctx = scriptedContext(flaky(10, 5_000), { retries: 2 });
  const err = await rejectsCode(
    getBlob(ctx, REPO, DIGEST, { size: SIZE }).then(readAll),
    "REGISTRY_UNREACHABLE",
    /Cannot download blob sha256:[0-9a-f]{64} from registry "registry\.test": connection lost after/,
  );
  assert.equal(err.exitCode, 1);
  assert.ok(err instanceof RegistryError && err.retryable);
  assert.equal(ctx.http.requests.length, 3);
  const short = scriptedContext(() => new Response(BLOB.slice(0, 100)), { retries: 1 });
  await rejectsCode(
    getBlob(short, REPO, DIGEST, { size: SIZE }).then(readAll),
    "REGISTRY_UNREACHABLE",
    /sent 100 bytes of/,
  );
});

Deno.test("getBlob() refuses a resume at the wrong offset and reports a failing resume's status", async () => {
  const wrongOffset = scriptedContext((_req, n) =>
    n === 0
      ? new Response(brokenBody([BLOB.subarray(0, 1000)]))
      : new Response(BLOB.slice(0) as BufferSource, {
        status: 206,
        headers: { "content-range": `bytes 0-${SIZE - 1}/${SIZE}` },
      })
  );
  await rejectsCode(
    getBlob(wrongOffset, REPO, DIGEST, { size: SIZE }).then(readAll),
    "REGISTRY_PROTOCOL",
    /wrong offset/,
  );
  const gone = scriptedContext((_req, n) =>
    n === 0 ? new Response(brokenBody([BLOB.subarray(0, 1000)])) : new Response("", { status: 404 })
  );
  await rejectsCode(
    getBlob(gone, REPO, DIGEST, { size: SIZE }).then(readAll),
    "REGISTRY_HTTP",
    /resume blob.*404/,
  );
  const unreachable = scriptedContext((_req, n) => {
    if (n === 0) return new Response(brokenBody([BLOB.subarray(0, 1000)]));
    throw new RegistryError("REGISTRY_UNREACHABLE", 'Cannot reach registry "registry.test"', {
      retryable: true,
    });
  });
  await rejectsCode(
    getBlob(unreachable, REPO, DIGEST, { size: SIZE }).then(readAll),
    "REGISTRY_UNREACHABLE",
    /Cannot reach/,
  );
});

Deno.test("getBlob() keeps wrong bytes a trust failure even across a resume", async () => {
  const tampered = BLOB.slice();
  tampered[40_000]! ^= 0xff;
  const ctx = scriptedContext((req) => {
    const start = rangeStart(req);
    if (start === undefined) return new Response(brokenBody([BLOB.subarray(0, 25_000)]));
    return new Response(tampered.slice(start), {
      status: 206,
      headers: { "content-range": `bytes ${start}-` },
    });
  });
  const err = await rejectsCode(
    getBlob(ctx, REPO, DIGEST, { size: SIZE }).then(readAll),
    "DIGEST_MISMATCH",
    /hashes to/,
  );
  assert.equal(err.exitCode, 3);
  const longer = new Uint8Array(SIZE + 10);
  longer.set(BLOB);
  await rejectsCode(
    getBlob(scriptedContext(() => new Response(longer)), REPO, DIGEST, { size: SIZE }).then(readAll),
    "DIGEST_MISMATCH",
    /more than the expected/,
  );
});

Deno.test("getBlob() maps an error answer and does not resume once the caller aborted", async () => {
  await rejectsCode(
    getBlob(scriptedContext(() => new Response("", { status: 403 })), REPO, DIGEST),
    "REGISTRY_AUTH",
    /fetch blob/,
  );
  const abort = new AbortController();
  const ctx = scriptedContext(() => {
    abort.abort();
    return new Response(brokenBody([BLOB.subarray(0, 1000)]));
  });
  await assert.rejects(
    getBlob(ctx, REPO, DIGEST, { size: SIZE, signal: abort.signal }).then(readAll),
    TypeError,
  );
  assert.equal(ctx.http.requests.length, 1, "no Range request after an abort");
});

Deno.test("getBlobBytes() reads a small blob and refuses one over maxBytes, by descriptor or by stream", async () => {
  const ctx = scriptedContext(() => new Response(BLOB as BufferSource));
  assert.deepEqual(await getBlobBytes(ctx, REPO, DIGEST, { size: SIZE }), BLOB);
  await rejectsCode(
    getBlobBytes(ctx, REPO, DIGEST, { size: SIZE, maxBytes: 1000 }),
    "REGISTRY_PROTOCOL",
    /over the 1000 bytes limit/,
  );
  assert.equal(ctx.http.requests.length, 1, "an oversized descriptor is refused before any request");
  await rejectsCode(
    getBlobBytes(ctx, REPO, DIGEST, { maxBytes: 1000 }),
    "REGISTRY_PROTOCOL",
    /larger than 1000 bytes/,
  );
});
