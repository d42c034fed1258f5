import assert from "node:assert/strict";
import { join } from "node:path";
import { diagnose, type DoctorDeps } from "../../src/app/doctor.ts";
import { fix } from "../../src/app/doctor_fix.ts";
import { SEED_TEXT } from "../../src/store/config_seed.ts";
import { embeddedTrustedRoot, type LoadedTrustedRoot } from "../../src/verify/trusted_root.ts";
import { tempHome } from "../support/temp_home.ts";

const HOST = { os: "linux", arch: "amd64" };

async function depsFor(
  home: string,
  layout: DoctorDeps["layout"],
  refresh?: () => Promise<LoadedTrustedRoot>,
) {
  await Deno.mkdir(layout.configDir, { recursive: true });
  await Deno.writeTextFile(layout.configFile, SEED_TEXT);
  const deps: DoctorDeps = {
    layout,
    env: (n) => (n === "PATH" ? layout.bin : undefined),
    homeDir: home,
    os: "linux",
    now: new Date(),
    loadTrustedRoot: () => Promise.resolve({ trustedRoot: embeddedTrustedRoot(), source: "embedded" }),
    ...(refresh ? { refreshTrustedRoot: refresh } : {}),
  };
  return deps;
}

Deno.test("fix() refreshes an embedded-only trusted root through TUF when it may go online", async () => {
  await using home = await tempHome();
  let calls = 0;
  const deps = await depsFor(home.path, home.layout, () => {
    calls++;
    return Promise.resolve({ trustedRoot: embeddedTrustedRoot(), source: "tuf-refresh", ageSeconds: 0 });
  });
  const findings = await diagnose(deps, HOST);
  // Good enough offline (an info finding), but --fix refreshes it while it may go online.
  assert.ok(findings.some((f) => f.kind === "trusted-root" && f.severity === "info"));
  const changes = await fix(deps, HOST);
  assert.equal(calls, 1);
  assert.deepEqual(changes.map((c) => c.kind), ["refreshed-trusted-root"]);
});

Deno.test("fix() reports no refresh when TUF is unreachable, and never tries when it may not go online", async () => {
  await using home = await tempHome();
  const failing = await depsFor(
    home.path,
    home.layout,
    () =>
      Promise.resolve({ trustedRoot: embeddedTrustedRoot(), source: "embedded", warning: "fetch failed" }),
  );
  assert.deepEqual(await fix(failing, HOST), []);
  const offline = await depsFor(home.path, home.layout);
  assert.deepEqual(await fix(offline, HOST), []);
});

Deno.test("fix() sets auth.json to 0600 and removes half-written wrapper temp files, never a foreign file", async () => {
  await using home = await tempHome();
  const deps = await depsFor(home.path, home.layout);
  const { bin, authFile } = home.layout;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(authFile, "{}");
  await Deno.chmod(authFile, 0o644);
  await Deno.writeTextFile(join(bin, ".jq.abc.tmp"), ""); // what a killed writeWrapper leaves
  await Deno.writeTextFile(join(bin, ".notes.tmp"), "mine");
  const changes = await fix(deps, HOST);
  assert.deepEqual(changes.map((c) => [c.kind, c.subject]), [
    ["removed-bin-leftover", join(bin, ".jq.abc.tmp")],
    ["chmod-auth", authFile],
  ]);
  assert.equal((await Deno.stat(authFile)).mode! & 0o777, 0o600);
  assert.equal(await Deno.readTextFile(join(bin, ".notes.tmp")), "mine");
  assert.deepEqual(await fix(deps, HOST), [], "a second run has nothing left to do");
});
