/** The command tree (src/cli/program.ts): flag checks at parse time, which commands initialise the home, usage errors. */
import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { DropzoneError } from "../../src/errors.ts";
import { buildProgram, type Invoke } from "../../src/cli/program.ts";

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/** A program whose handlers are never run: `invoke` records the options it was given instead. */
function recordingProgram() {
  const calls: { init?: boolean }[] = [];
  const invoke: Invoke = (_fn, options = {}) => {
    calls.push(options);
    return Promise.resolve();
  };
  const program = buildProgram(invoke, { out: () => {}, err: () => {} }) as unknown as AnyCommand;
  return { program, calls };
}

/** Every command below `cmd` with its path (`["remove", "registry"]`), hidden ones included. */
function walk(cmd: AnyCommand, path: string[] = []): { path: string[]; cmd: AnyCommand }[] {
  return cmd.commands.flatMap((sub) => {
    const p = [...path, sub.name()];
    return [{ path: p, cmd: sub as AnyCommand }, ...walk(sub as AnyCommand, p)];
  });
}

/** The words that satisfy `cmd`'s required arguments and options, so that only the flag under test is wrong. */
function requiredWords(cmd: AnyCommand): string[] {
  const args = cmd.registeredArguments.filter((a) => a.required).map((a) => a.argChoices?.[0] ?? "jq");
  const opts = cmd.options.filter((o) => o.mandatory).flatMap((o) => [o.long!, "out"]);
  return [...args, ...opts];
}

async function parseError(argv: string[]): Promise<{ error: unknown; calls: number }> {
  const { program, calls } = recordingProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return { error: undefined, calls: calls.length };
  } catch (error) {
    return { error, calls: calls.length };
  }
}

for (
  const [flag, bad, message] of [
    ["--min-age", "3x", /Invalid --min-age "3x"/],
    ["--platform", "linux/x86_64", /Invalid --platform/],
  ] as const
) {
  Deno.test(`every command taking ${flag} refuses "${bad}" while parsing, before its handler runs`, async () => {
    const { program } = recordingProgram();
    const taking = walk(program).filter(({ cmd }) => cmd.options.some((o) => o.long === flag));
    assert.ok(taking.length >= 3, `${flag} is taken by ${taking.map((t) => t.path.join(" "))}`);
    for (const { path, cmd } of taking) {
      const argv = [...path, ...requiredWords(cmd), flag, bad];
      const { error, calls } = await parseError(argv);
      assert.ok(error instanceof DropzoneError, `dz ${argv.join(" ")} was accepted`);
      assert.match(error.message, message);
      assert.equal(error.exitCode, 2);
      assert.equal(calls, 0, `dz ${argv.join(" ")} ran its handler`);
    }
  });
}

Deno.test("only doctor, purge, completion and __complete run without initialising the dz home", async () => {
  const { program } = recordingProgram();
  const leaves = walk(program).filter(({ cmd }) => cmd.commands.length === 0 || cmd.name() === "list");
  const withoutInit: string[] = [];
  for (const { path, cmd } of leaves) {
    const argv = [...path, ...requiredWords(cmd)];
    const { program: p, calls } = recordingProgram();
    await p.parseAsync(argv, { from: "user" });
    assert.equal(calls.length, 1, `dz ${argv.join(" ")} invoked ${calls.length} handlers`);
    if (calls[0]!.init === false) withoutInit.push(path.join(" "));
  }
  assert.deepEqual(withoutInit.sort(), ["__complete", "completion", "doctor", "purge"]);
});

Deno.test("an unknown flag on any command or subcommand is dz's usage error naming that command", async () => {
  const { program } = recordingProgram();
  for (const { path, cmd } of walk(program)) {
    const argv = [...path, ...requiredWords(cmd), "--no-such-flag"];
    const { error, calls } = await parseError(argv);
    assert.ok(error instanceof DropzoneError, `dz ${argv.join(" ")}: ${error}`);
    assert.equal(error.code, "USAGE");
    assert.equal(error.message, `Unknown option "--no-such-flag" for "dz ${path.join(" ")}"`);
    assert.match(error.hint ?? "", new RegExp(`dz ${path.join(" ")} --help`));
    assert.equal(calls, 0);
  }
});
