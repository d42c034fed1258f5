import assert from "node:assert/strict";
import { basicAuthorization, parseChallenge } from "../../src/registry/auth.ts";

Deno.test("parseChallenge() parses schemes and parameters", async (t) => {
  const cases: [string, string, unknown][] = [
    [
      "docker hub",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/alpine:pull",
        },
      }],
    ],
    ["basic", 'Basic realm="Registry Realm"', [{ scheme: "basic", params: { realm: "Registry Realm" } }]],
    [
      "quoted commas and escapes",
      'Bearer realm="https://x/t?a=1,b=2",scope="repository:a:pull,push",error="say \\"hi\\""',
      [{
        scheme: "bearer",
        params: { realm: "https://x/t?a=1,b=2", scope: "repository:a:pull,push", error: 'say "hi"' },
      }],
    ],
    [
      "two challenges, spaces, case",
      'Basic realm="r" , BEARER Realm = "https://t" ,service=svc',
      [{ scheme: "basic", params: { realm: "r" } }, {
        scheme: "bearer",
        params: { realm: "https://t", service: "svc" },
      }],
    ],
    ["empty", "", []],
    ["scheme only", "Negotiate", [{ scheme: "negotiate", params: {} }]],
    ["garbage", '=,,"', []],
  ];
  for (const [name, header, expected] of cases) {
    await t.step(name, () => assert.deepEqual(parseChallenge(header), expected));
  }
});

Deno.test("basicAuthorization() encodes UTF-8 credentials", () => {
  assert.equal(basicAuthorization("u", "p"), "Basic dTpw");
  assert.equal(basicAuthorization("ü", "p:w"), "Basic w7w6cDp3");
});

Deno.test("requestToken() refuses to send credentials to a plain-http realm of a remote host", async () => {
  const { requestToken } = await import("../../src/registry/auth.ts");
  const { createTransport } = await import("../../src/registry/transport.ts");
  let called = false;
  const transport = createTransport({
    fetch: (() => {
      called = true;
      return Promise.resolve(Response.json({ token: "t" }));
    }) as typeof fetch,
    userAgent: "u",
  });
  await assert.rejects(
    requestToken(transport, {
      registry: "reg.example",
      realm: "http://auth.example/token",
      scopes: [],
      credential: { username: "u", password: "p" },
      now: 0,
    }),
    /plain http/,
  );
  assert.equal(called, false);
  const anon = await requestToken(transport, {
    registry: "reg.example",
    realm: "http://auth.example/token",
    scopes: [],
    now: 0,
  });
  assert.deepEqual(anon, { token: "t", expiresAt: 55_000 });
});
