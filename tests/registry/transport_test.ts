import assert from "node:assert/strict";
import { DropzoneError } from "../../src/errors.ts";
import { createTransport, isConnectionError, parseRetryAfter } from "../../src/registry/transport.ts";
import {
  errorFromResponse,
  isTransferFailure,
  readCapped,
  redactUrl,
  RegistryError,
} from "../../src/registry/registry_error.ts";
import { apiHost, isLoopbackHost, isPrivateAddress, schemeFor } from "../../src/registry/hosts.ts";
import { assertRegistryError } from "../support/registry_client.ts";

type Seen = { url: string; authorization: string | null; userAgent: string | null };

/** A fetch stub answering from a routing function and recording what it was sent. */
function stubFetch(
  route: (url: URL, n: number) => Response | Promise<Response>,
): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetchStub = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    seen.push({
      url: url.toString(),
      authorization: headers.get("authorization"),
      userAgent: headers.get("user-agent"),
    });
    assert.equal(init?.redirect, "manual");
    return Promise.resolve(route(url, seen.length));
  };
  return { fetch: fetchStub as typeof fetch, seen };
}

const redirect = (location: string, status = 307) =>
  new Response(null, { status, headers: { Location: location } });
const noSleep = () => Promise.resolve();

Deno.test("Transport.send() strips Authorization on cross-origin redirects and never re-adds it", async () => {
  const { fetch, seen } = stubFetch((url) => {
    if (url.host === "reg.example") {
      return url.pathname === "/blob" ? redirect("https://cdn.example/x?sig=secret") : new Response("ok");
    }
    return redirect("https://reg.example/final");
  });
  const t = createTransport({ fetch, userAgent: "dz/test", sleep: noSleep });
  const res = await t.send(new URL("https://reg.example/blob"), {
    registry: "reg.example",
    headers: { Authorization: "Bearer tok" },
  });
  assert.equal(await res.text(), "ok");
  assert.deepEqual(seen.map((s) => s.authorization), ["Bearer tok", null, null]);
  assert.ok(seen.every((s) => s.userAgent === "dz/test"));
});

Deno.test("Transport.send() refuses https→http downgrades and redirects into private addresses", async () => {
  const { fetch } = stubFetch((url) =>
    url.pathname === "/down" ? redirect("http://reg.example/plain") : redirect("https://10.0.0.1/internal")
  );
  const t = createTransport({ fetch, userAgent: "dz/test", sleep: noSleep });
  await assertRegistryError(
    t.send(new URL("https://reg.example/down"), { registry: "reg.example" }),
    "REGISTRY_PROTOCOL",
    "reg.example",
    ["https"],
  );
  await assertRegistryError(
    t.send(new URL("https://reg.example/ssrf"), { registry: "reg.example" }),
    "REGISTRY_PROTOCOL",
    "reg.example",
    ["private"],
  );
});

Deno.test("Transport.send() retries 5xx and connection errors with backoff, then reports REGISTRY_UNREACHABLE", async () => {
  const sleeps: number[] = [];
  let calls = 0;
  const flaky = ((_input: RequestInfo | URL) => {
    calls++;
    if (calls === 1) return Promise.reject(new TypeError("error sending request: connection reset"));
    if (calls === 2) return Promise.resolve(new Response("busy", { status: 503 }));
    return Promise.resolve(new Response("ok"));
  }) as typeof fetch;
  const t = createTransport({
    fetch: flaky,
    userAgent: "u",
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    random: () => 0.5,
  });
  assert.equal(await (await t.send(new URL("https://r.example/"), { registry: "r.example" })).text(), "ok");
  assert.deepEqual(sleeps, [250, 500]);

  const down = (() => Promise.reject(new TypeError("tcp connect error: Connection refused"))) as typeof fetch;
  const t2 = createTransport({ fetch: down, userAgent: "u", sleep: noSleep, retries: 2 });
  await assertRegistryError(
    t2.send(new URL("https://user:pw@r.example/v2/?token=abc"), { registry: "r.example" }),
    "REGISTRY_UNREACHABLE",
    "r.example",
  ).then((err) => {
    assert.ok(!err.message.includes("pw") && !err.message.includes("abc"), err.message);
  });
});

