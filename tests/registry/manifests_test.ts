import assert from "node:assert/strict";
import type { ErrorCode } from "../../src/errors.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import { MANIFEST_ACCEPT, MEDIA_TYPES } from "../../src/oci/media_types.ts";
import {
  getManifest,
  headManifest,
  parseRateLimit,
  refName,
  repoRequest,
} from "../../src/registry/manifests.ts";
import { jsonResponse, scriptedContext } from "../support/scripted_transport.ts";
import { rejectsCode } from "../support/registry_client.ts";

const REPO = { registry: "registry.test", repository: "team/app" };
const encoder = new TextEncoder();
const DESCRIPTOR = { mediaType: MEDIA_TYPES.OCI_CONFIG, digest: `sha256:${"a".repeat(64)}`, size: 2 };
const MANIFEST = encoder.encode(JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.OCI_MANIFEST,
  config: DESCRIPTOR,
  layers: [],
}));
const DIGEST = await sha256Digest(MANIFEST);

function manifestResponse(bytes: Uint8Array, headers: Record<string, string> = {}) {
  return new Response(bytes as BufferSource, {
    headers: { "content-type": MEDIA_TYPES.OCI_MANIFEST, ...headers },
  });
}

Deno.test("refName() and repoRequest() name the reference and the pull scope", () => {
  assert.equal(refName(REPO, "1.0"), "registry.test/team/app:1.0");
  assert.equal(refName(REPO, DIGEST), `registry.test/team/app@${DIGEST}`);
  assert.deepEqual(repoRequest(REPO), {
    registry: "registry.test",
    repository: "team/app",
    scope: "repository:team/app:pull",
  });
});

Deno.test("getManifest() GETs with every accepted media type and computes the digest from the bytes", async () => {
  const ctx = scriptedContext(() =>
    manifestResponse(MANIFEST, { "docker-content-digest": `sha256:${"f".repeat(64)}` })
  );
  const fetched = await getManifest(ctx, REPO, "1.0");
  assert.equal(fetched.digest, DIGEST, "the digest comes from the bytes, never the header");
  assert.equal(fetched.mediaType, MEDIA_TYPES.OCI_MANIFEST);
  assert.equal(fetched.manifest.kind, "manifest");
  assert.deepEqual(fetched.bytes, MANIFEST);
  const req = ctx.http.requests[0]!;
  assert.equal(req.path, "/v2/team/app/manifests/1.0");
  assert.equal(req.scope, "repository:team/app:pull");
  assert.equal(req.headers?.Accept, MANIFEST_ACCEPT.join(", "));
});

Deno.test("getManifest() refuses invalid references before sending anything", async (t) => {
  for (
    const reference of [
      "bad tag",
      "",
      ".hidden",
      "-dash",
      "a".repeat(129),
      "sha256:abc",
      "x/y",
      "1.0\n",
      "1.0\u001b[2J",
    ]
  ) {
    await t.step(JSON.stringify(reference), async () => {
      const ctx = scriptedContext(() => manifestResponse(MANIFEST));
      const err = await rejectsCode(
        getManifest(ctx, REPO, reference),
        "INVALID_REFERENCE",
        /Invalid tag or digest/,
      );
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(err.message, /[\u0000-\u001f]/, "the bad reference is quoted with escapes");
      assert.equal(ctx.http.requests.length, 0);
    });
  }
  const ctx = scriptedContext(() => manifestResponse(MANIFEST));
  await getManifest(ctx, REPO, `_${"a".repeat(127)}`);
  assert.equal(ctx.http.requests.length, 1, "a 128-character tag is allowed");
});

Deno.test("getManifest() by digest refuses bytes that hash to something else (exit 3)", async () => {
  const other = `sha256:${"b".repeat(64)}` as const;
  const ctx = scriptedContext(() => manifestResponse(MANIFEST));
  const err = await rejectsCode(
    getManifest(ctx, REPO, other),
    "DIGEST_MISMATCH",
    new RegExp(`hashes to ${DIGEST}`),
  );
  assert.equal(err.exitCode, 3);
  assert.equal((await getManifest(ctx, REPO, DIGEST)).digest, DIGEST);
});

Deno.test("getManifest() turns hostile documents into one-line errors naming the registry", async (t) => {
  const cases: { name: string; body: string; contentType?: string; code: ErrorCode; pattern: RegExp }[] = [
    { name: "not JSON", body: "{nope", code: "REGISTRY_PROTOCOL", pattern: /not valid JSON/ },
    { name: "JSON array", body: "[]", code: "REGISTRY_PROTOCOL", pattern: /must be a JSON object/ },
    { name: "schema 1", body: '{"schemaVersion":1}', code: "REGISTRY_PROTOCOL", pattern: /schemaVersion 1/ },
    {
      name: "unknown media type",
      body: '{"schemaVersion":2,"mediaType":"application/x-weird"}',
      code: "UNSUPPORTED_MEDIA_TYPE",
      pattern: /application\/x-weird/,
    },
    {
      name: "media type only in the header",
      body: '{"schemaVersion":2}',
      contentType: "application/vnd.docker.distribution.manifest.v1+prettyjws",
      code: "UNSUPPORTED_MEDIA_TYPE",
      pattern: /v1\+prettyjws/,
    },
    {
      name: "bad layer digest",
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        config: DESCRIPTOR,
        layers: [{ ...DESCRIPTOR, digest: "sha256:../../etc" }],
      }),
      code: "REGISTRY_PROTOCOL",
      pattern: /layers\[0\]\.digest must be a sha256 digest/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const ctx = scriptedContext(() =>
        new Response(c.body, { headers: { "content-type": c.contentType ?? MEDIA_TYPES.OCI_MANIFEST } })
      );
      const err = await rejectsCode(getManifest(ctx, REPO, "1.0"), c.code, c.pattern);
      assert.match(
        err.message,
        /^Cannot read manifest "registry\.test\/team\/app:1\.0" from registry "registry\.test": /,
      );
      assert.equal(err.exitCode, 1);
    });
  }
});

