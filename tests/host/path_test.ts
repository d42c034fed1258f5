import assert from "node:assert/strict";
import { join } from "node:path";
import {
  detectShell,
  isOnPath,
  pathSetup,
  pathStatus,
  pathUnset,
  rcFileFor,
  type Shell,
} from "../../src/host/path.ts";
import { renderPathBlock } from "../../src/host/rc.ts";
import { isDropzoneError } from "../../src/errors.ts";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("detectShell() reads the basename of $SHELL", () => {
  assert.equal(detectShell(envOf({ SHELL: "/bin/bash" })), "bash");
  assert.equal(detectShell(envOf({ SHELL: "/usr/local/bin/zsh" })), "zsh");
  assert.equal(detectShell(envOf({ SHELL: "/opt/homebrew/bin/fish" })), "fish");
  assert.equal(detectShell(envOf({ SHELL: "-bash" })), "bash");
  assert.equal(detectShell(envOf({ SHELL: "/bin/tcsh" })), null);
  assert.equal(detectShell(envOf({ SHELL: "" })), null);
  assert.equal(detectShell(envOf({})), null);
});

Deno.test("rcFileFor() picks the file each shell reads", () => {
  const none = envOf({});
  assert.equal(rcFileFor("bash", "/h", none, "linux"), "/h/.bashrc");
  assert.equal(rcFileFor("bash", "/h", none, "darwin"), "/h/.bash_profile");
  assert.equal(rcFileFor("zsh", "/h", none, "linux"), "/h/.zshrc");
  assert.equal(rcFileFor("zsh", "/h", envOf({ ZDOTDIR: "/z" }), "linux"), "/z/.zshrc");
  assert.equal(rcFileFor("fish", "/h", none, "linux"), "/h/.config/fish/conf.d/dz.fish");
  assert.equal(rcFileFor("fish", "/h", envOf({ XDG_CONFIG_HOME: "/x" }), "darwin"), "/x/fish/conf.d/dz.fish");
});

Deno.test("isOnPath() ignores trailing slashes and empty entries", () => {
  assert.ok(isOnPath("/h/.dropzone/bin", "/usr/bin:/h/.dropzone/bin/"));
  assert.ok(isOnPath("/h/.dropzone/bin/", "/h/.dropzone/bin:/usr/bin"));
  assert.ok(!isOnPath("/h/.dropzone/bin", "/h/.dropzone/bin2::/usr/bin"));
  assert.ok(!isOnPath("/h/.dropzone/bin", undefined));
});

