/**
 * Every `dz …` command a message in src/ tells the user to run exists in the real commander tree, with every flag
 * it names (issue 11 item 5: hints pointed at `dz list --versions`, which never existed). The tree is built by
 * `buildProgram`, so aliases and flags added elsewhere are seen as they are.
 */
import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { buildProgram } from "../../src/cli/program.ts";

const SRC = new URL("../../src/", import.meta.url).pathname;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* sourceFiles(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

/** The contents of the string literals of a TypeScript source, comments removed first. */
export function stringLiterals(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|\s)\/\/ .*$/gm, "$1");
  const literals: string[] = [];
  for (const m of code.matchAll(/"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`/g)) {
    literals.push(m[1] ?? m[2] ?? m[3] ?? "");
  }
  return literals;
}

/**
 * `dz …` command lines mentioned in a literal, each cut where the command ends. A mention whose first word is a
 * command of `program` is always checked; any other word counts as a (misspelt or missing) command only where
 * the text clearly tells the user to type it: quoted on its own ('"dz uninstall"') or after "run", "try", "use"
 * or "with". Everything else ("a dz home", "dz refuses …") is prose.
 */
export function commandMentions(literal: string, program: Command): string[][] {
  const out: string[][] = [];
  // Quotes inside a message delimit the command ('Run "dz doctor --fix" to …'); split on them first.
  for (const [index, part] of literal.split(/["'`]/).entries()) {
    for (const m of part.matchAll(/(?:^|[^\w/.-])dz (?=\S)/g)) {
      const start = m.index! + m[0].length;
      const tokens: string[] = [];
      for (const raw of part.slice(start).split(/\s+/)) {
        if (raw === "" || raw === "--" || /^[(;,[]/.test(raw)) break;
        const token = raw.replace(/[.,;:)\]]+$/, "");
        tokens.push(token);
        if (token !== raw) break;
      }
      const first = tokens[0];
      if (first === undefined || !/^[a-z][a-z-]*$/.test(first)) continue;
      const before = part.slice(0, start - 3);
      // Quoted inside the message (not the literal's own start), or after an imperative.
      const told = (index > 0 && before.trim() === "") || /\b(run|try|use|with)\s*$/i.test(before);
      if (findSub(program, first) || told) out.push(tokens);
    }
  }
  return out;
}

function findSub(cmd: Command, word: string): Command | undefined {
  return (cmd.commands as Command[]).find((c) => c.name() === word || c.aliases().includes(word));
}

function flagsOf(cmd: Command): Set<string> {
  const flags = new Set(["--help", "-h"]);
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) {
    for (const o of c.options) {
      if (o.long) flags.add(o.long);
      if (o.short) flags.add(o.short);
    }
  }
  return flags;
}

/** Why a mentioned command line does not exist in the tree, or null when it does. */
export function checkMention(program: Command, tokens: readonly string[]): string | null {
  let cmd = findSub(program, tokens[0]!);
  if (!cmd) return `no command "${tokens[0]}"`;
  let i = 1;
  for (; i < tokens.length; i++) {
    const sub = findSub(cmd, tokens[i]!);
    if (!sub) break;
    cmd = sub;
  }
  const flags = flagsOf(cmd);
  for (const t of tokens.slice(i)) {
    if (!/^--?[a-zA-Z]/.test(t)) continue;
    const flag = t.split("=")[0]!;
    if (!flags.has(flag)) return `"${cmd.name()}" has no flag ${flag}`;
  }
  return null;
}

function realProgram(): Command {
  return buildProgram(() => Promise.resolve(), { out: () => {}, err: () => {} }) as unknown as Command;
}

Deno.test("every dz command and flag named by a message in src/ exists in the command tree", async () => {
  const program = realProgram();
  const problems: string[] = [];
  let checked = 0;
  for await (const file of sourceFiles(SRC)) {
    for (const literal of stringLiterals(await Deno.readTextFile(file))) {
      for (const tokens of commandMentions(literal, program)) {
        checked++;
        const problem = checkMention(program, tokens);
        if (problem) problems.push(`${file.slice(SRC.length)}: "dz ${tokens.join(" ")}": ${problem}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(checked > 40, `the walk found the hints (${checked})`);
});

Deno.test("the hint walker catches a command or flag that does not exist", () => {
  const program = realProgram();
  const check = (literal: string) => commandMentions(literal, program).map((t) => checkMention(program, t));
  assert.deepEqual(check('Give a digest shown by "dz list --versions"'), ['"list" has no flag --versions']);
  assert.deepEqual(check("run dz frobnicate jq"), ['no command "frobnicate"']);
  assert.deepEqual(check('Run "dz doctor --fix" to repair; "dz remove registry corp --force"'), [null, null]);
  assert.deepEqual(check("dz update --yes (rebuilds) or dz update --all --yes"), [null, null]);
  assert.deepEqual(check("This directory is a dz home; dz refuses it"), []);
  assert.deepEqual(check('"dz frobnicate jq" removes it'), ['no command "frobnicate"']);
  assert.deepEqual(check("dz run jq -- --version"), [null], "flags after -- belong to the tool");
  assert.deepEqual(check("dz uninstall jq, dz ls, dz outdated"), [null, null, null], "aliases are commands");
  assert.deepEqual(
    stringLiterals('const a = "x"; // "dz nope"\n/* "dz nope" */ const b = `dz ${c} y`;'),
    ["x", "dz ${c} y"],
  );
});
