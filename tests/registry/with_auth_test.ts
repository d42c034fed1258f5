import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import type { SendOptions, Transport } from "../../src/registry/transport.ts";
import type { Credential } from "../../src/registry/types.ts";
import { withAuth } from "../../src/registry/with_auth.ts";

/** A scripted transport: a registry at 127.0.0.1:5000 with a token realm, recording every request. */
function scriptedTransport(challenge: string) {
  const sent: { url: string; authorization: string | null }[] = [];
  const transport: Transport = {
    send(url: URL, options: SendOptions) {
      const authorization = new Headers(options.headers).get("authorization");
      sent.push({ url: url.href, authorization });
      if (url.pathname === "/token") {
        return Promise.resolve(Response.json({ token: `t${sent.length}`, expires_in: 300 }));
      }
      if (authorization === null || authorization === "Bearer wrong") {
        return Promise.resolve(new Response("", { status: 401, headers: { "www-authenticate": challenge } }));
      }
      return Promise.resolve(new Response("ok"));
    },
    isPrivateHost: () => Promise.resolve(false),
  };
  return { transport, sent };
}

const BEARER = 'Bearer realm="http://127.0.0.1:5000/token",service="svc"';

Deno.test("withAuth() answers a bearer challenge once and reuses the token for the same scope", async () => {
  const { transport, sent } = scriptedTransport(BEARER);
  const http = withAuth(transport, { credentials: () => Promise.resolve(undefined) });
  const req = { registry: "127.0.0.1:5000", path: "/v2/x/manifests/1", scope: "repository:x:pull" };
  assert.equal((await http.send(req)).status, 200);
  assert.equal((await http.send(req)).status, 200);
  assert.deepEqual(sent.map((s) => [new URL(s.url).pathname, s.authorization]), [
    ["/v2/x/manifests/1", null],
    ["/token", null],
    ["/v2/x/manifests/1", "Bearer t2"],
    ["/v2/x/manifests/1", "Bearer t2"], // scheme and token cached: no second 401, no second token
  ]);
  assert.equal(http.originFor("127.0.0.1:5000"), "http://127.0.0.1:5000");
});

Deno.test("withAuth() does not cache a token fetched with an explicit credential", async () => {
  const { transport, sent } = scriptedTransport(BEARER);
  const http = withAuth(transport, { credentials: () => Promise.resolve(undefined) });
  const credential: Credential = { username: "u", password: "p" };
  const req = { registry: "127.0.0.1:5000", path: "/v2/", credential };
  await http.send(req);
  await http.send({ registry: "127.0.0.1:5000", path: "/v2/" });
  assert.equal(sent.filter((s) => s.url.endsWith("/token") || s.url.includes("/token?")).length, 2);
});

Deno.test("withAuth() reports REGISTRY_AUTH with a login hint when Basic is asked and no credential exists", async () => {
  const { transport } = scriptedTransport('Basic realm="r"');
  const http = withAuth(transport, { credentials: () => Promise.resolve(undefined) });
  await assert.rejects(http.send({ registry: "127.0.0.1:5000", path: "/v2/" }), (err) => {
    assert.ok(isDropzoneError(err, "REGISTRY_AUTH"));
    assert.match(err.hint ?? "", /dz login 127\.0\.0\.1:5000/);
    return true;
  });
});
