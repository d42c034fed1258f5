import assert from "node:assert/strict";
import { catalog, listTags } from "../../src/registry/lists.ts";
import { jsonResponse, SCRIPTED_ORIGIN, scriptedContext } from "../support/scripted_transport.ts";
import { rejectsCode } from "../support/registry_client.ts";

const REPO = { registry: "registry.test", repository: "team/app" };

/** Pages of tags keyed by request path; each page links to the next with `link(next)`. */
function paged(pages: Record<string, { tags: unknown; link?: string }>) {
  return scriptedContext((req) => {
    const page = pages[req.path];
    if (!page) return jsonResponse({ errors: [{ code: "NOT_FOUND", message: req.path }] }, { status: 404 });
    return jsonResponse(
      { name: "team/app", tags: page.tags },
      page.link ? { headers: { link: page.link } } : {},
    );
  });
}

Deno.test("listTags() follows Link rel=next pages in the forms registries send", async (t) => {
  const cases: [string, (next: string) => string][] = [
    ["quoted rel", (next) => `<${next}>; rel="next"`],
    ["unquoted rel", (next) => `<${next}>; rel=next`],
    ["absolute URL on the same origin", (next) => `<${SCRIPTED_ORIGIN}${next}>; rel="next"`],
    ["extra parameters", (next) => `<${next}>; type="application/json"; rel="next"`],
    ["upper-case REL", (next) => `<${next}>; REL="NEXT"`],
    [
      "next after a prev link in the same header",
      (next) => `</v2/team/app/tags/list?n=2>; rel="prev", <${next}>; rel="next"`,
    ],
  ];
  for (const [name, link] of cases) {
    await t.step(name, async () => {
      const second = "/v2/team/app/tags/list?n=2&last=1.1";
      const third = "/v2/team/app/tags/list?n=2&last=2.0";
      const ctx = paged({
        "/v2/team/app/tags/list?n=2": { tags: ["1.0", "1.1"], link: link(second) },
        [second]: { tags: ["2.0", "2.1"], link: link(third) },
        [third]: { tags: ["latest"] },
      });
      assert.deepEqual(await listTags(ctx, REPO, { pageSize: 2 }), ["1.0", "1.1", "2.0", "2.1", "latest"]);
      assert.deepEqual(ctx.http.requests.map((r) => r.path), ["/v2/team/app/tags/list?n=2", second, third]);
      assert.ok(ctx.http.requests.every((r) => r.scope === "repository:team/app:pull"));
    });
  }
});

Deno.test("listTags() without pageSize asks once and treats null or missing tags as none", async () => {
  assert.deepEqual(await listTags(paged({ "/v2/team/app/tags/list": { tags: ["a"] } }), REPO), ["a"]);
  assert.deepEqual(await listTags(paged({ "/v2/team/app/tags/list": { tags: null } }), REPO), []);
  assert.deepEqual(await listTags(scriptedContext(() => jsonResponse({ name: "x" })), REPO), []);
});

Deno.test("listTags() ignores a Link header without rel=next", async () => {
  const ctx = paged({
    "/v2/team/app/tags/list": { tags: ["a"], link: '</v2/team/app/tags/list?last=z>; rel="prev"' },
  });
  assert.deepEqual(await listTags(ctx, REPO), ["a"]);
  assert.equal(ctx.http.requests.length, 1);
});

Deno.test("listTags() refuses a pagination link to another origin, redacting its query", async () => {
  const ctx = paged({
    "/v2/team/app/tags/list": { tags: ["a"], link: '<https://evil.test/steal?token=secret&n=1>; rel="next"' },
  });
  const err = await rejectsCode(
    listTags(ctx, REPO),
    "REGISTRY_PROTOCOL",
    /pagination link to another host \(https:\/\/evil\.test\/steal\?token=REDACTED&n=1\)/,
  );
  assert.ok(!err.message.includes("secret"));
  assert.equal(ctx.http.requests.length, 1, "the foreign link is never followed");
});

