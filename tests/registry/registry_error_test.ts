import assert from "node:assert/strict";
import { DropzoneError, type ErrorCode } from "../../src/errors.ts";
import {
  errorFromResponse,
  isTransferFailure,
  MAX_ERROR_BODY_BYTES,
  parseJsonBody,
  parseOciErrors,
  readCapped,
  redactUrl,
  RegistryError,
  sanitizeRemoteText,
} from "../../src/registry/registry_error.ts";

const CONTEXT = { registry: "registry.test", action: 'fetch manifest "registry.test/app:1"' };

Deno.test("errorFromResponse() classifies by status: code, exit code, retryable and hint", async (t) => {
  const cases: {
    status: number;
    code: ErrorCode;
    retryable: boolean;
    message: RegExp;
    hint: RegExp;
    notFoundCode?: ErrorCode;
  }[] = [
    {
      status: 401,
      code: "REGISTRY_AUTH",
      retryable: false,
      message: /requires authentication \(401\)/,
      hint: /dz login registry\.test/,
    },
    {
      status: 403,
      code: "REGISTRY_AUTH",
      retryable: false,
      message: /denied access \(403\)/,
      hint: /may pull this repository/,
    },
    {
      status: 404,
      code: "REGISTRY_HTTP",
      retryable: false,
      message: /not found on registry "registry\.test" \(404\)/,
      hint: /repository name and tag/,
    },
    {
      status: 404,
      code: "MANIFEST_UNKNOWN",
      retryable: false,
      message: /\(404\)/,
      hint: /tag/,
      notFoundCode: "MANIFEST_UNKNOWN",
    },
    { status: 408, code: "REGISTRY_HTTP", retryable: true, message: /answered 408/, hint: /dz version/ },
    { status: 400, code: "REGISTRY_HTTP", retryable: false, message: /answered 400/, hint: /dz version/ },
    {
      status: 429,
      code: "RATE_LIMITED",
      retryable: true,
      message: /rate limiting requests \(429\)/,
      hint: /Wait and try again/,
    },
    { status: 500, code: "REGISTRY_HTTP", retryable: true, message: /answered 500/, hint: /try again later/ },
    { status: 503, code: "REGISTRY_HTTP", retryable: true, message: /answered 503/, hint: /try again later/ },
  ];
  for (const c of cases) {
    await t.step(`${c.status}${c.notFoundCode ? ` as ${c.notFoundCode}` : ""} -> ${c.code}`, async () => {
      const err = await errorFromResponse(new Response("", { status: c.status }), {
        ...CONTEXT,
        ...(c.notFoundCode ? { notFoundCode: c.notFoundCode } : {}),
      });
      assert.ok(err instanceof RegistryError && err instanceof DropzoneError);
      assert.equal(err.code, c.code);
      assert.equal(err.status, c.status);
      assert.equal(err.retryable, c.retryable);
      assert.equal(err.exitCode, 1, "a registry answer is never a trust failure");
      assert.match(err.message, /^Cannot fetch manifest "registry\.test\/app:1": /);
      assert.match(err.message, c.message);
      assert.match(err.hint ?? "", c.hint);
      assert.ok(isTransferFailure(err));
    });
  }
});

Deno.test("errorFromResponse() appends the OCI error body's codes and messages, sanitised", async () => {
  const body = {
    errors: [
      { code: "DENIED", message: "requested access\u001b[31m to the resource is denied" },
      { code: "UNAUTHORIZED" },
      { message: "only a message" },
      { code: "FOURTH", message: "never shown" },
    ],
  };
  const err = await errorFromResponse(new Response(JSON.stringify(body), { status: 403 }), CONTEXT);
  assert.match(
    err.message,
    /\(403\): DENIED: requested access \[31m to the resource is denied; UNAUTHORIZED; only a message$/,
  );
  assert.ok(!err.message.includes("\u001b"));
  assert.ok(!err.message.includes("FOURTH"), "at most three entries are shown");
});

Deno.test("errorFromResponse() ignores a body that is not an OCI error document", async (t) => {
  const bodies: [string, string][] = [
    ["HTML", "<html><body>Bad gateway</body></html>"],
    ["JSON without errors", '{"message":"nope"}'],
    ["errors not a list", '{"errors":"nope"}'],
    ["empty errors", '{"errors":[{}]}'],
    ["empty body", ""],
  ];
  for (const [name, body] of bodies) {
    await t.step(name, async () => {
      const err = await errorFromResponse(new Response(body, { status: 502 }), CONTEXT);
      assert.match(err.message, /answered 502$/);
    });
  }
});

Deno.test("errorFromResponse() does not read more than 64 KiB of an error body", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 16 * 1024;
      controller.enqueue(new Uint8Array(16 * 1024).fill(0x61));
    },
  });
  const err = await errorFromResponse(new Response(endless, { status: 500 }), CONTEXT);
  assert.equal(err.code, "REGISTRY_HTTP");
  assert.match(err.message, /answered 500$/);
  assert.ok(pulled <= MAX_ERROR_BODY_BYTES + 64 * 1024, `read ${pulled} bytes of an endless body`);
});

Deno.test("errorFromResponse() on 429 names RateLimit-Remaining and Retry-After, sanitised and capped", async () => {
  const headers = { "ratelimit-remaining": "0;w=21600", "retry-after": "30" };
  const err = await errorFromResponse(new Response("", { status: 429, headers }), CONTEXT);
  assert.equal(err.code, "RATE_LIMITED");
  assert.match(err.message, /\(429; RateLimit-Remaining: 0;w=21600, retry after 30\)$/);
  const hostile = await errorFromResponse(
    new Response("", { status: 429, headers: { "retry-after": `${"9".repeat(100)}` } }),
    CONTEXT,
  );
  assert.match(hostile.message, /retry after 9{39}…\)$/);
  const bare = await errorFromResponse(new Response("", { status: 429 }), CONTEXT);
  assert.match(bare.message, /\(429\)$/);
});

