import assert from "node:assert/strict";
import { runDz, spawnDz } from "../support/cli_harness.ts";
import { tempDir } from "../support/temp_home.ts";

const COMMANDS = [
  "install",
  "remove",
  "list",
  "info",
  "add",
  "search",
  "tags",
  "update",
  "rollback",
  "verify",
  "doctor",
  "gc",
  "path",
  "login",
  "logout",
  "purge",
  "completion",
];

Deno.test("dz --help lists every command on stdout and exits 0", async () => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path;
  const r = await runDz(["--help"], { home });
  assert.equal(r.code, 0);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, "m"), c);
  assert.equal(r.stderr, "");
});

Deno.test("every command's --help shows examples", async (t) => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path;
  const paths = [
    ...COMMANDS.filter((c) => c !== "add"),
    "add registry",
    "remove registry",
    "list registries",
    "path setup",
    "path unset",
    "lock",
    "export",
    "run",
  ];
  for (const p of paths) {
    await t.step(p, async () => {
      const r = await runDz([...p.split(" "), "--help"], { home });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Examples:\n {2}\$ dz /);
    });
  }
});

Deno.test("usage errors exit 2 with the message on stderr", async () => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path;
  for (const argv of [["bogus"], ["install"], ["completion", "tcsh"], ["list", "--nope"]]) {
    const r = await runDz(argv, { home });
    assert.equal(r.code, 2, argv.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /error:/);
  }
  const bad = await runDz(["install", "Not/Valid!"], { home });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Cannot parse reference "Not\/Valid!"/m);
  assert.match(bad.stderr, /^hint: /m);
});

Deno.test("first run seeds the home and config once and prints the PATH hint on stderr only", async () => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path + "/h";
  const first = await runDz(["list", "--json"], { home });
  assert.equal(first.code, 0);
  assert.equal(first.stdout, "[]\n");
  assert.match(first.stderr, /put .*\/h\/bin on your PATH/);
  for (const d of ["bin", "packages", "cache", "config"]) {
    assert.ok((await Deno.stat(`${home}/${d}`)).isDirectory);
  }
  const config = await Deno.readTextFile(`${home}/config/config.yaml`);
  assert.match(config, /name: chainguard/);
  assert.match(config, /release\.yaml@refs\/heads\/main/);
  const second = await runDz(["list", "--json"], { home });
  assert.equal(second.stderr, "");
});

Deno.test("add/list/remove registry round trip keeps comments and validates input", async () => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path;
  await runDz(["list", "registries"], { home });
  const cfgPath = `${home}/config/config.yaml`;
  await Deno.writeTextFile(cfgPath, "# keep me\n" + await Deno.readTextFile(cfgPath));
  const add = await runDz([
    "add",
    "registry",
    "corp",
    "ghcr.io/corp",
    "--template",
    "github",
    "--identity-regex",
    "https://github.com/corp/.*",
    "--default",
  ], { home });
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, /unescaped dots/);
  const listed = await runDz(["list", "registries", "--json"], { home });
  const regs = JSON.parse(listed.stdout);
  assert.deepEqual(regs.map((r: { name: string; default: boolean }) => [r.name, r.default]), [
    ["chainguard", false],
    ["corp", true],
  ]);
  assert.equal(regs[1].cosign_policy.issuer, "https://token.actions.githubusercontent.com");
  assert.match(await Deno.readTextFile(cfgPath), /^# keep me\n/);

  const dup = await runDz(["add", "registry", "corp", "x.io"], { home });
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  const badName = await runDz(["add", "registry", "a.b", "x.io"], { home });
  assert.equal(badName.code, 2);
  const half = await runDz(["add", "registry", "half", "x.io", "--issuer", "https://i"], { home });
  assert.equal(half.code, 2);
  assert.match(half.stderr, /no signer identity/);

  const rm = await runDz(["remove", "registry", "corp"], { home });
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(rm.stderr, /was the default/);
  const rmLast = await runDz(["remove", "registry", "chainguard"], { home });
  assert.equal(rmLast.code, 0);
  const after = await runDz(["list", "registries", "--json"], { home });
  assert.equal(after.stdout, "[]\n", "removing the last registry must not resurrect chainguard");
});

Deno.test("purge refuses a directory without the dz marker and never removes HOME", async () => {
  await using dirDir = await tempDir("dz-cli-");
  const dir = dirDir.path;
  await Deno.writeTextFile(`${dir}/precious`, "x");
  const r = await runDz(["purge", "--yes"], { home: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no .* marker/);
  assert.equal(await Deno.readTextFile(`${dir}/precious`), "x");
  const asHome = await runDz(["purge", "--yes"], { home: dir, userHome: dir });
  assert.equal(asHome.code, 1);
  assert.match(asHome.stderr, /refusing to delete/);
});

Deno.test("purge deletes a dz home after confirmation and aborts without a terminal", async () => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path;
  await runDz(["list"], { home });
  const noTty = await runDz(["purge"], { home });
  assert.equal(noTty.code, 1);
  assert.match(noTty.stderr, /--yes/);
  const yes = await runDz(["purge"], { home, answers: ["y"] });
  assert.equal(yes.code, 0, yes.stderr);
  await assert.rejects(() => Deno.stat(home));
});

Deno.test("black box: the real entry point keeps stdout for data and exits with the documented codes", async () => {
  await using homeDir = await tempDir("dz-cli-");
  const home = homeDir.path;
  const ok = await spawnDz(["list", "--json"], { home });
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, "[]\n");
  const version = await spawnDz(["--version"], { home });
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const usage = await spawnDz(["nope"], { home });
  assert.equal(usage.code, 2);
  assert.equal(usage.stdout, "");
});
