import assert from "node:assert/strict";
import { runDz } from "../support/cli_harness.ts";
import { tempDir } from "../support/temp_home.ts";

async function has(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function syntaxCheck(shell: string, script: string): Promise<{ ok: boolean; err: string }> {
  const file = await Deno.makeTempFile({ suffix: `.${shell}` });
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(shell, { args: ["-n", file], stderr: "piped", stdout: "null" }).output();
  await Deno.remove(file);
  return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
}

for (const shell of ["bash", "zsh", "fish"] as const) {
  Deno.test(`dz completion ${shell} passes ${shell} -n and names every command`, async () => {
    if (!(await has(shell))) {
      // CI installs zsh and fish; a developer machine without them still runs the bash check.
      if (Deno.env.get("CI")) throw new Error(`${shell} is required in CI`);
      return;
    }
    await using home = await tempDir();
    const r = await runDz(["completion", shell], { home: home.path });
    assert.equal(r.code, 0);
    const { ok, err } = await syntaxCheck(shell, r.stdout);
    assert.ok(ok, err);
    for (const c of ["install", "remove", "registry", "update", "rollback", "doctor", "completion"]) {
      assert.ok(r.stdout.includes(c), c);
    }
  });
}

Deno.test("bash completion completes commands, registry names and subcommands", async () => {
  await using home = await tempDir();
  const r = await runDz(["completion", "bash"], { home: home.path });
  await using scratch = await tempDir();
  const script = `${scratch.path}/dz.bash`;
  // A stub `dz` on PATH answers __complete like the real one.
  const bin = `${scratch.path}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/dz`,
    '#!/bin/sh\ncase "$2" in registries) echo chainguard; echo corp ;; packages) echo jq; echo python ;; esac\n',
  );
  await Deno.chmod(`${bin}/dz`, 0o755);
  await Deno.writeTextFile(script, r.stdout);
  const probe = async (words: string[]) => {
    const line = words.map((w) => `'${w}'`).join(" ");
    const cmd = `source ${script}; COMP_WORDS=(${line}); COMP_CWORD=${
      words.length - 1
    }; _dz; echo "\${COMPREPLY[*]}"`;
    const out = await new Deno.Command("bash", {
      args: ["-c", cmd],
      env: { PATH: `${bin}:${Deno.env.get("PATH")}` },
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  };
  assert.ok((await probe(["dz", "ins"])).includes("install"));
  assert.deepEqual((await probe(["dz", "remove", "registry", ""])).sort(), ["chainguard", "corp"]);
  const rm = await probe(["dz", "remove", ""]);
  assert.ok(rm.includes("jq") && rm.includes("registry"));
  assert.deepEqual(await probe(["dz", "completion", "z"]), ["zsh"]);
  assert.deepEqual((await probe(["dz", "search", "--registry", ""])).sort(), ["chainguard", "corp"]);
});
