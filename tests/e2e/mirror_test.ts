/**
 * Mirrors against real registries: a docker-registry upstream, a second one in proxy mode (pull-through cache)
 * and a third plain one serving something else under the same name.
 */
import assert from "node:assert/strict";
import { runDz, spawnDz } from "../support/cli_harness.ts";
import { IDENTITY, ISSUER, labRegistryArgs, runWrapper, startE2E } from "../support/e2e.ts";
import { launchRegistry, type LoggedRequest } from "../support/registry_launcher.ts";
import { pushImage } from "../support/image_builder.ts";
import { pushManifest } from "../support/oci_push.ts";
import { startFakeRegistry } from "../support/fake_registry.ts";

const fromDz = (r: LoggedRequest) => r.userAgent.startsWith("dz/");
const isTagLookup = (r: LoggedRequest) => /\/manifests\/(?!sha256:)/.test(r.path);

async function freshHome(
  prefix: string,
): Promise<{ home: string; dz: (argv: string[]) => ReturnType<typeof runDz> }> {
  const home = await Deno.makeTempDir({ prefix });
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DZ_NO_TUF: "1" };
  return { home, dz: (argv) => runDz(argv, { home, env }) };
}

Deno.test("dz install through a pull-through proxy verifies as the upstream, and a fresh home installs from its cache once the upstream is down", async () => {
  await using env = await startE2E({ accessLog: true });
  await env.publish("tool", "1.0", "via the proxy\n");
  await using proxy = await launchRegistry({ proxy: { remoteUrl: env.registry.url }, accessLog: true });
  const location = `${proxy.host}/apps`;
  const add = await env.dz(["add", "mirror", `${env.registry.host}/apps`, location]);
  assert.equal(add.code, 0, add.stderr);

  const r = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`Served by: mirror ${location} \\(verified as ${env.registry.host}/apps\\)`),
  );
  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.equal(info.served_by, location);
  assert.equal(info.registry.name, "lab", "identity stays the upstream's");
  assert.equal(info.repository, "apps/tool");
  assert.equal(info.signature.identity, IDENTITY);
  assert.equal(info.signature.issuer, ISSUER);
  assert.match((await env.dz(["info", "tool"])).stdout, new RegExp(`Served by: +mirror ${location}`));
  const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(list[0].registry, "lab");

  // Everything dz installed came through the proxy (the upstream served it to the proxy); dz itself asked the
  // upstream only for what the proxy did not have either: absent referrers and attestation tags, all 404.
  const upstream = env.registry.requests().filter((q) => q.method !== "PUT" && q.method !== "POST");
  assert.ok(upstream.some((q) => !fromDz(q) && q.path === "/v2/apps/tool/manifests/1.0"), "the proxy pulled");
  const dzAskedUpstream = upstream.filter(fromDz);
  assert.deepEqual(
    dzAskedUpstream.filter((q) => q.status !== 404),
    [],
    "nothing was served to dz by upstream",
  );
  assert.deepEqual(
    dzAskedUpstream.filter((q) => q.path.includes("/blobs/") || isTagLookup(q) && !/sha256-/.test(q.path)),
    [],
  );
  assert.ok(proxy.requests().some((q) => fromDz(q) && q.path === "/v2/apps/tool/manifests/1.0"));

  // The lockfile pins the upstream name; a fleet installs it through the mirror.
  const lockfile = `${env.home}-dz.lock`;
  assert.equal((await env.dz(["lock", lockfile])).code, 0);
  assert.match(await Deno.readTextFile(lockfile), new RegExp(`source: ${env.registry.host}/apps/tool\n`));

  await env.registry.stop();
  const locked = await freshHome("dz-mirror-locked-");
  try {
    assert.equal((await locked.dz(labRegistryArgs(env))).code, 0);
    assert.equal((await locked.dz(["add", "mirror", `${env.registry.host}/apps`, location])).code, 0);
    const fromLock = await locked.dz(["install", "--locked", lockfile]);
    assert.equal(fromLock.code, 0, fromLock.stderr);
    const lockedInfo = JSON.parse((await locked.dz(["info", "tool", "--json"])).stdout);
    assert.equal(lockedInfo.digest, info.digest);
    assert.equal(lockedInfo.served_by, location);
  } finally {
    await Deno.remove(locked.home, { recursive: true }).catch(() => {});
    await Deno.remove(lockfile).catch(() => {});
  }
  const fresh = await freshHome("dz-mirror-fresh-");
  try {
    assert.equal((await fresh.dz(labRegistryArgs(env))).code, 0);
    assert.equal((await fresh.dz(["add", "mirror", `${env.registry.host}/apps`, location])).code, 0);
    const again = await fresh.dz(["install", "lab/tool:1.0"]);
    assert.equal(again.code, 0, again.stderr);
    const freshInfo = JSON.parse((await fresh.dz(["info", "tool", "--json"])).stdout);
    assert.equal(freshInfo.served_by, location);
    assert.equal(freshInfo.digest, info.digest);
    assert.equal((await runWrapper(`${fresh.home}/bin/tool`)).stdout, "via the proxy\n");
  } finally {
    await Deno.remove(fresh.home, { recursive: true }).catch(() => {});
  }
});