Deno.test("Transport.send() holds a per-host slot until the body is consumed", async () => {
  let active = 0;
  let peak = 0;
  const slowBody = (() => {
    active++;
    peak = Math.max(peak, active);
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((r) => setTimeout(r, 5));
        c.enqueue(new Uint8Array(1));
        c.close();
        active--;
      },
    });
    return Promise.resolve(new Response(body));
  }) as typeof fetch;
  const t = createTransport({ fetch: slowBody, userAgent: "u", concurrencyPerHost: 2 });
  await Promise.all(
    Array.from(
      { length: 6 },
      async () => await (await t.send(new URL("https://h.example/b"), { registry: "h" })).arrayBuffer(),
    ),
  );
  assert.equal(peak, 2);
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("7", 0), 7000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4000), 6000);
  assert.equal(parseRetryAfter("soon", 0), undefined);
  assert.equal(parseRetryAfter(null, 0), undefined);
});

Deno.test("redactUrl() removes userinfo and secret query values", () => {
  assert.equal(
    redactUrl("https://u:p@cdn.example/blob?X-Amz-Signature=abc&n=2&token=t"),
    "https://cdn.example/blob?X-Amz-Signature=REDACTED&n=2&token=REDACTED",
  );
});

Deno.test("errorFromResponse() surfaces OCI error JSON and caps the body", async () => {
  const body = JSON.stringify({ errors: [{ code: "DENIED", message: "requested access\nis denied" }] });
  const err = await errorFromResponse(new Response(body, { status: 403 }), {
    registry: "r.example",
    action: "fetch x",
  });
  assert.equal(err.code, "REGISTRY_AUTH");
  assert.equal(
    err.message,
    'Cannot fetch x: registry "r.example" denied access (403): DENIED: requested access is denied',
  );
  const huge = new Response(new Uint8Array(200_000).fill(65), { status: 500 });
  const e2 = await errorFromResponse(huge, { registry: "r.example", action: "fetch y" });
  assert.equal(e2.code, "REGISTRY_HTTP");
  await assert.rejects(readCapped(new Response("x".repeat(100)), 10, "r.example"), /larger than 10 bytes/);
});

Deno.test("hosts: API host mapping, loopback and private detection, scheme choice", () => {
  assert.equal(apiHost("docker.io"), "registry-1.docker.io");
  assert.equal(apiHost("index.docker.io"), "registry-1.docker.io");
  assert.equal(apiHost("GHCR.io"), "ghcr.io");
  for (const h of ["localhost", "localhost:5000", "127.0.0.1:80", "127.1.2.3", "[::1]:5000", "x.localhost"]) {
    assert.ok(isLoopbackHost(h), h);
  }
  assert.ok(!isLoopbackHost("128.0.0.1"));
  assert.ok(
    isPrivateAddress("192.168.1.2:5000") && isPrivateAddress("10.1.1.1") && isPrivateAddress("[fd00::1]"),
  );
  assert.ok(!isPrivateAddress("8.8.8.8") && !isPrivateAddress("ghcr.io"));
  assert.equal(schemeFor("localhost:5000"), "http:");
  assert.equal(schemeFor("reg.lan:5000", (h) => h === "reg.lan:5000"), "http:");
  assert.equal(schemeFor("ghcr.io"), "https:");
});

Deno.test("isConnectionError() decides by error type, never by message text", async (t) => {
  const cases: [string, unknown, boolean][] = [
    ["fetch TypeError", new TypeError("error sending request"), true],
    ["Deno ConnectionReset", new Deno.errors.ConnectionReset("x"), true],
    ["Deno UnexpectedEof", new Deno.errors.UnexpectedEof("x"), true],
    ["plain Error mentioning a reset", new Error("connection reset by peer"), false],
    ["abort", new DOMException("aborted", "AbortError"), false],
    [
      "stalled body (retryable, no status)",
      new RegistryError("REGISTRY_UNREACHABLE", "stalled", { retryable: true }),
      true,
    ],
    ["HTTP 503 answer", new RegistryError("REGISTRY_HTTP", "503", { status: 503, retryable: true }), false],
    ["trust failure", new DropzoneError("DIGEST_MISMATCH", "connection reset"), false],
  ];
  for (const [name, err, want] of cases) {
    await t.step(name, () => assert.equal(isConnectionError(err), want));
  }
});

