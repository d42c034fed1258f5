import assert from "node:assert/strict";
import { startE2E } from "../../support/e2e.ts";

Deno.test("dz run verifies, unpacks into the cache and runs once without a wrapper", async () => {
  await using env = await startE2E();
  await env.publish("echo", "latest", "default args\n");
  // dz run execs the program with inherited stdio, so drive it through the real entry point.
  const { spawnDz } = await import("../../support/cli_harness.ts");
  const first = await spawnDz(["run", "lab/echo", "--", "hello", "world"], { home: env.home });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "hello world\n");
  assert.match(first.stderr, /Verified signature/);
  assert.deepEqual([...Deno.readDirSync(`${env.home}/bin`)], [], "no wrapper is created");
  assert.equal((await env.dz(["list", "--json"])).stdout, "[]\n", "nothing is installed");
  const runDirs = [...Deno.readDirSync(`${env.home}/cache/run`)].map((e) => e.name);
  assert.equal(runDirs.length, 1);

  const second = await spawnDz(["run", "lab/echo", "-v"], { home: env.home });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, "default args\n", "no arguments → the image's Cmd");
  assert.match(second.stderr, /from the cache copy/);
});

Deno.test("dz run propagates the program's exit code and refuses what the policy rejects", async () => {
  await using env = await startE2E();
  const { spawnDz } = await import("../../support/cli_harness.ts");
  await env.publish("false", "latest", "ignored\n", { binary: "/usr/bin/false" });
  const r = await spawnDz(["run", "lab/false"], { home: env.home });
  assert.equal(r.code, 1, r.stderr);
  await env.publish("unsigned", "latest", "x\n", { sign: "none" });
  const refused = await spawnDz(["run", "lab/unsigned"], { home: env.home });
  assert.equal(refused.code, 3);
  assert.equal(refused.stdout, "");
});
