/** src/cli/services.ts: the registry client honours the config (insecure hosts) and offline mode; trust loads once. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createContext } from "../../src/cli/context.ts";
import { createClient, createTrustLoader } from "../../src/cli/services.ts";
import { removeTree } from "../../src/fs.ts";
import { ociHost, type Runtime } from "../../src/runtime.ts";
import { runDz } from "../support/cli_harness.ts";

function contextFor(home: string, env: Record<string, string>, fetched: string[]) {
  const runtime: Runtime = {
    fetch: ((input: string | URL | Request) => {
      fetched.push(String(input instanceof Request ? input.url : input));
      return Promise.resolve(
        new Response("{}", { status: 200, headers: { "content-type": "application/json" } }),
      );
    }) as typeof fetch,
    now: () => new Date("2026-12-01T00:00:00Z"),
    env: (name) => ({ DROPZONE_HOME: home, ...env })[name],
    homeDir: `${home}-user`,
    host: ociHost("linux", "x86_64"),
    stdout: { write() {}, isTerminal: false },
    stderr: { write() {}, isTerminal: false },
    stdinIsTerminal: false,
    readStdin: () => Promise.resolve(""),
    prompt: () => Promise.resolve(null),
  };
  return createContext(runtime, { quiet: true, verbose: false });
}

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "dz-services-" });
  try {
    const home = join(root, "home");
    assert.equal(
      (await runDz(["add", "registry", "lab", "reg.example:5000", "--insecure"], { home })).code,
      0,
    );
    await fn(home);
  } finally {
    await removeTree(root);
  }
}

Deno.test("the client speaks plain http only to registries the config marks insecure", async () => {
  await withHome(async (home) => {
    const fetched: string[] = [];
    const ctx = contextFor(home, {}, fetched);
    const client = createClient(ctx, (await ctx.config()).config);
    await client.ping("reg.example:5000");
    await client.ping("other.example:5000");
    assert.deepEqual(fetched, ["http://reg.example:5000/v2/", "https://other.example:5000/v2/"]);
  });
});

Deno.test("offline (DZ_OFFLINE=1 or asked for) answers from the cache only and never fetches", async () => {
  await withHome(async (home) => {
    for (const [env, options] of [[{ DZ_OFFLINE: "1" }, {}], [{}, { offline: true }]] as const) {
      const fetched: string[] = [];
      const ctx = contextFor(home, env, fetched);
      const client = createClient(ctx, (await ctx.config()).config, options);
      await assert.rejects(
        client.getManifest({ registry: "reg.example:5000", repository: "tool" }, "latest"),
      );
      assert.deepEqual(fetched, [], JSON.stringify({ env, options }));
    }
  });
});

Deno.test("trust material is loaded once per trusted root and key within an invocation", async () => {
  await withHome(async (home) => {
    const fetched: string[] = [];
    const ctx = contextFor(home, { DZ_NO_TUF: "1" }, fetched);
    const load = createTrustLoader(ctx);
    const policy = { issuer: "https://issuer.example", identity: "https://id.example" };
    const a = load(policy);
    const b = load({ ...policy, identity: "https://someone-else.example" });
    const c = load({ ...policy, public_key: join(home, "missing.pub") });
    assert.equal(a, b, "the same trusted root is not loaded twice");
    assert.notEqual(a, c);
    await Promise.allSettled([a, c]);
    assert.deepEqual(fetched, [], "DZ_NO_TUF keeps dz off the TUF mirror");
  });
});