Deno.test("pathSetup() then pathUnset() restores the rc file byte for byte and keeps its mode", async () => {
  const home = await Deno.makeTempDir();
  try {
    const rc = join(home, ".bashrc");
    const original = "# my rc\r\nexport EDITOR=vi";
    await Deno.writeTextFile(rc, original);
    await Deno.chmod(rc, 0o600);
    const options = {
      binDir: join(home, ".dropzone/bin"),
      env: envOf({ SHELL: "/bin/bash" }),
      homeDir: home,
      os: "linux",
    };
    const before = await pathStatus(options);
    assert.equal(before.blockPresent, false);
    assert.equal(before.rcFile, rc);
    assert.equal((await pathSetup(options)).action, "added");
    assert.equal((await pathSetup(options)).action, "unchanged");
    assert.equal((await Deno.stat(rc)).mode! & 0o777, 0o600);
    const status = await pathStatus(options);
    assert.equal(status.blockPresent, true);
    assert.equal(status.onPath, false);
    assert.equal((await pathUnset(options)).action, "removed");
    assert.equal(await Deno.readTextFile(rc), original);
    assert.equal((await Deno.stat(rc)).mode! & 0o777, 0o600);
    assert.equal((await pathUnset(options)).action, "absent");
    const leftovers = [...Deno.readDirSync(home)].map((e) => e.name);
    assert.deepEqual(leftovers, [".bashrc"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("pathSetup() creates missing files (fish conf.d) and pathUnset() removes dz's own fish file", async () => {
  const home = await Deno.makeTempDir();
  try {
    const options = {
      binDir: "/opt/dz/bin",
      env: envOf({}),
      homeDir: home,
      os: "linux",
      shell: "fish" as Shell,
    };
    const change = await pathSetup(options);
    assert.equal(change.action, "added");
    assert.equal(change.rcFile, join(home, ".config/fish/conf.d/dz.fish"));
    assert.ok((await Deno.readTextFile(change.rcFile)).includes("set -gx PATH '/opt/dz/bin' $PATH"));
    await pathUnset(options);
    await assert.rejects(Deno.stat(change.rcFile), Deno.errors.NotFound);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("pathSetup() edits the target of a symlinked rc file", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(home, "dotfiles"));
    await Deno.writeTextFile(join(home, "dotfiles/zshrc"), "x=1\n");
    await Deno.symlink("dotfiles/zshrc", join(home, ".zshrc"));
    const options = { binDir: "/b", env: envOf({ SHELL: "/bin/zsh" }), homeDir: home, os: "linux" };
    await pathSetup(options);
    assert.ok((await Deno.lstat(join(home, ".zshrc"))).isSymlink);
    assert.ok((await Deno.readTextFile(join(home, "dotfiles/zshrc"))).includes("# >>> dz PATH >>>"));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("pathSetup() refuses an unknown shell and a malformed block", async () => {
  const home = await Deno.makeTempDir();
  try {
    const unknown = { binDir: "/b", env: envOf({ SHELL: "/bin/tcsh" }), homeDir: home, os: "linux" };
    await assert.rejects(pathSetup(unknown), (err) => isDropzoneError(err, "INVALID_ARGUMENT") && !!err.hint);
    const status = await pathStatus(unknown);
    assert.equal(status.shell, null);
    assert.equal(status.rcFile, null);
    await Deno.writeTextFile(join(home, ".bashrc"), "# >>> dz PATH >>>\nexport PATH=/b:$PATH\n");
    const bash = { ...unknown, shell: "bash" as Shell };
    await assert.rejects(pathSetup(bash), (err) => isDropzoneError(err, "CONFIG_INVALID"));
    await assert.rejects(pathUnset(bash), (err) => isDropzoneError(err, "CONFIG_INVALID"));
    assert.equal((await pathStatus(bash)).blockMalformed, true);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

const NASTY_DIR = '/tmp/dz o\'brien/$HOME `x` "q" ;|&()<>*?[]{}~#/bin';

Deno.test("renderPathBlock() output passes bash -n, zsh -n and fish -n and puts the dir on PATH once", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    for (const shell of ["bash", "zsh", "sh"] as const) {
      await t.step(shell, async () => {
        const rc = join(dir, `rc.${shell}`);
        await Deno.writeTextFile(rc, renderPathBlock(shell === "sh" ? "bash" : shell, NASTY_DIR) + "\n");
        assert.equal((await run(shell, ["-n", rc])).code, 0);
        const out = await run(shell, ["-c", `. "$1"; . "$1"; printf '%s' "$PATH"`, "x", rc], {
          PATH: "/usr/bin:/bin",
        });
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout, `${NASTY_DIR}:/usr/bin:/bin`);
        const empty = await run(shell, ["-c", `PATH=; . "$1"; printf '%s' "$PATH"`, "x", rc]);
        assert.equal(empty.stdout, NASTY_DIR, "no empty entry (cwd) when PATH was empty");
      });
    }
    await t.step("fish", async () => {
      const rc = join(dir, "dz.fish");
      await Deno.writeTextFile(rc, renderPathBlock("fish", NASTY_DIR) + "\n");
      assert.equal((await run("fish", ["-n", rc])).code, 0);
      const out = await run("fish", [
        "--no-config",
        "-c",
        `source $argv[1]; source $argv[1]; string join : $PATH`,
        rc,
      ], {
        PATH: "/usr/bin:/bin",
        HOME: dir,
      });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trim(), `${NASTY_DIR}:/usr/bin:/bin`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pathSetup() writes a ~/.bashrc that a real bash sources", async () => {
  const home = await Deno.makeTempDir();
  try {
    const binDir = join(home, ".dropzone", "bin");
    await Deno.writeTextFile(join(home, ".bashrc"), "FOO=1");
    await pathSetup({ binDir, env: envOf({ SHELL: "/bin/bash" }), homeDir: home, os: "linux" });
    const rc = join(home, ".bashrc");
    assert.equal((await run("bash", ["-n", rc])).code, 0);
    const out = await run("bash", ["-c", `source "$1"; echo "$FOO $PATH"`, "x", rc], {
      PATH: "/usr/bin:/bin",
    });
    assert.equal(out.stdout.trim(), `1 ${binDir}:/usr/bin:/bin`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
