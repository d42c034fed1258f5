import assert from "node:assert/strict";
import { IDENTITY, ISSUER, runWrapper, startE2E } from "../support/e2e.ts";
import { type Fault, startFaultProxy } from "../support/fault_proxy.ts";

/** Adds registry "px" = the proxy, with the same policy as "lab". */
async function addProxyRegistry(env: Awaited<ReturnType<typeof startE2E>>, host: string) {
  const r = await env.dz([
    "add",
    "registry",
    "px",
    `${host}/apps`,
    "--issuer",
    ISSUER,
    "--identity",
    IDENTITY,
    "--trusted-root",
    env.trustedRootPath,
  ]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("a signature blob that cannot be fetched is exit 1 with the network hint, never 'tampered with'", async (t) => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "fetched\n");
  let fault: Fault = undefined;
  // Fault only blobs that are not the image's own (config, layers): the signature layers.
  await using proxy = await startFaultProxy(env.registry.url, ({ method, path }) => {
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
    return method === "GET" && digest && !pub.image.blobs.has(digest as never) ? fault : undefined;
  });
  await addProxyRegistry(env, proxy.host);
  const packages = () => [...Deno.readDirSync(`${env.home}/packages`)].map((e) => e.name);

  for (const kind of ["reset", "503", "short"] as const) {
    await t.step(`signature blob ${kind}`, async () => {
      fault = kind;
      const before = proxy.faulted.length;
      const r = await env.dz(["install", "px/cat"], { DZ_HTTP_TIMEOUT_MS: "2000" });
      assert.ok(proxy.faulted.length > before, "the proxy faulted the signature blob");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^error: Cannot check the signatures of /m);
      assert.match(r.stderr, /^hint: .*(network|try again)/im);
      assert.doesNotMatch(r.stderr, /tampered|no valid signature|No signature found/i);
      assert.deepEqual(packages(), [], "nothing installed");
    });
  }

  await t.step("--offline with the signature not cached says so (exit 1)", async () => {
    fault = undefined;
    const r = await env.dz(["install", "px/cat", "--offline"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /not in the local cache/);
    assert.doesNotMatch(r.stderr, /tampered|No signature found/i);
  });

  await t.step("with the fault gone the same install verifies and succeeds", async () => {
    fault = undefined;
    const r = await env.dz(["install", "px/cat"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "fetched\n");
  });
});
