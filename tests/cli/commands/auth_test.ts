/** Tests for src/cli/commands/auth.ts: `dz login` / `dz logout` argument handling; secrets never printed. */
import assert from "node:assert/strict";
import { runDz } from "../../support/cli_harness.ts";
import { launchRegistry } from "../../support/registry_launcher.ts";
import { tempHome } from "../../support/temp_home.ts";

const SECRET = "s3cret-token-value";

async function authFile(path: string): Promise<Record<string, { auth?: string }>> {
  return JSON.parse(await Deno.readTextFile(path)).auths;
}

Deno.test("dz login --no-verify --password-stdin saves 0600 credentials for the canonical host, never echoing them", async () => {
  await using home = await tempHome();
  const r = await runDz(
    ["login", "https://GHCR.io/some/path", "-u", "me", "--password-stdin", "--no-verify"],
    {
      home: home.path,
      stdin: `${SECRET}\n`,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^Saved credentials for ghcr\.io \(user me\) without verifying them$/m);
  assert.ok(!r.stderr.includes(SECRET));
  const auths = await authFile(home.layout.authFile);
  assert.deepEqual(Object.keys(auths), ["ghcr.io"]);
  assert.equal(atob(auths["ghcr.io"]!.auth!), `me:${SECRET}`, "the trailing newline from stdin is not saved");
  assert.equal((await Deno.stat(home.layout.authFile)).mode! & 0o777, 0o600);

  const out = await runDz(["logout", "ghcr.io"], { home: home.path });
  assert.deepEqual([out.code, out.stdout], [0, ""]);
  assert.match(out.stderr, /^Removed credentials for ghcr\.io$/m);
  assert.deepEqual(Object.keys(await authFile(home.layout.authFile)), []);
  assert.match(
    (await runDz(["logout", "ghcr.io"], { home: home.path })).stderr,
    /^No saved credentials for ghcr\.io$/m,
  );
});

Deno.test("dz login accepts a configured registry name and stores its host; a permissive auth file is fixed", async () => {
  await using home = await tempHome();
  await Deno.writeTextFile(home.layout.authFile, '{"auths":{}}', { mode: 0o644 });
  await Deno.chmod(home.layout.authFile, 0o644);
  const r = await runDz(["login", "chainguard", "-u", "me", "--password-stdin", "--no-verify"], {
    home: home.path,
    stdin: SECRET,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /auth\.json was readable by others; it is 0600 now/);
  assert.deepEqual(Object.keys(await authFile(home.layout.authFile)), ["docker.io"]);
  assert.equal((await Deno.stat(home.layout.authFile)).mode! & 0o777, 0o600);
});

Deno.test("dz login without a terminal: missing username or password are usage errors naming the flag", async () => {
  await using home = await tempHome();
  const cases: [string[], string | undefined, RegExp][] = [
    [["login", "ghcr.io", "--no-verify"], undefined, /^hint: Pass -u <user>$/m],
    [
      ["login", "ghcr.io", "-u", "me", "--no-verify"],
      undefined,
      /^hint: Pipe the password or token in with --password-stdin$/m,
    ],
    [
      ["login", "ghcr.io", "-u", "me", "--password-stdin", "--no-verify"],
      "\n",
      /^error: Cannot log in: the password is empty$/m,
    ],
    [
      ["login", "not a host!", "-u", "me", "--no-verify"],
      undefined,
      /neither a configured registry nor a host/,
    ],
    [["logout", "bad host"], undefined, /neither a configured registry nor a host/],
  ];
  for (const [argv, stdin, message] of cases) {
    const r = await runDz(argv, { home: home.path, ...(stdin === undefined ? {} : { stdin }) });
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, argv.join(" "));
  }
  await assert.rejects(Deno.stat(home.layout.authFile), Deno.errors.NotFound, "nothing was saved");
});

Deno.test("dz login prompts for the username and password on a terminal, and verifies them first", async () => {
  await using reg = await launchRegistry({ auth: { username: "alice", password: SECRET } });
  await using home = await tempHome();
  const bad = await runDz(["login", reg.host, "--password-stdin"], {
    home: home.path,
    answers: ["alice"],
    stdin: "wrong",
  });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /^Username: /);
  assert.match(bad.stderr, /rejected the credentials/);
  await assert.rejects(
    Deno.stat(home.layout.authFile),
    Deno.errors.NotFound,
    "rejected credentials are not saved",
  );
  const ok = await runDz(["login", reg.host], { home: home.path, answers: ["alice", SECRET] });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /Password: /);
  assert.match(
    ok.stderr,
    new RegExp(`Logged in to ${reg.host.replace(/\./g, "\\.")} as alice \\(credentials verified`),
  );
  assert.ok(!ok.stderr.includes(SECRET) && !ok.stdout.includes(SECRET));
});
