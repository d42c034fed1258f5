import assert from "node:assert/strict";
import { embeddedTrustedRoot } from "../../src/verify/trusted_root.ts";
import { runDz } from "../support/cli_harness.ts";
import { runWrapper, startE2E } from "../support/e2e.ts";

type E2E = Awaited<ReturnType<typeof startE2E>>;

/** A machine where nothing environmental is wrong: bin on PATH, a fresh TUF-refreshed trusted root. */
async function healthyEnvironment(env: E2E): Promise<Record<string, string>> {
  await Deno.mkdir(`${env.home}/cache/tuf`, { recursive: true });
  await Deno.writeTextFile(`${env.home}/cache/tuf/trusted_root.json`, JSON.stringify(embeddedTrustedRoot()));
  return { PATH: `${env.home}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
}

async function doctorJson(env: E2E, extraEnv: Record<string, string>, ...flags: string[]) {
  const r = await env.dz(["doctor", "--json", ...flags], extraEnv);
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) };
}

const kinds = (report: { findings: { kind: string }[] }) => report.findings.map((f) => f.kind).sort();

Deno.test("dz doctor: a healthy store exits 0; PATH is a warning, an embedded-only trusted root only info", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const bare = await doctorJson(env, {});
  assert.equal(bare.code, 1);
  assert.deepEqual(kinds(bare.report), ["path", "trusted-root"]);
  const severity = (kind: string) =>
    bare.report.findings.find((f: { kind: string }) => f.kind === kind).severity;
  assert.deepEqual([severity("path"), severity("trusted-root")], ["warning", "info"]);

  const goodEnv = await healthyEnvironment(env);
  const r = await env.dz(["doctor"], goodEnv);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, "Everything looks fine.\n");
  const j = await doctorJson(env, goodEnv);
  assert.deepEqual(j.report, { findings: [], fixed: [], healthy: true });
});

Deno.test("dz doctor finds drift and --fix repairs it, leaving foreign files alone", async () => {
  await using env = await startE2E();
  const goodEnv = await healthyEnvironment(env);
  await env.publish("cat", "latest", "cat\n");
  await env.publish("dog", "latest", "dog\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/dog"])).code, 0);
  const bin = `${env.home}/bin`;
  const catWrapper = await Deno.readTextFile(`${bin}/cat`);
  await Deno.remove(`${bin}/dog`); // deleted wrapper
  await Deno.writeTextFile(`${bin}/cat`, catWrapper.replace('exec "$@"', 'echo tampered; exec "$@"')); // stale
  await Deno.writeTextFile(`${bin}/ghost`, catWrapper.replace('package="cat"', 'package="ghost"'), {
    mode: 0o755,
  });
  await Deno.writeTextFile(`${bin}/mine`, "#!/bin/sh\necho mine\n", { mode: 0o755 }); // foreign
  await Deno.mkdir(`${env.home}/packages/cat/.staging-x/rootfs`, { recursive: true }); // crash leftover
  await Deno.writeTextFile(`${env.home}/auth.json`, "{}", { mode: 0o644 });
  await Deno.chmod(`${env.home}/auth.json`, 0o644);

  const before = await doctorJson(env, goodEnv);
  assert.equal(before.code, 1);
  assert.deepEqual(kinds(before.report), [
    "auth-permissions",
    "foreign-file",
    "leftover",
    "missing-wrapper",
    "orphan-wrapper",
    "stale-wrapper",
  ]);
  const by = (k: string) => before.report.findings.find((f: { kind: string }) => f.kind === k);
  assert.equal(by("missing-wrapper").severity, "error");
  assert.equal(by("missing-wrapper").subject, `${bin}/dog`);
  assert.equal(by("stale-wrapper").subject, `${bin}/cat`);
  assert.equal(by("orphan-wrapper").subject, `${bin}/ghost`);
  assert.equal(by("foreign-file").severity, "info");
  assert.equal(by("foreign-file").fixable, false);
  assert.match(by("foreign-file").message, /not managed by dz/);
  assert.equal(by("leftover").path, `${env.home}/packages/cat/.staging-x`);

  const text = await env.dz(["doctor"], goodEnv);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^Wrappers:$/m);
  assert.match(text.stdout, /dz doctor --fix/);

  const fixed = await doctorJson(env, goodEnv, "--fix");
  assert.equal(fixed.code, 0, JSON.stringify(fixed.report, null, 2) + fixed.stderr);
  assert.equal(fixed.report.healthy, true);
  assert.deepEqual(kinds(fixed.report), ["foreign-file"]);
  assert.deepEqual(fixed.report.fixed.map((c: { kind: string }) => c.kind).sort(), [
    "chmod-auth",
    "removed-leftover",
    "removed-orphan-wrapper",
    "wrote-wrapper",
    "wrote-wrapper",
  ]);
  assert.equal(await Deno.readTextFile(`${bin}/cat`), catWrapper);
  assert.equal((await runWrapper(`${bin}/cat`)).stdout, "cat\n");
  assert.equal((await runWrapper(`${bin}/dog`)).stdout, "dog\n");
  await assert.rejects(() => Deno.stat(`${bin}/ghost`));
  await assert.rejects(() => Deno.stat(`${env.home}/packages/cat/.staging-x`));
  assert.equal(await Deno.readTextFile(`${bin}/mine`), "#!/bin/sh\necho mine\n");
  assert.equal((await Deno.stat(`${env.home}/auth.json`)).mode! & 0o777, 0o600);

  const after = await env.dz(["doctor"], goodEnv);
  assert.equal(after.code, 0, after.stdout);
  assert.match(after.stdout, /not managed by dz/);
  assert.match(after.stdout, /No problems found\./);
});

Deno.test("dz doctor --fix re-points a broken current symlink and the wrapper works again", async () => {
  await using env = await startE2E();
  const goodEnv = await healthyEnvironment(env);
  await env.publish("cat", "latest", "v1\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const link = `${env.home}/packages/cat/current`;
  const target = await Deno.readLink(link);
  await Deno.remove(link);
  await Deno.symlink(`sha256-${"0".repeat(64)}`, link);

  const before = await doctorJson(env, goodEnv);
  assert.equal(before.code, 1);
  // Its wrapper is not called an orphan: the package is damaged, not gone.
  assert.deepEqual(kinds(before.report), ["broken-current"]);
  const fixed = await doctorJson(env, goodEnv, "--fix");
  assert.equal(fixed.code, 0, JSON.stringify(fixed.report));
  assert.deepEqual(fixed.report.fixed.map((c: { kind: string }) => c.kind), ["repointed-current"]);
  assert.equal(await Deno.readLink(link), target);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v1\n");
});

Deno.test("dz doctor reports an invalid config.yaml with the field and does not crash", async () => {
  await using env = await startE2E();
  const goodEnv = await healthyEnvironment(env);
  const configPath = `${env.home}/config/config.yaml`;
  const original = await Deno.readTextFile(configPath);
  await Deno.writeTextFile(configPath, original + "keep_versions: lots\n");
  const r = await doctorJson(env, goodEnv);
  assert.equal(r.code, 1, r.stderr);
  const f = r.report.findings.find((x: { kind: string }) => x.kind === "config-invalid");
  assert.ok(f, JSON.stringify(r.report));
  assert.equal(f.severity, "error");
  assert.match(f.message, /keep_versions/);
  const text = await env.dz(["doctor"], goodEnv);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /Configuration:\n +error +Invalid config .*keep_versions/);
  // The file is never rewritten by doctor.
  assert.equal(await Deno.readTextFile(configPath), original + "keep_versions: lots\n");

  await Deno.writeTextFile(configPath, "registries: [ unclosed\n");
  const yaml = await doctorJson(env, goodEnv);
  assert.equal(yaml.code, 1);
  assert.equal(yaml.report.findings[0].kind, "config-invalid");
});

Deno.test("dz gc frees the blobs of a removed package and keeps those of installed ones", async () => {
  await using env = await startE2E();
  const cat = await env.publish("cat", "latest", "cat\n");
  const dog = await env.publish("dog", "latest", "dog\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/dog"])).code, 0);
  const blobs = `${env.home}/cache/blobs/sha256`;
  const has = async (d: string) => await Deno.stat(`${blobs}/${d.slice(7)}`).then(() => true, () => false);
  const catBlobs = [
    cat.digest,
    cat.indexDigest,
    cat.image.configDigest,
    ...cat.image.layers.map((l) => l.digest),
  ];
  const dogOnly = [dog.digest, dog.indexDigest, dog.image.configDigest, dog.image.layers[1]!.digest];
  for (const d of [...catBlobs, ...dogOnly]) assert.ok(await has(d), `${d} cached after install`);
  // The echo base layer is shared by both images.
  assert.equal(cat.image.layers[0]!.digest, dog.image.layers[0]!.digest);

  const nothing = await env.dz(["gc"]);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.equal(nothing.stdout, "");
  assert.match(nothing.stderr, /Nothing to collect/);

  assert.equal((await env.dz(["remove", "dog", "--yes"])).code, 0);
  const doctor = await doctorJson(env, await healthyEnvironment(env));
  const unreferenced = doctor.report.findings.filter((f: { kind: string }) => f.kind === "unreferenced-blob");
  const unreferencedDigests: string[] = unreferenced.map((f: { subject: string }) => f.subject);
  // dog's image blobs plus its signature artifacts (kept for offline re-verification while it was installed).
  for (const d of dogOnly) assert.ok(unreferencedDigests.includes(d), `${d} reported`);
  for (const d of catBlobs) assert.ok(!unreferencedDigests.includes(d), `${d} in use`);
  assert.ok(
    unreferenced.every((f: { bytes: number; severity: string }) => f.bytes > 0 && f.severity === "info"),
  );
  assert.equal(doctor.code, 0, "unreferenced blobs are info only");

  const r = await env.dz(["gc"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "", "gc reports on stderr");
  assert.match(r.stderr, new RegExp(`Removed ${unreferencedDigests.length} blob\\(s\\), freed \\d`));
  for (const d of unreferencedDigests) assert.equal(await has(d), false, `${d} freed`);
  for (const d of catBlobs) assert.ok(await has(d), `${d} kept`);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "cat\n");
  assert.match((await env.dz(["gc"])).stderr, /Nothing to collect/);
});

Deno.test("dz doctor offline with the default config is clean: the embedded root is an info line", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-doctor-" });
  try {
    const env = { PATH: `${home}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`, DZ_NO_TUF: "1" };
    assert.equal((await runDz(["list"], { home, env })).code, 0); // seeds the default config
    const r = await runDz(["doctor"], { home, env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Environment:\n {2}info {4}using the trusted root embedded in dz/m);
    assert.match(r.stdout, /No problems found\.\n$/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
