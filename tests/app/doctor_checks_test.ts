import assert from "node:assert/strict";
import {
  authPermissionFinding,
  inspectAuth,
  inspectConfig,
  inspectPath,
} from "../../src/app/doctor_checks.ts";
import { SEED_TEXT } from "../../src/store/config_seed.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("authPermissionFinding requires 0600", () => {
  assert.equal(authPermissionFinding("/h/auth.json", undefined), null);
  assert.equal(authPermissionFinding("/h/auth.json", 0o100600), null);
  assert.equal(authPermissionFinding("/h/auth.json", 0o100400), null);
  const f = authPermissionFinding("/h/auth.json", 0o100644)!;
  assert.equal(f.fixable, true);
  assert.match(f.message, /mode 0644/);
});

Deno.test("inspectAuth reads auth.json's mode: none when absent or 0600, a fixable warning when wider", async () => {
  await using home = await tempHome();
  const { authFile } = home.layout;
  assert.equal(await inspectAuth(home.layout), null);
  await Deno.writeTextFile(authFile, "{}", { mode: 0o600 });
  await Deno.chmod(authFile, 0o600);
  assert.equal(await inspectAuth(home.layout), null);
  await Deno.chmod(authFile, 0o604);
  const f = await inspectAuth(home.layout);
  assert.equal(f?.kind, "auth-permissions");
  assert.equal(f?.subject, authFile);
  assert.match(f?.message ?? "", /mode 0604; it must be 0600/);
});

Deno.test("inspectConfig returns the config, or a config-invalid error naming the field, never a crash", async () => {
  await using home = await tempHome();
  const { configFile, configDir } = home.layout;
  await Deno.mkdir(configDir, { recursive: true });
  await Deno.writeTextFile(configFile, SEED_TEXT);
  const ok = await inspectConfig(home.layout);
  assert.deepEqual(ok.findings, []);
  assert.equal(ok.config?.registries[0]?.name, "chainguard");
  await Deno.writeTextFile(configFile, SEED_TEXT + "keep_versions: lots\n");
  const bad = await inspectConfig(home.layout);
  assert.equal(bad.config, undefined);
  assert.equal(bad.findings.length, 1);
  assert.equal(bad.findings[0]!.kind, "config-invalid");
  assert.equal(bad.findings[0]!.severity, "error");
  assert.equal(bad.findings[0]!.path, configFile);
  assert.match(bad.findings[0]!.message, /keep_versions/);
});

Deno.test("inspectPath warns when bin/ is not on PATH and suggests dz path setup", async () => {
  await using home = await tempHome();
  const base = { layout: home.layout, homeDir: home.path + "-user", os: "linux" };
  assert.equal(
    await inspectPath({ ...base, env: (n) => (n === "PATH" ? `/usr/bin:${home.layout.bin}` : undefined) }),
    null,
  );
  const f = await inspectPath({ ...base, env: (n) => (n === "PATH" ? "/usr/bin" : undefined) });
  assert.equal(f?.kind, "path");
  assert.equal(f?.severity, "warning");
  assert.equal(f?.fixable, false);
  assert.match(f?.message ?? "", /is not on PATH; run "dz path setup"/);
});