Deno.test("dz install refuses (exit 3, mirror named) a mirror serving an unsigned or re-signed image under the upstream's name", async () => {
  await using env = await startE2E();
  await env.publish("tool", "1.0", "genuine\n");
  await using bad = await launchRegistry({ accessLog: true });
  const location = `${bad.host}/apps`;
  assert.equal((await env.dz(["add", "mirror", `${env.registry.host}/apps`, location])).code, 0);

  await env.publish("tool", "1.0", "evil, unsigned\n", { registry: bad, sign: "none" });
  const unsigned = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(unsigned.code, 3, unsigned.stderr);
  assert.match(unsigned.stderr, new RegExp(`^error: .*content served by mirror ${location}\\)$`, "m"));
  assert.equal(unsigned.stderr.split("content served by mirror").length, 2, "the mirror is named once");
  assert.match(
    unsigned.stderr,
    new RegExp(`^hint: Mirror ${location} serves content that does not verify`, "m"),
  );
  assert.equal((await env.dz(["list", "--json"])).stdout, "[]\n");

  const stranger = await env.pki.keyless({
    identity: "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
    issuer: ISSUER,
  });
  await env.publish("tool", "1.0", "evil, re-signed\n", { registry: bad, signer: stranger });
  const resigned = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(resigned.code, 3, resigned.stderr);
  assert.match(resigned.stderr, /no signature matches the policy/);
  assert.match(resigned.stderr, new RegExp(`content served by mirror ${location}`));
  assert.equal((await env.dz(["list", "--json"])).stdout, "[]\n");

  // digest-only: the tag resolves upstream, so the mirror's copy of "1.0" is never asked for; the mirror does
  // not have the genuine digest, so the upstream serves it.
  const pushesDone = bad.requests().length;
  assert.equal((await env.dz(["remove", "mirror", `${env.registry.host}/apps`])).code, 0);
  assert.equal(
    (await env.dz(["add", "mirror", `${env.registry.host}/apps`, location, "--digest-only"])).code,
    0,
  );
  const safe = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(safe.code, 0, safe.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "genuine\n");
  assert.equal(JSON.parse((await env.dz(["info", "tool", "--json"])).stdout).served_by, null);
  const asked = bad.requests().slice(pushesDone);
  assert.ok(asked.length > 0, "the mirror was asked for digests");
  assert.deepEqual(asked.filter(isTagLookup), [], "digest-only never asks the mirror for a tag");
});

