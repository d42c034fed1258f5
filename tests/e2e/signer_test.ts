import assert from "node:assert/strict";
import { ISSUER, labRegistryArgs, runWrapper, startE2E } from "../support/e2e.ts";

async function useRegexPolicy(env: Awaited<ReturnType<typeof startE2E>>): Promise<void> {
  assert.equal((await env.dz(["remove", "registry", "lab", "--force"])).code, 0);
  const add = await env.dz(labRegistryArgs(env, {
    identityRegex: "https://github\\.com/dz-test/[a-z]+/\\.github/workflows/release\\.yml@refs/heads/main",
  }));
  assert.equal(add.code, 0, add.stderr);
}

Deno.test("a new digest signed by another repository is refused until --accept-new-signer", async () => {
  await using env = await startE2E();
  await useRegexPolicy(env);
  await env.publish("cat", "latest", "one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const other = await env.pki.keyless({
    identity: "https://github.com/dz-test/impostor/.github/workflows/release.yml@refs/heads/main",
    issuer: ISSUER,
  });
  await env.publish("cat", "latest", "two\n", { signer: other });
  const refused = await env.dz(["install", "lab/cat"]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /different signer/);
  assert.match(refused.stderr, /dz-test\/tools → https:\/\/github\.com\/dz-test\/impostor/);
  assert.match(refused.stderr, /--accept-new-signer/);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "one\n", "the old version keeps working");

  const accepted = await env.dz(["install", "lab/cat", "--accept-new-signer"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "two\n");
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.trusted_signer.repository, "https://github.com/dz-test/impostor");
});

Deno.test("min_release_age skips a digest signed too recently, with the reason", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "fresh\n");
  const r = await env.dz(["install", "lab/cat", "--min-age", "3d"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /younger than the minimum release age 3d/);
  assert.deepEqual([...Deno.readDirSync(`${env.home}/bin`)], []);
  const cfg = `${env.home}/config/config.yaml`;
  await Deno.writeTextFile(cfg, (await Deno.readTextFile(cfg)) + "min_release_age: 1h\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 1);
  const now = await env.dz(["install", "lab/cat", "--min-age", "0"]);
  assert.equal(now.code, 0, now.stderr);
});