Deno.test("RegistryError defaults to not retryable and no status", () => {
  const err = new RegistryError("REGISTRY_UNREACHABLE", "x");
  assert.equal(err.retryable, false);
  assert.equal(err.status, undefined);
  assert.equal(err.name, "RegistryError");
  assert.equal(new RegistryError("REGISTRY_UNREACHABLE", "x", { retryable: true }).retryable, true);
});

Deno.test("isTransferFailure() is true only for codes that mean the bytes were not obtained", async (t) => {
  const cases: [ErrorCode, boolean][] = [
    ["REGISTRY_UNREACHABLE", true],
    ["REGISTRY_HTTP", true],
    ["REGISTRY_AUTH", true],
    ["RATE_LIMITED", true],
    ["OFFLINE_MISS", true],
    ["MANIFEST_UNKNOWN", true],
    ["DIGEST_MISMATCH", false],
    ["SIGNATURE_INVALID", false],
    ["REGISTRY_PROTOCOL", false],
    ["IO", false],
  ];
  for (const [code, expected] of cases) {
    await t.step(code, () => assert.equal(isTransferFailure(new DropzoneError(code, "x")), expected));
  }
  await t.step("plain errors are not", () => {
    assert.equal(isTransferFailure(new TypeError("connection reset")), false);
    assert.equal(isTransferFailure("REGISTRY_UNREACHABLE"), false);
  });
});

Deno.test("redactUrl() drops userinfo and secret query values, keeps harmless ones", async (t) => {
  const cases: [string, string][] = [
    ["https://user:pw@registry.test/v2/", "https://registry.test/v2/"],
    [
      "https://cdn.test/blob?X-Amz-Signature=abc&X-Amz-Credential=key&digest=sha256:1",
      "https://cdn.test/blob?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&digest=sha256%3A1",
    ],
    ["https://r.test/v2/_catalog?n=10&last=b", "https://r.test/v2/_catalog?n=10&last=b"],
    [
      "https://auth.test/token?service=r&scope=repository:a:pull&token=t",
      "https://auth.test/token?service=r&scope=repository%3Aa%3Apull&token=REDACTED",
    ],
    ["not a url", "(invalid URL)"],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assert.equal(redactUrl(input), expected));
  }
  assert.equal(redactUrl(new URL("https://a:b@r.test/x?sig=1")), "https://r.test/x?sig=REDACTED");
});

Deno.test("sanitizeRemoteText() strips control characters, collapses whitespace and caps length", async (t) => {
  const cases: [string, string, number?][] = [
    ["plain", "plain"],
    ["a\u001b[2Jb", "a [2Jb"],
    ["line1\r\nline2\ttab", "line1 line2 tab"],
    ["  padded \u0085 c1  ", "padded c1"],
    ["\u0007\u0000", ""],
    ["abcdefghij", "abcd…", 5],
    ["abcde", "abcde", 5],
  ];
  for (const [input, expected, max] of cases) {
    await t.step(JSON.stringify(input), () => assert.equal(sanitizeRemoteText(input, max), expected));
  }
  assert.equal(sanitizeRemoteText("x".repeat(500)).length, 200);
});

Deno.test("readCapped() returns the body up to the cap and refuses more, declared or streamed", async () => {
  const bytes = new Uint8Array(100).fill(7);
  assert.deepEqual(await readCapped(new Response(bytes), 100, "registry.test"), bytes);
  assert.deepEqual(await readCapped(new Response(null), 100, "registry.test"), new Uint8Array(0));
  await assert.rejects(
    readCapped(
      new Response(bytes, { headers: { "content-length": "101" } }),
      100,
      "registry.test",
      "manifest",
    ),
    (err) =>
      err instanceof DropzoneError && err.code === "REGISTRY_PROTOCOL" &&
      /Registry "registry\.test" sent a manifest larger than 100 bytes/.test(err.message),
  );
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(60));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(readCapped(new Response(stream), 100, "registry.test"), /larger than 100 bytes/);
  assert.ok(cancelled, "the body is cancelled so the connection is released");
});

Deno.test("parseJsonBody() parses JSON and turns anything else into REGISTRY_PROTOCOL with the message", () => {
  assert.deepEqual(parseJsonBody(new TextEncoder().encode('{"a":[1]}'), "unused"), { a: [1] });
  assert.throws(
    () => parseJsonBody(new TextEncoder().encode("{oops"), "Registry sent junk"),
    (err) =>
      err instanceof DropzoneError && err.code === "REGISTRY_PROTOCOL" &&
      err.message === "Registry sent junk" &&
      err.cause instanceof SyntaxError,
  );
});

Deno.test("parseOciErrors() reads errors[] and returns undefined for anything else", () => {
  assert.equal(
    parseOciErrors('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}'),
    "NAME_UNKNOWN: repository name not known",
  );
  assert.equal(parseOciErrors('{"errors":[null, 5, {"code":7}]}'), undefined);
  assert.equal(parseOciErrors("[]"), undefined);
  assert.equal(parseOciErrors("null"), undefined);
  assert.equal(parseOciErrors(""), undefined);
  assert.equal(
    parseOciErrors(JSON.stringify({ errors: [{ code: "X", message: "m".repeat(400) }] }))!.length,
    200,
  );
});