Deno.test("errorFromResponse() returns a RegistryError carrying status and retryable", async (t) => {
  const cases: [number, string, boolean][] = [
    [404, "REGISTRY_HTTP", false],
    [401, "REGISTRY_AUTH", false],
    [429, "RATE_LIMITED", true],
    [500, "REGISTRY_HTTP", true],
    [503, "REGISTRY_HTTP", true],
    [400, "REGISTRY_HTTP", false],
  ];
  for (const [status, code, retryable] of cases) {
    await t.step(String(status), async () => {
      const err = await errorFromResponse(new Response("{}", { status }), { registry: "r", action: "x" });
      assert.ok(err instanceof RegistryError);
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.equal(err.retryable, retryable);
      assert.equal(isTransferFailure(err), true, "an HTTP answer is a failure to fetch, not a trust verdict");
    });
  }
  assert.equal(isTransferFailure(new DropzoneError("DIGEST_MISMATCH", "x")), false);
  assert.equal(isTransferFailure(new DropzoneError("SIGNATURE_INVALID", "x")), false);
});

Deno.test("Transport.send() refuses redirects from a public registry into private space, however it is spelled", async (t) => {
  const dns: Record<string, string[]> = {
    "reg.example": ["93.184.216.34"],
    "cdn.example": ["151.101.1.1", "2a04:4e42::1"],
    "rebind.example": ["93.184.216.35", "10.0.0.7"],
    "v6rebind.example": ["::ffff:127.0.0.1"],
    "registry.corp": ["10.0.0.5"],
    "cdn.corp": ["10.0.0.6"],
  };
  const resolveHost = (name: string) => Promise.resolve(dns[name] ?? []);
  const targets: [string, boolean][] = [
    ["https://[::ffff:127.0.0.1]/x", false],
    ["https://[::ffff:169.254.169.254]/latest/meta-data", false],
    ["https://[::ffff:7f00:1]/x", false],
    ["https://0.0.0.0/x", false],
    ["https://[::]/x", false],
    ["https://169.254.169.254/x", false],
    ["https://rebind.example/x", false],
    ["https://v6rebind.example/x", false],
    ["https://localhost/x", false],
    ["https://cdn.example/x", true],
    ["https://unresolvable.example/x", true],
  ];
  for (const [target, allowed] of targets) {
    await t.step(`${target} → ${allowed ? "followed" : "refused"}`, async () => {
      const { fetch, seen } = stubFetch((url) =>
        url.host === "reg.example" ? redirect(target) : new Response("ok")
      );
      const transport = createTransport({ fetch, userAgent: "dz/test", sleep: noSleep, resolveHost });
      const sent = transport.send(new URL("https://reg.example/blob"), { registry: "reg.example" });
      if (allowed) {
        assert.equal(await (await sent).text(), "ok");
      } else {
        await assertRegistryError(sent, "REGISTRY_PROTOCOL", "reg.example", ["private address"]);
        assert.equal(seen.length, 1, "the private target was never fetched");
      }
    });
  }
  await t.step("a registry that is itself private may redirect within the private network", async () => {
    const { fetch } = stubFetch((url) =>
      url.host === "registry.corp" ? redirect("https://cdn.corp/b") : new Response("ok")
    );
    const transport = createTransport({ fetch, userAgent: "dz/test", sleep: noSleep, resolveHost });
    const res = await transport.send(new URL("https://registry.corp/blob"), { registry: "registry.corp" });
    assert.equal(await res.text(), "ok");
  });
});

Deno.test("Transport.send() times a stalled body out after the idle limit even when the abort signal cannot interrupt the read", async () => {
  // A body that sends one chunk, then never answers again and ignores the request's abort signal.
  const stuck = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array(10));
        },
        pull: () => new Promise(() => {}),
      }),
    );
  const t = createTransport({
    fetch: (() => Promise.resolve(stuck())) as typeof fetch,
    userAgent: "u",
    timeoutMs: 200,
  });
  const res = await t.send(new URL("https://reg.example/blob"), { registry: "reg.example" });
  const started = Date.now();
  const err = await res.arrayBuffer().catch((e) => e);
  assert.ok(err instanceof RegistryError, String(err));
  assert.equal(err.code, "REGISTRY_UNREACHABLE");
  assert.equal(err.retryable, true);
  assert.match(err.message, /stalled: no data for 0.2 s/);
  assert.ok(Date.now() - started < 2000);
});
