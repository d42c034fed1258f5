import assert from "node:assert/strict";
import { IDENTITY, ISSUER, runWrapper, startE2E } from "../support/e2e.ts";
import { type Fault, startFaultProxy } from "../support/fault_proxy.ts";
import { canMount, mountTmpfs } from "../support/tmpfs.ts";

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

Deno.test("a layer that stalls mid-transfer resumes with Range after the idle limit; one that stays short is exit 1", async (t) => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "resumed\n");
  const layer = pub.image.layers[0]!.digest;
  let fault: "stall" | "short" | undefined;
  let once = false;
  await using proxy = await startFaultProxy(env.registry.url, ({ method, path, range }) => {
    if (method !== "GET" || !path.endsWith(`/blobs/${layer}`) || fault === undefined) return undefined;
    if (fault === "stall") {
      if (range !== null || once) return undefined;
      once = true;
    }
    return fault;
  });
  await addProxyRegistry(env, proxy.host);

  await t.step("short on every attempt: exit 1 naming the shortfall, not a digest mismatch", async () => {
    fault = "short";
    const r = await env.dz(["install", "px/cat"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: .*the registry sent .* of /m);
    assert.doesNotMatch(r.stderr, /DIGEST_MISMATCH|hashes to|tampered/);
    assert.equal((await env.dz(["list", "--json"])).stdout.trim(), "[]", "nothing installed");
  });

  await t.step("a stall is cut off at DZ_HTTP_TIMEOUT_MS and resumed", async () => {
    fault = "stall";
    const started = Date.now();
    const r = await env.dz(["install", "px/cat"], { DZ_HTTP_TIMEOUT_MS: "1000" });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - started < 20_000, "did not wait the stall out");
    assert.ok(proxy.faulted.some((f) => f.endsWith("stall")));
    assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "resumed\n");
  });
});

Deno.test({
  name: "dz install with a full disk under the blob cache says the disk is full, where and how much (exit 1)",
  ignore: !(await canMount()),
  async fn() {
    await using env = await startE2E();
    await env.publish("cat", "latest", "x\n");
    const blobs = `${env.home}/cache/blobs/sha256`;
    await Deno.mkdir(blobs, { recursive: true });
    await using _disk = await mountTmpfs({ sizeKiB: 256, at: blobs });
    const r = await env.dz(["install", "lab/cat"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: Cannot store blob sha256:[0-9a-f]{64} in ".*cache\/blobs\/sha256": the disk is full \(needed \d/m,
    );
    assert.match(r.stderr, /^hint: Free space/m);
    assert.doesNotMatch(r.stderr, /is not in the cache|bug in dz/);
  },
});
