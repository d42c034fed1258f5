import assert from "node:assert/strict";
import { runWrapper, startE2E } from "../support/e2e.ts";

Deno.test("dz install --offline reinstalls from the cache with the registry gone, re-verifying the signature", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "cached copy\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["remove", "cat", "--yes"])).code, 0);
  await env.registry.stop();

  const online = await env.dz(["install", "lab/cat"]);
  assert.notEqual(online.code, 0, "without --offline the dead registry is an error");
  assert.match(online.stderr, /^error: /m);

  const offline = await env.dz(["install", "lab/cat", "--offline"]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(offline.stderr, /Verified signature: https:\/\/github\.com\/dz-test/);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "cached copy\n");
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.signature.source, "legacy-sig");

  const missing = await env.dz(["install", "lab/never-seen", "--offline"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not in the local cache/);
});

Deno.test("dz install --offline refuses a cached image whose signature no longer matches the policy", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "x\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["remove", "cat", "--yes"])).code, 0);
  await env.registry.stop();
  // Tighten the policy: the cached signature is re-verified, not trusted because it was cached.
  const cfg = `${env.home}/config/config.yaml`;
  await Deno.writeTextFile(cfg, (await Deno.readTextFile(cfg)).replace("dz-test/tools", "dz-test/other"));
  const r = await env.dz(["install", "lab/cat", "--offline"]);
  assert.equal(r.code, 3, r.stderr);
});
