import assert from "node:assert/strict";
import { DropzoneError } from "../../src/errors.ts";
import { basicAuthorization, parseChallenge } from "../../src/registry/auth.ts";
import type { Credential } from "../../src/registry/types.ts";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { buildImage, pushImage } from "../support/image_builder.ts";
import { testClient } from "../support/registry_client.ts";

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

/**
 * A client that reaches the fake registry under public-looking names (`https://<name>/…` is sent to the fake
 * over loopback), with DNS answers injected, so "a public registry" can be tested in-process.
 */
function publicNamesClient(
  reg: { host: string },
  options: { names: string[]; dns?: Record<string, string[]>; credential?: Credential; insecure?: string[] },
) {
  const fetched: string[] = [];
  const routed: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    fetched.push(url.toString());
    if (options.names.includes(url.hostname)) {
      url.protocol = "http:";
      url.host = reg.host;
    }
    return fetch(url, init);
  };
  const { client } = testClient({
    fetch: routed,
    ...(options.credential ? { credential: options.credential } : {}),
    resolveHost: (name) => Promise.resolve(options.dns?.[name] ?? ["93.184.216.34"]),
    isInsecure: (host) => options.insecure?.includes(host) ?? false,
  });
  return { client, fetched };
}

Deno.test("token realms: credentials only over https (or to loopback), never into private space from a public registry", async (t) => {
  await using reg = await startFakeRegistry({ auth: "bearer", users: { alice: "secret" } });
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "a" }] }] });
  await pushImage(reg, "team/app", "1.0", image);
  const port = reg.host.split(":")[1];
  const alice = { username: "alice", password: "secret" };
  const refused: [string, string, RegExp, boolean][] = [
    // [realm the public registry names, why, message, with credentials]
    [`http://127.0.0.1:${port}/token`, "loopback literal", /private address space/, true],
    [`http://127.0.0.1:${port}/token`, "loopback literal, anonymous", /private address space/, false],
    [`https://[::ffff:127.0.0.1]:${port}/token`, "IPv4-mapped loopback", /private address space/, true],
    [
      "https://[::ffff:169.254.169.254]/token",
      "IPv4-mapped metadata address",
      /private address space/,
      false,
    ],
    ["https://[::ffff:7f00:1]/token", "hex IPv4-mapped loopback", /private address space/, true],
    ["https://0.0.0.0/token", "unspecified address", /private address space/, true],
    ["https://[::]/token", "unspecified IPv6", /private address space/, true],
    ["https://rebind.example/token", "a name that resolves to loopback", /private address space/, true],
    [
      "https://meta.example/token",
      "a name that resolves to a mapped metadata address",
      /private address space/,
      false,
    ],
    ["http://auth.public.example/token", "plain http to a remote realm", /plain http/, true],
  ];
  for (const [realm, why, message, withCredential] of refused) {
    await t.step(`refused: ${why}`, async () => {
      reg.behaviour.realm = realm;
      const before = reg.tokenRequests();
      const { client, fetched } = publicNamesClient(reg, {
        names: ["reg.public.example", "auth.public.example"],
        dns: { "rebind.example": ["127.0.0.1"], "meta.example": ["::ffff:169.254.169.254"] },
        ...(withCredential ? { credential: alice } : {}),
      });
      const err = await client.getManifest({ registry: "reg.public.example", repository: "team/app" }, "1.0")
        .catch((e) => e);
      assert.ok(err instanceof DropzoneError, String(err));
      assert.match(err.message, message);
      assert.equal(err.exitCode, 1);
      assert.equal(reg.tokenRequests(), before, "the realm was never contacted");
      assert.ok(fetched.every((u) => !u.includes("/token")), fetched.join(" "));
    });
  }
  await t.step(
    "refused: credentials to a plain-http realm of an --insecure (http) remote registry",
    async () => {
      reg.behaviour.realm = "http://auth.public.example/token";
      const before = reg.tokenRequests();
      const { client } = publicNamesClient(reg, {
        names: ["reg.insecure.example", "auth.public.example"],
        insecure: ["reg.insecure.example"],
        credential: alice,
      });
      const err = await client.getManifest(
        { registry: "reg.insecure.example", repository: "team/app" },
        "1.0",
      )
        .catch((e) => e);
      assert.match(String(err?.message), /plain http/);
      assert.equal(reg.tokenRequests(), before);
    },
  );
  await t.step("allowed: an https realm on a public host; the token goes only to the registry", async () => {
    reg.behaviour.realm = "https://auth.public.example/token";
    const mark = reg.requests.length;
    const { client } = publicNamesClient(reg, {
      names: ["reg.public.example", "auth.public.example"],
      credential: alice,
    });
    const m = await client.getManifest({ registry: "reg.public.example", repository: "team/app" }, "1.0");
    assert.equal(m.digest, image.digest);
    const seen = reg.requests.slice(mark);
    const tokenCalls = seen.filter((r) => r.path === "/token");
    assert.equal(tokenCalls.length, 1);
    assert.match(tokenCalls[0]!.authorization ?? "", /^Basic /, "Basic credentials went to the https realm");
    assert.ok(
      seen.filter((r) => r.path.startsWith("/v2/")).some((r) => r.authorization?.startsWith("Bearer ")),
    );
    assert.ok(
      tokenCalls.every((r) => !r.authorization?.startsWith("Bearer ")),
      "the token never goes to the realm",
    );
  });
  await t.step(
    "allowed: a loopback registry may use a plain-http loopback realm with credentials",
    async () => {
      reg.behaviour.realm = undefined;
      const { client } = testClient({ credential: alice });
      const m = await client.getManifest({ registry: reg.host, repository: "team/app" }, "1.0");
      assert.equal(m.digest, image.digest);
    },
  );
});
