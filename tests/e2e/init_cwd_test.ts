/**
 * `deno task dz …` runs in the checkout but resolves the user's relative paths against the directory the command
 * was typed in (INIT_CWD, issue 11 item 17): `export -o`, `install ./x.tar`, `lock FILE`, `install --locked FILE`.
 */
import assert from "node:assert/strict";
import { labRegistryArgs, startE2E } from "../support/e2e.ts";

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

async function task(cwd: string, home: string, argv: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", CONFIG, "dz", ...argv],
    cwd,
    // As a user's shell would: no INIT_CWD inherited from a `deno task test` running this suite.
    clearEnv: true,
    env: {
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      DROPZONE_HOME: home,
      DZ_NO_TUF: "1",
      NO_COLOR: "1",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task dz resolves relative paths against the user's directory (INIT_CWD)", async () => {
  await using env = await startE2E();
  await env.publish("tool", "latest", "tool\n");
  assert.equal((await env.dz(["install", "lab/tool"])).code, 0);
  const user = await Deno.makeTempDir({ prefix: "dz-user-" });
  const home2 = `${user}-home2`;
  const home3 = `${user}-home3`;
  try {
    const exported = await task(user, env.home, ["export", "tool", "-o", "tool.tar"]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok((await Deno.stat(`${user}/tool.tar`)).isFile, "the archive is in the user's directory");
    const locked = await task(user, env.home, ["lock", "my.lock"]);
    assert.equal(locked.code, 0, locked.stderr);
    assert.ok((await Deno.stat(`${user}/my.lock`)).isFile, "the lockfile is in the user's directory");

    assert.equal((await task(user, home2, labRegistryArgs(env))).code, 0);
    const fromArchive = await task(user, home2, ["install", "./tool.tar"]);
    assert.equal(fromArchive.code, 0, fromArchive.stderr);
    const check = await task(user, home2, ["lock", "my.lock", "--check"]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal((await task(user, home3, labRegistryArgs(env))).code, 0);
    const fromLock = await task(user, home3, ["install", "--locked", "my.lock"]);
    assert.equal(fromLock.code, 0, fromLock.stderr);
  } finally {
    await Deno.remove(user, { recursive: true });
    for (const h of [home2, home3]) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});
