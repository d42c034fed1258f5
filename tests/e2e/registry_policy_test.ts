import assert from "node:assert/strict";
import { parse } from "yaml";
import { IDENTITY, ISSUER, startE2E } from "../support/e2e.ts";

async function registries(home: string): Promise<Record<string, { url: string; cosign_policy?: unknown }>> {
  const doc = parse(await Deno.readTextFile(`${home}/config/config.yaml`));
  return Object.fromEntries(doc.registries.map((r: { name: string }) => [r.name, r]));
}

Deno.test("add registry accepts cosign's flag spellings as aliases of dz's", async () => {
  await using env = await startE2E();
  const r = await env.dz([
    "add",
    "registry",
    "cosignish",
    "ghcr.io/corp",
    "--certificate-oidc-issuer",
    ISSUER,
    "--certificate-identity-regexp",
    "https://github\\.com/corp/.+",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await registries(env.home)).cosignish!.cosign_policy, {
    issuer: ISSUER,
    identity_regex: "https://github\\.com/corp/.+",
  });
  const exact = await env.dz([
    "add",
    "registry",
    "exact",
    "ghcr.io/exact",
    "--certificate-oidc-issuer-regexp",
    "https://token\\.actions\\..+",
    "--certificate-identity",
    IDENTITY,
  ]);
  assert.equal(exact.code, 0, exact.stderr);
  assert.deepEqual((await registries(env.home)).exact!.cosign_policy, {
    issuer_regex: "https://token\\.actions\\..+",
    identity: IDENTITY,
  });
  const pem = `${env.home}-cosign.pub`;
  await Deno.writeTextFile(
    pem,
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
  );
  try {
    const keyed = await env.dz(["add", "registry", "keyed", "ghcr.io/keyed", "--key", pem]);
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.deepEqual((await registries(env.home)).keyed!.cosign_policy, { public_key: pem });
  } finally {
    await Deno.remove(pem);
  }
  const clash = await env.dz([
    "add",
    "registry",
    "clash",
    "ghcr.io/clash",
    "--issuer",
    ISSUER,
    "--certificate-oidc-issuer",
    "https://other.example",
    "--identity",
    IDENTITY,
  ]);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /^error: --issuer and --certificate-oidc-issuer give different values/m);
});

Deno.test("dz verify checks against cosign-style identity flags for that run, exit 3 on a mismatch", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "cat\n");
  const ok = await env.dz([
    "verify",
    "lab/cat",
    "--json",
    "--certificate-identity",
    IDENTITY,
    "--certificate-oidc-issuer",
    ISSUER,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).verified, true);
  const wrong = await env.dz([
    "verify",
    "lab/cat",
    "--certificate-identity",
    "https://github.com/someone-else/x/.github/workflows/release.yml@refs/heads/main",
    "--certificate-oidc-issuer",
    ISSUER,
  ]);
  assert.equal(wrong.code, 3, wrong.stderr);
  // A host-qualified reference under lab's URL: the flags' identity, with lab's (private) trusted root kept.
  const qualified = await env.dz([
    "verify",
    `${env.registry.host}/apps/cat`,
    "--identity",
    IDENTITY,
    "--issuer",
    ISSUER,
  ]);
  assert.equal(qualified.code, 0, qualified.stderr);
  // The flags changed nothing on disk.
  assert.equal((await registries(env.home)).lab!.url, `${env.registry.host}/apps`);
});

Deno.test("add registry --replace changes a policy in place and lists installed packages that no longer match", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "cat\n");
  await env.publish("cow", "latest", "cow\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/cow"])).code, 0);
  const config = `${env.home}/config/config.yaml`;
  await Deno.writeTextFile(config, (await Deno.readTextFile(config)) + "# my note\n");

  const exists = await env.dz([
    "add",
    "registry",
    "lab",
    `${env.registry.host}/apps`,
    "--issuer",
    ISSUER,
    "--identity",
    IDENTITY,
  ]);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /already exists\nhint: Pass --replace/);
  const missing = await env.dz(["add", "registry", "nosuch", "ghcr.io/x", "--replace"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No registry named "nosuch" to replace/);

  // Still matching: a regex that accepts the recorded workflow.
  const same = await env.dz([
    "add",
    "registry",
    "lab",
    `${env.registry.host}/apps`,
    "--replace",
    "--issuer",
    ISSUER,
    "--identity-regex",
    "https://github\\.com/dz-test/tools/\\.github/workflows/.+",
    "--trusted-root",
    env.trustedRootPath,
  ]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stderr, /Replaced registry "lab"/);
  assert.match(same.stderr, /2 installed packages from "lab" still match the policy/);

  const changed = await env.dz([
    "add",
    "registry",
    "lab",
    `${env.registry.host}/apps`,
    "--replace",
    "--certificate-oidc-issuer",
    ISSUER,
    "--certificate-identity",
    "https://github.com/dz-test/other/.github/workflows/release.yml@refs/heads/main",
    "--trusted-root",
    env.trustedRootPath,
  ]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stderr, /^warning: 2 installed packages from "lab" no longer match its policy:$/m);
  assert.match(
    changed.stderr,
    /^ {2}cat: recorded identity "https:\/\/github\.com\/dz-test\/tools\/.*; the new policy wants identity "https:\/\/github\.com\/dz-test\/other/m,
  );
  assert.match(changed.stderr, /^ {2}cow: /m);
  const text = await Deno.readTextFile(config);
  assert.match(text, /# my note/, "comments are kept");
  assert.equal((text.match(/name: lab/g) ?? []).length, 1, "replaced in place, not added twice");
  assert.equal(
    (await registries(env.home)).lab!.cosign_policy && (await registries(env.home)).lab!.url,
    `${env.registry.host}/apps`,
  );
  // The new policy applies: re-verifying an installed package now fails as a trust failure.
  assert.equal((await env.dz(["verify", "cat"])).code, 3);
});