Deno.test("getManifest() refuses a manifest over the size cap and maps 404 to MANIFEST_UNKNOWN", async () => {
  const big = scriptedContext(() => manifestResponse(MANIFEST), { maxManifestBytes: MANIFEST.length - 1 });
  await rejectsCode(getManifest(big, REPO, "1.0"), "REGISTRY_PROTOCOL", /larger than/);
  const missing = scriptedContext(() =>
    jsonResponse({ errors: [{ code: "MANIFEST_UNKNOWN" }] }, { status: 404 })
  );
  await rejectsCode(
    getManifest(missing, REPO, "9.9"),
    "MANIFEST_UNKNOWN",
    /"registry\.test\/team\/app:9\.9".*404.*MANIFEST_UNKNOWN/,
  );
  const denied = scriptedContext(() => new Response("", { status: 401 }));
  await rejectsCode(getManifest(denied, REPO, "1.0"), "REGISTRY_AUTH");
});

Deno.test("headManifest() trusts complete headers, checks them against a digest reference, null on 404", async () => {
  const headers = {
    "docker-content-digest": DIGEST,
    "content-length": String(MANIFEST.length),
    "content-type": `${MEDIA_TYPES.OCI_MANIFEST}; charset=utf-8`,
    "ratelimit-limit": "100;w=21600",
    "ratelimit-remaining": "76;w=21600",
  };
  const ctx = scriptedContext(() => new Response(null, { headers }));
  assert.deepEqual(await headManifest(ctx, REPO, "1.0"), {
    digest: DIGEST,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    size: MANIFEST.length,
    rateLimit: { limit: 100, remaining: 76, windowSeconds: 21600 },
  });
  assert.equal(ctx.http.requests[0]!.method, "HEAD");
  await rejectsCode(headManifest(ctx, REPO, `sha256:${"c".repeat(64)}`), "DIGEST_MISMATCH", /reports digest/);
  assert.equal(
    await headManifest(scriptedContext(() => new Response(null, { status: 404 })), REPO, "1.0"),
    null,
  );
  await rejectsCode(
    headManifest(scriptedContext(() => new Response(null, { status: 500 })), REPO, "1.0"),
    "REGISTRY_HTTP",
    /check manifest.*answered 500/,
  );
});

Deno.test("headManifest() falls back to GET when a header is missing or malformed", async (t) => {
  const cases: [string, Record<string, string>][] = [
    ["no digest header", { "content-length": "10", "content-type": MEDIA_TYPES.OCI_MANIFEST }],
    ["malformed digest header", {
      "docker-content-digest": "sha256:xyz",
      "content-length": "10",
      "content-type": MEDIA_TYPES.OCI_MANIFEST,
    }],
    ["no content type", { "docker-content-digest": DIGEST, "content-length": "10" }],
  ];
  for (const [name, headers] of cases) {
    await t.step(name, async () => {
      const ctx = scriptedContext((req) =>
        req.method === "HEAD" ? new Response(null, { headers }) : manifestResponse(MANIFEST)
      );
      assert.deepEqual(await headManifest(ctx, REPO, "1.0"), {
        digest: DIGEST,
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        size: MANIFEST.length,
      });
      assert.deepEqual(ctx.http.requests.map((r) => r.method ?? "GET"), ["HEAD", "GET"]);
    });
  }
  await t.step("the fallback GET finding nothing is null", async () => {
    const ctx = scriptedContext((req) =>
      req.method === "HEAD" ? new Response(null) : new Response("", { status: 404 })
    );
    assert.equal(await headManifest(ctx, REPO, "1.0"), null);
  });
});

Deno.test("parseRateLimit() reads Docker Hub's RateLimit headers and needs both", async (t) => {
  const cases: [Record<string, string>, ReturnType<typeof parseRateLimit>][] = [
    [{ "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "87;w=21600" }, {
      limit: 100,
      remaining: 87,
      windowSeconds: 21600,
    }],
    [{ "ratelimit-limit": "100;w=3600", "ratelimit-remaining": "5" }, {
      limit: 100,
      remaining: 5,
      windowSeconds: 3600,
    }],
    [{ "ratelimit-limit": " 200 ; w = 60", "ratelimit-remaining": "0;w=60" }, {
      limit: 200,
      remaining: 0,
      windowSeconds: 60,
    }],
    [{ "ratelimit-limit": "100", "ratelimit-remaining": "1" }, { limit: 100, remaining: 1 }],
    [{ "ratelimit-limit": "100;w=21600" }, undefined],
    [{ "ratelimit-limit": "lots", "ratelimit-remaining": "1" }, undefined],
    [{}, undefined],
  ];
  for (const [headers, expected] of cases) {
    await t.step(
      JSON.stringify(headers),
      () => assert.deepEqual(parseRateLimit(new Headers(headers)), expected),
    );
  }
});
