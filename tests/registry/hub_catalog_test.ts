import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { hubBaseUrl, listHubRepositories } from "../../src/registry/hub_catalog.ts";
import { runDz } from "../support/cli_harness.ts";

/** A fake hub.docker.com serving /v2/namespaces/<ns>/repositories in pages of 2. */
function fakeHub(repos: Record<string, string[]>, options: { foreignNext?: string } = {}) {
  const requests: { path: string; search: string; authorization: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests.push({
      path: url.pathname,
      search: url.search,
      authorization: req.headers.get("authorization"),
    });
    const m = /^\/v2\/namespaces\/([^/]+)\/repositories$/.exec(url.pathname);
    const names = m ? repos[m[1]!] : undefined;
    if (!names) return Response.json({ message: "not found" }, { status: 404 });
    const page = Number(url.searchParams.get("page") ?? "1");
    const slice = names.slice((page - 1) * 2, page * 2);
    const more = page * 2 < names.length;
    const next = more
      ? options.foreignNext ?? `${url.origin}${url.pathname}?page_size=100&page=${page + 1}`
      : null;
    return Response.json({
      count: names.length,
      next,
      previous: null,
      results: slice.map((name) => ({ name, namespace: m![1], repository_type: "image" })),
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("listHubRepositories follows the pages of one namespace and skips malformed names", async () => {
  await using hub = fakeHub({ chainguard: ["python", "jq", "curl", "BAD name", "node", "go"] });
  const repos = await listHubRepositories({ fetch, baseUrl: hub.url, namespace: "chainguard" });
  assert.deepEqual(repos, [
    "chainguard/curl",
    "chainguard/go",
    "chainguard/jq",
    "chainguard/node",
    "chainguard/python",
  ]);
  assert.equal(hub.requests.length, 3);
  assert.ok(
    hub.requests.every((r) =>
      r.path === "/v2/namespaces/chainguard/repositories" && r.authorization === null
    ),
  );
  await assert.rejects(
    listHubRepositories({ fetch, baseUrl: hub.url, namespace: "nobody" }),
    (e) => isDropzoneError(e, "CATALOG_UNAVAILABLE") && /no namespace "nobody"/.test(e.message),
  );
});

Deno.test("listHubRepositories never follows a next page on another origin, and needs https off loopback", async () => {
  await using hub = fakeHub({ chainguard: ["a", "b", "c"] }, { foreignNext: "https://evil.example/steal" });
  assert.deepEqual(await listHubRepositories({ fetch, baseUrl: hub.url, namespace: "chainguard" }), [
    "chainguard/a",
    "chainguard/b",
  ]);
  assert.throws(() => hubBaseUrl("http://hub.example.com"), (e) => isDropzoneError(e, "INVALID_ARGUMENT"));
  assert.equal(hubBaseUrl(undefined).href, "https://hub.docker.com/");
});

Deno.test("dz search on the default registry (Docker Hub) lists Chainguard's images from the hub API", async () => {
  await using hub = fakeHub({ chainguard: ["python", "jq", "curl", "jq-slim", "node"] });
  const home = await Deno.makeTempDir({ prefix: "dz-hub-" });
  try {
    const env = { DZ_DOCKER_HUB_API: hub.url };
    // Any request that is not to the fake hub fails the test: no registry, no internet.
    const guarded: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (!url.startsWith(hub.url)) return Promise.reject(new Error(`unexpected request to ${url}`));
      return fetch(input, init);
    };
    const all = await runDz(["search"], { home, env, fetch: guarded });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.trim().split("\n"), ["curl", "jq", "jq-slim", "node", "python"]);
    const some = JSON.parse((await runDz(["search", "jq", "--json"], { home, env, fetch: guarded })).stdout);
    assert.deepEqual(some, {
      registry: "chainguard",
      registry_name: "chainguard",
      registry_host: "docker.io",
      repositories: ["jq", "jq-slim"],
      cached: true,
    });
    assert.equal(hub.requests.length, 3, "the second search is served from the cache");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