Deno.test("listTags() stops pagination that loops or never ends", async () => {
  const loop = paged({
    "/v2/team/app/tags/list": { tags: ["a"], link: '</v2/team/app/tags/list?last=a>; rel="next"' },
    "/v2/team/app/tags/list?last=a": { tags: ["b"], link: '</v2/team/app/tags/list>; rel="next"' },
  });
  await rejectsCode(listTags(loop, REPO), "REGISTRY_PROTOCOL", /paginates without end/);
  assert.equal(loop.http.requests.length, 2);
  let n = 0;
  const endless = scriptedContext(() =>
    jsonResponse({ tags: [`t${n}`] }, {
      headers: { link: `</v2/team/app/tags/list?last=t${n++}>; rel="next"` },
    })
  );
  await rejectsCode(listTags(endless, REPO), "REGISTRY_PROTOCOL", /paginates without end/);
  assert.equal(endless.http.requests.length, 1000);
});

Deno.test("listTags() refuses malformed tag lists", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", "<html>", /tags list that is not JSON/],
    ["tags not a list", '{"tags":"1.0"}', /malformed tags list/],
    ["a tag that is not a string", '{"tags":["1.0",2]}', /malformed tags list/],
  ];
  for (const [name, body, pattern] of cases) {
    await t.step(name, async () => {
      await rejectsCode(
        listTags(scriptedContext(() => jsonResponse(body)), REPO),
        "REGISTRY_PROTOCOL",
        pattern,
      );
    });
  }
  await t.step("a list over 4 MiB", async () => {
    const huge = JSON.stringify({ tags: Array.from({ length: 500_000 }, (_, i) => `tag-${i}`) });
    await rejectsCode(
      listTags(scriptedContext(() => jsonResponse(huge)), REPO),
      "REGISTRY_PROTOCOL",
      /larger than 4 MiB/,
    );
  });
});

Deno.test("listTags() maps errors on any page: 404 is MANIFEST_UNKNOWN", async () => {
  await rejectsCode(
    listTags(paged({}), REPO),
    "MANIFEST_UNKNOWN",
    /list tags of "registry\.test\/team\/app".*404/,
  );
  const secondFails = paged({
    "/v2/team/app/tags/list": { tags: ["a"], link: '</v2/team/app/tags/list?last=a>; rel="next"' },
  });
  await rejectsCode(listTags(secondFails, REPO), "MANIFEST_UNKNOWN");
  await rejectsCode(
    listTags(scriptedContext(() => new Response("", { status: 401 })), REPO),
    "REGISTRY_AUTH",
  );
});

Deno.test("catalog() lists every page of repositories with the catalog scope", async () => {
  const ctx = scriptedContext((req) =>
    req.path === "/v2/_catalog?n=1"
      ? jsonResponse({ repositories: ["a"] }, { headers: { link: '</v2/_catalog?n=1&last=a>; rel="next"' } })
      : jsonResponse({ repositories: ["b/c"] })
  );
  assert.deepEqual(await catalog(ctx, "registry.test", { pageSize: 1 }), ["a", "b/c"]);
  assert.ok(
    ctx.http.requests.every((r) => r.scope === "registry:catalog:*" && r.registry === "registry.test"),
  );
});

Deno.test("catalog() is CATALOG_UNAVAILABLE for 401, 403, 404 and 405, other errors stay registry errors", async (t) => {
  for (const status of [401, 403, 404, 405]) {
    await t.step(String(status), async () => {
      const err = await rejectsCode(
        catalog(scriptedContext(() => new Response("", { status })), "registry.test"),
        "CATALOG_UNAVAILABLE",
        new RegExp(`does not offer a repository catalog \\(${status}\\)`),
      );
      assert.match(err.hint ?? "", /dz tags/);
    });
  }
  await t.step("500", async () => {
    await rejectsCode(
      catalog(scriptedContext(() => new Response("", { status: 500 })), "registry.test"),
      "REGISTRY_HTTP",
      /list repositories/,
    );
  });
});
