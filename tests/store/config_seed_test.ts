/** Tests for src/store/config_seed.ts: the first-run config text agrees with the seeded registry and policy. */
import assert from "node:assert/strict";
import { CHAINGUARD_POLICY, SEED_REGISTRY, SEED_TEXT } from "../../src/store/config_seed.ts";
import { CONFIG_VERSION, parseConfigText } from "../../src/store/config.ts";

Deno.test("SEED_TEXT parses and validates to exactly the seeded registry, its policy and the safe defaults", () => {
  const { config, doc } = parseConfigText(SEED_TEXT, "config.yaml");
  assert.equal(config.version, CONFIG_VERSION);
  assert.equal(config.default_registry, SEED_REGISTRY.name);
  assert.equal(config.always_allow_unsigned, false, "a fresh home refuses unsigned images");
  assert.deepEqual(config.registries, [SEED_REGISTRY]);
  assert.deepEqual(config.registries[0]!.cosign_policy, CHAINGUARD_POLICY);
  assert.deepEqual(config.mirrors, []);
  assert.match(doc.toString(), /^# dz configuration/, "the comments survive a round trip");
});

Deno.test("the seeded policy pins Chainguard's release workflow on GitHub Actions exactly (no regex)", () => {
  assert.deepEqual(Object.keys(CHAINGUARD_POLICY).sort(), ["identity", "issuer"]);
  assert.equal(CHAINGUARD_POLICY.issuer, "https://token.actions.githubusercontent.com");
  assert.equal(
    CHAINGUARD_POLICY.identity,
    "https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main",
  );
});

Deno.test("config_seed.ts does not load the YAML parser (quick commands start without it)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../../src/store/config_seed.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success);
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  // `npmPackages` lists the whole lockfile; `modules` is this module's graph (npm: specifiers included).
  const specifiers: string[] = info.modules.map((m: { specifier: string }) => m.specifier);
  assert.ok(specifiers.some((s) => s.endsWith("/config_seed.ts")), "the graph was read");
  assert.deepEqual(specifiers.filter((s) => /yaml/i.test(s)), []);
});
