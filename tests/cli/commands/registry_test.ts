/** `dz add|list|remove registry` (src/cli/commands/registry.ts): policy flags, --json shape, refusals and exit codes. */
import assert from "node:assert/strict";
import { buildPolicy, lintPolicyRegex } from "../../../src/cli/commands/registry.ts";
import { isDropzoneError } from "../../../src/errors.ts";
import { runDz } from "../../support/cli_harness.ts";
import { tempHome } from "../../support/temp_home.ts";

Deno.test("buildPolicy(): a flag replaces both forms (exact and regex) of the template's issuer or identity", () => {
  const cases: [flags: Parameters<typeof buildPolicy>[0], want: unknown][] = [
    [{}, undefined],
    [{ template: "github", identity: "https://id" }, {
      issuer: "https://token.actions.githubusercontent.com",
      identity: "https://id",
    }],
    [{ template: "github", issuerRegex: "^https://x$", identityRegex: "^a$" }, {
      issuer_regex: "^https://x$",
      identity_regex: "^a$",
    }],
    [{ issuer: "https://i", identityRegex: "^a$" }, { issuer: "https://i", identity_regex: "^a$" }],
    [{ publicKey: "keys/cosign.pub" }, { public_key: "/work/keys/cosign.pub" }],
  ];
  for (const [flags, want] of cases) {
    assert.deepEqual(buildPolicy(flags, "/work"), want, JSON.stringify(flags));
  }
  assert.throws(
    () => buildPolicy({ issuer: "https://i", identity: "a", identityRegex: "b" }, "/work"),
    (err) => isDropzoneError(err) && err.code === "INVALID_ARGUMENT" && /not both/.test(err.message),
  );
});

Deno.test("lintPolicyRegex() warns about match-anything and unescaped dots, not about careful regexes", () => {
  assert.equal(lintPolicyRegex("identity_regex", "^.*$").length, 1);
  assert.match(lintPolicyRegex("issuer_regex", "^https://github.com$").join(), /unescaped dots/);
  assert.deepEqual(lintPolicyRegex("issuer_regex", "^https://github\\.com$"), []);
});

Deno.test("dz add registry, list registries --json, remove registry: output, --json shape and exit codes", async () => {
  await using home = await tempHome();
  const dz = (...argv: string[]) => runDz(argv, { home: home.path });
  const add = await dz(
    "add",
    "registry",
    "corp",
    "registry.corp.example/tools",
    "--issuer",
    "https://issuer.corp.example",
    "--identity",
    "https://ci.corp.example/release",
  );
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout, "");
  assert.match(
    add.stderr,
    /Added registry "corp" → registry\.corp\.example\/tools \(keyless policy \(issuer https:\/\/issuer\.corp\.example\)\)/,
  );

  const again = await dz("add", "registry", "corp", "registry.corp.example/tools");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /error: Registry "corp" already exists\nhint: Pass --replace/);

  const listed = await dz("list", "registries", "--json");
  assert.equal(listed.code, 0, listed.stderr);
  const corp = JSON.parse(listed.stdout).find((r: { name: string }) => r.name === "corp");
  assert.deepEqual(corp, {
    name: "corp",
    url: "registry.corp.example/tools",
    default: false,
    insecure: false,
    cosign_policy: { issuer: "https://issuer.corp.example", identity: "https://ci.corp.example/release" },
  });

  const removed = await dz("remove", "registry", "corp");
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stderr, 'Removed registry "corp"\n');
  const missing = await dz("remove", "registry", "corp");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: No registry named "corp"\nhint: Run "dz list registries"/);

  const both = await dz("add", "registry", "x", "x.example", "--identity", "a", "--identity-regex", "b");
  assert.equal(both.code, 2, both.stderr);
});
