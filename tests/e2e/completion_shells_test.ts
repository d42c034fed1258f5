/**
 * Completion of installed package and registry names in real shells: bash and zsh in tmux sessions (keys
 * typed, screen read), fish through its own `complete -C` hook. `dz` on PATH is this checkout's main.ts.
 */
import assert from "node:assert/strict";
import { DZ_RUN_FLAGS } from "../support/cli_harness.ts";
import { startE2E } from "../support/e2e.ts";
import { startTmuxShell } from "../support/tmux.ts";

async function has(cmd: string): Promise<boolean> {
  const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).output();
  return out.success;
}

/** A bin dir with a `dz` that runs this checkout against `home`, plus the env the shells get. */
async function dzOnPath(home: string): Promise<{ bin: string; env: Record<string, string> }> {
  const bin = await Deno.makeTempDir({ prefix: "dz-bin-" });
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  await Deno.writeTextFile(
    `${bin}/dz`,
    `#!/bin/sh\nexec ${[Deno.execPath(), "run", "-q", ...DZ_RUN_FLAGS, main].map(q).join(" ")} "$@"\n`,
  );
  await Deno.chmod(`${bin}/dz`, 0o755);
  const env = {
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: bin,
    TERM: "xterm",
    DROPZONE_HOME: home,
    DZ_NO_TUF: "1",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
  };
  return { bin, env };
}

Deno.test("bash, zsh and fish complete installed package names and registry names in a real session", async (t) => {
  for (const shell of ["tmux", "bash", "zsh", "fish"]) {
    if (!(await has(shell))) {
      if (Deno.env.get("CI")) throw new Error(`${shell} is required in CI`);
      return;
    }
  }
  await using env = await startE2E();
  await env.publish("cat", "latest", "cat\n");
  await env.publish("cow", "latest", "cow\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/cow"])).code, 0);
  const { bin, env: shellEnv } = await dzOnPath(env.home);
  try {
    const scripts: Record<string, string> = {};
    for (const sh of ["bash", "zsh", "fish"]) {
      scripts[sh] = `${bin}/completion.${sh}`;
      await Deno.writeTextFile(scripts[sh]!, (await env.dz(["completion", sh])).stdout);
    }

    const session = async (command: string[], setup: string, prompt: RegExp) => {
      const shell = await startTmuxShell(command, { env: shellEnv });
      await shell.waitFor(prompt);
      await shell.send(setup, { literal: true });
      await shell.send("Enter");
      await shell.send("clear", { literal: true });
      await shell.send("Enter");
      return shell;
    };
    const complete = async (shell: Awaited<ReturnType<typeof session>>, typed: string, expect: RegExp) => {
      await shell.send("C-u");
      await shell.send(typed, { literal: true });
      await shell.send("Tab");
      return await shell.waitFor(expect);
    };

    await t.step("bash", async () => {
      await using shell = await session(
        ["bash", "--norc", "--noprofile"],
        `source ${scripts.bash}`,
        /[$#] ?$/,
      );
      await complete(shell, "dz remove ca", /dz remove cat ?$/m);
      await complete(shell, "dz rm co", /dz rm cow ?$/m);
      await complete(shell, "dz remove registry l", /dz remove registry lab ?$/m);
      await complete(shell, "dz info c", /dz info c$/m);
      await shell.send("Tab");
      await shell.waitFor(/cat\s+cow/);
    });

    await t.step("zsh", async () => {
      await using shell = await session(
        ["zsh", "-f"],
        `autoload -U compinit && compinit -u && source ${scripts.zsh}`,
        /[%#] ?$/,
      );
      await complete(shell, "dz remove ca", /dz remove cat ?$/m);
      await complete(shell, "dz rm co", /dz rm cow ?$/m);
      await complete(shell, "dz remove registry l", /dz remove registry lab ?$/m);
      // Completion must leave the user's PATH alone (the generated function once declared `local path`).
      await shell.send("C-u");
      await shell.send('echo "PATH=$PATH"', { literal: true });
      await shell.send("Enter");
      await shell.waitFor(new RegExp(`PATH=${bin}:`));
    });

    await t.step("fish", async () => {
      const run = async (line: string) => {
        const out = await new Deno.Command("fish", {
          args: ["--no-config", "-c", `source ${scripts.fish}; complete -C ${JSON.stringify(line)}`],
          env: shellEnv,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split("\t")[0] ?? "").filter((
          w,
        ) => w !== "");
      };
      assert.deepEqual((await run("dz remove c")).filter((w) => w.startsWith("c")).sort(), ["cat", "cow"]);
      assert.ok((await run("dz rm ca")).includes("cat"));
      assert.ok((await run("dz remove registry ")).includes("lab"));
    });
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