Deno.test("dz install with a digest-only pull-through proxy asks the proxy for digests only and the upstream for tags", async () => {
  await using env = await startE2E({ accessLog: true });
  const pub = await env.publish("tool", "1.0", "digest only\n");
  await using proxy = await launchRegistry({ proxy: { remoteUrl: env.registry.url }, accessLog: true });
  const location = `${proxy.host}/apps`;
  assert.equal(
    (await env.dz(["add", "mirror", `${env.registry.host}/apps`, location, "--digest-only"])).code,
    0,
  );
  const r = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.equal(info.served_by, location, "the platform manifest came from the proxy by digest");
  const toProxy = proxy.requests().filter(fromDz);
  assert.ok(toProxy.some((q) => q.path === `/v2/apps/tool/manifests/${pub.digest}`));
  assert.ok(toProxy.some((q) => q.path.includes("/blobs/")));
  assert.deepEqual(toProxy.filter(isTagLookup), []);
  const upstreamFromDz = env.registry.requests().filter(fromDz);
  assert.ok(upstreamFromDz.some((q) => q.path === "/v2/apps/tool/manifests/1.0"));
  assert.ok(upstreamFromDz.some((q) => q.path.endsWith(".sig")), "signature tags resolve upstream");
  assert.deepEqual(
    upstreamFromDz.filter((q) => q.path.includes("/blobs/")),
    [],
    "no blob came from upstream",
  );

  // dz run goes through the same client: verified as the upstream, bytes from the proxy.
  const run = await spawnDz(["run", "lab/tool:1.0"], { home: env.home, env: { DZ_NO_TUF: "1" } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "digest only\n");
});

Deno.test("dz install --cross-check installs an unsigned image only when every location serves the same digest", async () => {
  await using env = await startE2E();
  // `other/` is not under the lab registry's URL: an ad-hoc registry without a policy.
  const pub = await env.publish("tool", "1.0", "unsigned but agreed\n", { namespace: "other", sign: "none" });
  await using second = await launchRegistry();
  for (const image of [pub.image]) await pushImage(second, "other/tool", undefined, image);
  await pushManifest(second, "other/tool", "1.0", pub.index.bytes, pub.index.mediaType);
  await using third = await launchRegistry();
  await env.publish("tool", "1.0", "something else\n", { namespace: "other", sign: "none", registry: third });
  const ref = `${env.registry.host}/other/tool:1.0`;

  const noConsent = await env.dz(["install", ref, "--cross-check", second.host]);
  assert.equal(noConsent.code, 3, "agreement never replaces --allow-unsigned");
  assert.match(noConsent.stderr, /has no signature policy/);

  const disagree = await env.dz([
    "install",
    ref,
    "--allow-unsigned",
    "--cross-check",
    second.host,
    "--cross-check",
    third.host,
  ]);
  assert.equal(disagree.code, 3, disagree.stderr);
  assert.match(disagree.stderr, new RegExp(`^error: Cross-check failed .*${third.host} serves sha256:`, "m"));
  assert.doesNotMatch(disagree.stderr, new RegExp(`${second.host} serves`));
  assert.equal((await env.dz(["list", "--json"])).stdout, "[]\n");

  const agree = await env.dz(["install", ref, "--allow-unsigned", "--cross-check", second.host]);
  assert.equal(agree.code, 0, agree.stderr);
  assert.match(agree.stderr, new RegExp(`Cross-checked: ${second.host} \\(same digest\\)`));
  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.deepEqual(info.cross_checked, [second.host]);
  assert.equal(info.signature, null);
  assert.match(
    (await env.dz(["info", "tool"])).stdout,
    new RegExp(`Cross-checked: +${second.host} served the same digest`),
  );

  const signedRegistry = await env.dz(["install", "lab/x", "--cross-check", second.host]);
  assert.equal(signedRegistry.code, 2, "a registry with a policy is verified, never cross-checked");
  assert.match(signedRegistry.stderr, /has a signature policy/);
});

Deno.test("dz update --check resolves tags on the upstream, so a stale mirror hides no rebuild, and falls back to the mirror when the upstream is down", async () => {
  await using env = await startE2E();
  const v1 = await env.publish("tool", "1.0", "one\n");
  await using stale = await launchRegistry();
  await pushImage(stale, "apps/tool", undefined, v1.image);
  await pushManifest(stale, "apps/tool", "1.0", v1.index.bytes, v1.index.mediaType);
  const location = `${stale.host}/apps`;
  assert.equal((await env.dz(["add", "mirror", `${env.registry.host}/apps`, location])).code, 0);
  const r = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse((await env.dz(["info", "tool", "--json"])).stdout).served_by, location);

  const v2 = await env.publish("tool", "1.0", "two\n");
  const check = await env.dz(["update", "--check", "--json"]);
  assert.equal(check.code, 100, check.stderr);
  const [row] = JSON.parse(check.stdout);
  assert.equal(row.rebuild, true);
  assert.equal(row.current_digest, v2.indexDigest);
  const applied = await env.dz(["update", "--yes"]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "two\n");

  await env.registry.stop();
  // The upstream is down: the mirror answers (its stale 1.0), so the check still runs; applying it would be
  // verified like any install (and the downgrade rule applies to it).
  const offline = await env.dz(["update", "--check", "--json"], { DZ_HTTP_TIMEOUT_MS: "2000" });
  const [fallback] = JSON.parse(offline.stdout);
  assert.equal(fallback.error, null, offline.stderr);
  assert.equal(fallback.current_digest, v1.indexDigest, "the mirror answered for the unreachable upstream");
});

