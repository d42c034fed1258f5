import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireStoreLock } from "../../../src/store/lock.ts";
import { removeTree } from "../../../src/fs.ts";
import { runDz } from "../../support/cli_harness.ts";

/** A seeded home whose bin/ is on PATH and which never goes online for the trusted root. */
async function seededHome(): Promise<{ home: string; env: Record<string, string> } & AsyncDisposable> {
  const home = await Deno.makeTempDir({ prefix: "dz-doctor-cli-" });
  const env = { PATH: `${home}/bin:/usr/bin:/bin`, DZ_NO_TUF: "1" };
  assert.equal((await runDz(["list"], { home, env })).code, 0); // seeds the default config
  return {
    home,
    env,
    async [Symbol.asyncDispose]() {
      await removeTree(home);
      await removeTree(home + "-user");
    },
  };
}

/** A crash leftover in a package that has no complete version: two fixable findings. */
async function leaveStaging(home: string): Promise<string> {
  const staging = join(home, "packages", "jq", ".staging-x");
  await Deno.mkdir(join(staging, "rootfs"), { recursive: true });
  return staging;
}

Deno.test("dz doctor --json: findings, fixed and healthy on stdout; exit 0 when only info remains", async () => {
  await using h = await seededHome();
  const r = await runDz(["doctor", "--json"], { home: h.home, env: h.env });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(report), ["findings", "fixed", "healthy"]);
  assert.equal(report.healthy, true);
  assert.deepEqual(report.fixed, []);
  assert.deepEqual(report.findings.map((f: { kind: string; severity: string }) => [f.kind, f.severity]), [
    ["trusted-root", "info"],
  ]);
  assert.deepEqual(Object.keys(report.findings[0]), ["kind", "severity", "subject", "message", "fixable"]);
});

Deno.test("dz doctor exits 1 while an error or warning remains, and --fix repairs it under the lock", async () => {
  await using h = await seededHome();
  const staging = await leaveStaging(h.home);
  const r = await runDz(["doctor", "--json"], { home: h.home, env: h.env });
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.healthy, false);
  const leftover = report.findings.find((f: { kind: string }) => f.kind === "leftover");
  assert.deepEqual(leftover, {
    kind: "leftover",
    severity: "warning",
    subject: staging,
    path: staging,
    message: `leftover of an interrupted dz: ${staging}`,
    fixable: true,
  });
  const text = await runDz(["doctor"], { home: h.home, env: h.env });
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^Packages:$/m);
  assert.match(text.stdout, /run "dz doctor --fix" to repair 2$/m);

  const fixed = await runDz(["doctor", "--fix"], { home: h.home, env: h.env });
  assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  assert.match(fixed.stdout, /^Fixed:\n {2}- removed leftover .*\.staging-x\n/);
  assert.match(fixed.stdout, /No problems found\.\n$/);
  await assert.rejects(Deno.stat(staging), Deno.errors.NotFound);
});

Deno.test("dz doctor --fix waits for another dz holding the lock, then fails with the lock hint and changes nothing", async () => {
  await using h = await seededHome();
  const staging = await leaveStaging(h.home);
  {
    await using _held = await acquireStoreLock(join(h.home, ".lock"), { pid: 4242 });
    const env = { ...h.env, DZ_LOCK_TIMEOUT_MS: "300" };
    const r = await runDz(["doctor", "--fix", "--json"], { home: h.home, env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "", "no report when the repair could not run");
    assert.match(r.stderr, /Waiting for another dz \(pid 4242\) to finish/);
    assert.match(
      r.stderr,
      /^error: Cannot lock the dz store .*another dz \(pid 4242\) is still working on it$/m,
    );
    assert.match(r.stderr, /^hint: Wait for the other dz command to finish, then run this command again$/m);
    await Deno.stat(staging);
    // Without --fix doctor only reads, so the held lock does not matter.
    assert.equal((await runDz(["doctor", "--json"], { home: h.home, env })).code, 1);
  }
  const after = await runDz(["doctor", "--fix", "--json"], { home: h.home, env: h.env });
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual(JSON.parse(after.stdout).fixed.map((c: { kind: string }) => c.kind), [
    "removed-leftover",
    "removed-empty-package",
  ]);
});
