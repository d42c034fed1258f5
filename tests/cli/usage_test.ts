import assert from "node:assert/strict";
import { closest, editDistance } from "../../src/cli/usage.ts";
import { runDz } from "../support/cli_harness.ts";

/** A fetch that records every call and fails: usage errors must be reported before any network access. */
function noNetwork(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const fetch = ((input: string | URL | Request) => {
    calls.push(String(input instanceof Request ? input.url : input));
    return Promise.reject(new TypeError("network access in a usage-error test"));
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const CASES: { argv: string[]; error: RegExp; hint: RegExp }[] = [
  {
    argv: ["uninstal", "jq"],
    error: /^error: Unknown command "dz uninstal"$/m,
    hint: /Did you mean "dz remove"\?/,
  },
  { argv: ["instal", "jq"], error: /Unknown command "dz instal"/, hint: /Did you mean "dz install"\?/ },
  { argv: ["delete", "jq"], error: /Unknown command "dz delete"/, hint: /Did you mean "dz remove"\?/ },
  { argv: ["lst"], error: /Unknown command "dz lst"/, hint: /Did you mean "dz list"\?/ },
  { argv: ["bogus"], error: /Unknown command "dz bogus"/, hint: /Run "dz --help" for the list of commands/ },
  {
    argv: ["add", "regstry", "x", "y"],
    error: /Unknown command "dz add regstry"/,
    hint: /"dz add registry"/,
  },
  { argv: ["path", "setp"], error: /Unknown command "dz path setp"/, hint: /"dz path setup"/ },
  { argv: ["list", "--jsn"], error: /Unknown option "--jsn" for "dz list"/, hint: /Did you mean --json\?/ },
  { argv: ["list", "--nope"], error: /Unknown option "--nope" for "dz list"/, hint: /"dz list --help"/ },
  { argv: ["install"], error: /Missing required argument 'ref'/, hint: /dz install jq/ },
  { argv: ["rm"], error: /Missing required argument 'name'/, hint: /"dz remove --help"/ },
  { argv: ["completion", "tcsh"], error: /Invalid value "tcsh" for <shell>/, hint: /bash, zsh, fish/ },
  {
    argv: ["add", "registry", "x", "ghcr.io/x", "--template", "nope"],
    error: /Invalid value "nope" for --template/,
    hint: /github, gitlab/,
  },
  { argv: ["install", "jq", "--min-age", "3x"], error: /Invalid --min-age "3x"/, hint: /"3d", "12h"/ },
  { argv: ["update", "--min-age", "soon"], error: /Invalid --min-age "soon"/, hint: /unit/ },
  {
    argv: ["install", "jq", "--platform", "linux/x86_64"],
    error: /Invalid --platform/,
    hint: /"linux\/amd64"/,
  },
  { argv: ["install", "jq", "--platform", "linux"], error: /Invalid --platform "linux"/, hint: /os\/arch/ },
  {
    argv: ["export", "jq", "-o", "x.tar", "--platform", "beos/m68k"],
    error: /Invalid --platform/,
    hint: /os/,
  },
  {
    argv: ["install", "jq", "--min-age"],
    error: /option '--min-age <age>' argument missing/i,
    hint: /--help/,
  },
];

Deno.test("usage errors are one error: line and a hint, exit 2, and touch no network", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "dz-usage-" });
  try {
    for (const c of CASES) {
      await t.step(c.argv.join(" "), async () => {
        const net = noNetwork();
        const r = await runDz(c.argv, { home, fetch: net.fetch });
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, c.error);
        assert.match(r.stderr, /^hint: /m);
        assert.match(r.stderr.split("\n").find((l) => l.startsWith("hint: "))!, c.hint);
        // Exactly one error line; nothing of commander's own wording or help dump.
        assert.equal(r.stderr.match(/^error: /gm)?.length, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /Usage: dz|\(Did you mean|run with --help/);
        assert.deepEqual(net.calls, []);
      });
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("help and --version still print to stdout and exit 0", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-usage-" });
  try {
    for (const argv of [["--help"], ["-V"], ["ls", "--help"], ["outdated", "--help"]]) {
      const r = await runDz(argv, { home });
      assert.equal(r.code, 0, argv.join(" "));
      assert.notEqual(r.stdout, "");
      assert.doesNotMatch(r.stderr, /error:/);
    }
    // `dz` alone shows the help on stderr, then the usage error.
    const bare = await runDz([], { home });
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.match(bare.stderr, /Usage: dz/);
    assert.match(bare.stderr, /^error: Missing command for "dz"$/m);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("aliases: ls, rm, uninstall, upgrade and outdated run their commands", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-usage-" });
  try {
    assert.deepEqual(await runDz(["ls", "--json"], { home }).then((r) => [r.code, r.stdout]), [0, "[]\n"]);
    const regs = await runDz(["ls", "registries", "--json"], { home });
    assert.equal(regs.code, 0);
    assert.equal(JSON.parse(regs.stdout)[0].name, "chainguard");
    for (const argv of [["rm", "jq"], ["uninstall", "jq"]]) {
      const r = await runDz(argv, { home });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: "jq" is not installed$/m);
    }
    const upgrade = await runDz(["upgrade"], { home });
    assert.equal(upgrade.code, 0);
    assert.match(upgrade.stderr, /No packages installed/);
    const outdated = await runDz(["outdated", "--json"], { home });
    assert.deepEqual([outdated.code, outdated.stdout], [0, "[]\n"]);
    const rmReg = await runDz(["rm", "registry", "nosuch"], { home });
    assert.equal(rmReg.code, 1);
    assert.match(rmReg.stderr, /No registry named "nosuch"/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("closest suggests within a small edit distance, by prefix, and nothing for unrelated words", () => {
  const candidates = new Map([["install", "install"], ["uninstall", "remove"], ["remove", "remove"], [
    "list",
    "list",
  ], ["ls", "list"]]);
  assert.equal(closest("uninstal", candidates), "remove");
  assert.equal(closest("isntall", candidates), "install");
  assert.equal(closest("remov", candidates), "remove");
  assert.equal(closest("lst", candidates), "list");
  assert.equal(closest("zebra", candidates), undefined);
  assert.equal(closest("", candidates), undefined);
  assert.equal(editDistance("ab", "ba"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

Deno.test("a missing archive path says the archive does not exist, not that '.' is a bad registry host", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-usage-" });
  try {
    for (const argv of [["install", "./nosuch.tar"], ["verify", "./nosuch.tar"]]) {
      const net = noNetwork();
      const r = await runDz(argv, { home, fetch: net.fetch });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^error: Archive (\.\/|\/\S*\/)nosuch\.tar does not exist$/m);
      assert.doesNotMatch(r.stderr, /registry host/);
      assert.deepEqual(net.calls, []);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
