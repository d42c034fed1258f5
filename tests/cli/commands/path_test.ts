/** Tests for src/cli/commands/path.ts: `dz path`, `dz path setup`, `dz path unset` through the CLI. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runDz } from "../../support/cli_harness.ts";
import { tempDir, tempHome } from "../../support/temp_home.ts";

Deno.test("dz path → setup → path → setup again → unset: status on stdout, what changed on stderr", async () => {
  await using home = await tempHome();
  await using user = await tempDir("dz-user-");
  const dz = (argv: string[]) =>
    runDz(argv, { home: home.path, userHome: user.path, env: { SHELL: "/bin/bash", PATH: "/usr/bin:/bin" } });
  const rc = join(user.path, ".bashrc");

  const before = await dz(["path"]);
  assert.equal(before.code, 0, before.stderr);
  assert.equal(
    before.stdout,
    [
      `bin dir:   ${home.layout.bin}`,
      "on PATH:   no",
      "shell:     bash",
      `rc file:   ${rc}`,
      "rc block:  absent",
      "",
    ].join("\n"),
  );
  assert.match(before.stderr, /Run "dz path setup" to add it to your shell/);

  const setup = await dz(["path", "setup"]);
  assert.equal(setup.code, 0, setup.stderr);
  assert.equal(setup.stdout, "");
  assert.match(setup.stderr, new RegExp(`Added the dz PATH block in ${rc}`));
  assert.match(setup.stderr, /Run "source .*\.bashrc" or open a new shell/);
  assert.ok((await Deno.readTextFile(rc)).includes(home.layout.bin));

  const after = await dz(["path"]);
  assert.match(after.stdout, /^rc block: {2}present$/m);
  assert.match(after.stderr, /Open a new shell \(or "source .*\.bashrc"\) to pick it up/);

  const again = await dz(["path", "setup"]);
  assert.match(again.stderr, /Already configured in .*\.bashrc \(no changes\)/);

  const unset = await dz(["path", "unset"]);
  assert.equal(unset.code, 0);
  assert.match(unset.stderr, /Removed the dz PATH block from .*\.bashrc/);
  assert.ok(!(await Deno.readTextFile(rc)).includes(home.layout.bin));
  assert.match((await dz(["path", "unset"])).stderr, /No dz PATH block in .*\.bashrc \(nothing to remove\)/);
});

Deno.test("dz path: on PATH already means no hint; --shell picks the rc file; bad shells are usage errors", async () => {
  await using home = await tempHome();
  await using user = await tempDir("dz-user-");
  const env = { SHELL: "/bin/bash", PATH: `${home.layout.bin}:/usr/bin` };
  const on = await runDz(["path"], { home: home.path, userHome: user.path, env });
  assert.match(on.stdout, /^on PATH: {3}yes$/m);
  assert.equal(on.stderr, "");
  const zsh = await runDz(["path", "setup", "--shell", "zsh"], { home: home.path, userHome: user.path, env });
  assert.equal(zsh.code, 0, zsh.stderr);
  assert.match(zsh.stderr, /\.zshrc/);
  const bad = await runDz(["path", "setup", "--shell", "tcsh"], {
    home: home.path,
    userHome: user.path,
    env,
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /tcsh/);
  const unknown = await runDz(["path"], { home: home.path, userHome: user.path, env: { PATH: "/usr/bin" } });
  assert.match(unknown.stdout, /^shell: {5}unknown \(set \$SHELL, or use --shell with setup\)$/m);
  assert.match(unknown.stdout, /^rc file: {3}-$/m);
});
