import assert from "node:assert/strict";
import { join } from "node:path";
import { diagnose, type DoctorDeps, runDoctor } from "../../src/app/doctor.ts";
import { isDropzoneError } from "../../src/errors.ts";
import type { Config } from "../../src/store/config.ts";
import { SEED_TEXT } from "../../src/store/config_seed.ts";
import { acquireStoreLock } from "../../src/store/lock.ts";
import { embeddedTrustedRoot } from "../../src/verify/trusted_root.ts";
import { tempHome } from "../support/temp_home.ts";

const HOST = { os: "linux", arch: "amd64" };

async function depsFor(
  home: { path: string; layout: DoctorDeps["layout"] },
  extra: Partial<DoctorDeps> = {},
) {
  await Deno.mkdir(home.layout.configDir, { recursive: true });
  await Deno.writeTextFile(home.layout.configFile, SEED_TEXT);
  const deps: DoctorDeps = {
    layout: home.layout,
    env: (n) => (n === "PATH" ? home.layout.bin : undefined),
    homeDir: home.path,
    os: "linux",
    now: new Date(),
    loadTrustedRoot: () => Promise.resolve({ trustedRoot: embeddedTrustedRoot(), source: "embedded" }),
    ...extra,
  };
  return deps;
}

/** A crash leftover in an otherwise empty package: fixable findings that `fix` removes. */
async function leaveStaging(layout: DoctorDeps["layout"]): Promise<string> {
  const staging = join(layout.packages, "jq", ".staging-x");
  await Deno.mkdir(join(staging, "rootfs"), { recursive: true });
  return staging;
}

Deno.test("runDoctor without --fix only reads: it runs while another dz holds the lock and changes nothing", async () => {
  await using home = await tempHome();
  const deps = await depsFor(home);
  const staging = await leaveStaging(home.layout);
  await using _held = await acquireStoreLock(home.layout.lockFile);
  const report = await runDoctor(deps, { host: HOST, fix: false });
  assert.equal(report.healthy, false);
  assert.deepEqual(report.fixed, []);
  assert.deepEqual(report.findings.map((f) => f.kind), ["no-current", "leftover", "trusted-root"]);
  await Deno.stat(staging); // still there
});

Deno.test("runDoctor --fix waits for the store lock, then fails with LOCKED and a hint, changing nothing", async () => {
  await using home = await tempHome();
  const waits: (number | undefined)[] = [];
  const deps = await depsFor(home, { lockTimeoutMs: 150, onLockWait: (pid) => waits.push(pid) });
  const staging = await leaveStaging(home.layout);
  {
    await using _held = await acquireStoreLock(home.layout.lockFile, { pid: 4242 });
    const err = await runDoctor(deps, { host: HOST, fix: true }).then(() => null, (e) => e);
    assert.ok(isDropzoneError(err, "LOCKED"), String(err));
    assert.match(err.hint ?? "", /Wait for the other dz command to finish/);
    assert.deepEqual(waits, [4242]);
    await Deno.stat(staging); // nothing was repaired without the lock
  }
  // Once the lock is free, the same call repairs and reports the state after the repair.
  const report = await runDoctor(deps, { host: HOST, fix: true });
  assert.deepEqual(report.fixed.map((c) => c.kind), ["removed-leftover", "removed-empty-package"]);
  assert.deepEqual(report.findings.map((f) => f.kind), ["trusted-root"]);
  assert.equal(report.healthy, true);
  await assert.rejects(Deno.stat(staging), Deno.errors.NotFound);
});

Deno.test("runDoctor --fix takes no lock when nothing is fixable, and creates the home only when it must", async () => {
  await using home = await tempHome();
  let ensured = 0;
  const deps = await depsFor(home, { lockTimeoutMs: 50, ensureHome: () => Promise.resolve(ensured++) });
  {
    await using _held = await acquireStoreLock(home.layout.lockFile);
    const report = await runDoctor(deps, { host: HOST, fix: true });
    assert.equal(report.healthy, true);
    assert.deepEqual(report.fixed, []);
    assert.equal(ensured, 0);
  }
  await leaveStaging(home.layout);
  await runDoctor(deps, { host: HOST, fix: true });
  assert.equal(ensured, 1);
});

Deno.test("diagnose gives the registry probes the loaded config, and skips them when the config is broken", async () => {
  await using home = await tempHome();
  const seen: Config[] = [];
  const probe = (kind: "rate-limit" | "mirror-unreachable") => (config: Config) => {
    seen.push(config);
    return Promise.resolve([{
      kind,
      severity: "info" as const,
      subject: "r",
      message: kind,
      fixable: false,
    }]);
  };
  const deps = await depsFor(home, {
    probeQuota: probe("rate-limit"),
    probeMirrors: probe("mirror-unreachable"),
  });
  const kinds = (await diagnose(deps, HOST)).map((f) => f.kind);
  assert.deepEqual(kinds, ["mirror-unreachable", "rate-limit", "trusted-root"]);
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.registries[0]?.name, "chainguard");

  await Deno.writeTextFile(home.layout.configFile, "registries: [ unclosed\n");
  const broken = await diagnose(deps, HOST);
  assert.deepEqual(broken.map((f) => f.kind), ["config-invalid"]);
  assert.equal(seen.length, 2, "no probe without a config");
});