Deno.test("dz login per location: the mirror's credentials go only to the mirror, the upstream's only to the upstream", async () => {
  await using env = await startE2E();
  await using up = await startFakeRegistry({ users: { up: "up-secret" } });
  await using mir = await startFakeRegistry({ users: { mir: "mir-secret" } });
  const pub = await env.publish("tool", "1.0", "with logins\n", { registry: up });
  // The mirror has the image but not its signatures: one install needs both locations.
  await pushImage(mir, "apps/tool", undefined, pub.image);
  await pushManifest(mir, "apps/tool", "1.0", pub.index.bytes, pub.index.mediaType);
  up.behaviour.auth = "basic";
  mir.behaviour.auth = "basic";
  const home = await freshHome("dz-mirror-creds-");
  try {
    assert.equal(
      (await home.dz(labRegistryArgs({ registry: up, trustedRootPath: env.trustedRootPath }))).code,
      0,
    );
    assert.equal((await home.dz(["add", "mirror", `${up.host}/apps`, `${mir.host}/apps`])).code, 0);
    const login = (host: string, user: string, password: string) =>
      runDz(["login", host, "-u", user, "--password-stdin"], { home: home.home, stdin: `${password}\n` });
    assert.equal((await login(up.host, "up", "up-secret")).code, 0);
    assert.equal((await login(mir.host, "mir", "mir-secret")).code, 0);
    up.requests.splice(0);
    mir.requests.splice(0);

    const r = await home.dz(["install", "lab/tool:1.0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      JSON.parse((await home.dz(["info", "tool", "--json"])).stdout).served_by,
      `${mir.host}/apps`,
    );
    const upAuth = "Basic " + btoa("up:up-secret");
    const mirAuth = "Basic " + btoa("mir:mir-secret");
    assert.ok(mir.requests.some((q) => q.authorization === mirAuth), "the mirror got its login");
    assert.ok(up.requests.some((q) => q.authorization === upAuth), "the upstream got its login (signatures)");
    assert.deepEqual(mir.requests.filter((q) => q.authorization !== null && q.authorization !== mirAuth), []);
    assert.deepEqual(up.requests.filter((q) => q.authorization !== null && q.authorization !== upAuth), []);
  } finally {
    await Deno.remove(home.home, { recursive: true }).catch(() => {});
  }
});

Deno.test("a mirror serving an older signed version under the tag is a downgrade: refused (exit 3) naming the mirror", async () => {
  await using env = await startE2E();
  const v1 = await env.publish("tool", "1.0", "one\n");
  const later = await env.pki.keyless({ identity: IDENTITY, issuer: ISSUER, tlogOffsetSeconds: 120 });
  await env.publish("tool", "1.0", "two\n", { signer: later });
  assert.equal((await env.dz(["install", "lab/tool:1.0"])).code, 0);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "two\n");

  // A stale mirror still has the first build under 1.0 (validly signed, earlier).
  await using stale = await launchRegistry();
  await pushImage(stale, "apps/tool", undefined, v1.image);
  await pushManifest(stale, "apps/tool", "1.0", v1.index.bytes, v1.index.mediaType);
  const location = `${stale.host}/apps`;
  assert.equal((await env.dz(["add", "mirror", `${env.registry.host}/apps`, location])).code, 0);
  const r = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /downgrade/);
  assert.match(r.stderr, new RegExp(`content served by mirror ${location}`));
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "two\n");
});
