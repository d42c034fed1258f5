/**
 * Usage errors: turns commander's parse failures into dz's `error:` + `hint:` form (exit 2) and suggests the
 * closest command or flag. Pure apart from reading the command tree it is given.
 */
import { DropzoneError } from "../errors.ts";

/** The parts of a commander command this module reads (kept structural so tests can pass plain objects). */
export interface CommandShape {
  name(): string;
  aliases(): string[];
  readonly parent: CommandShape | null;
  readonly commands: readonly CommandShape[];
  readonly options: readonly { long?: string | undefined; short?: string | undefined; hidden?: boolean }[];
}

/** A commander parse failure (CommanderError's fields). */
export interface ParseFailure {
  readonly code: string;
  readonly message: string;
}

/**
 * Words users of brew, mise, apt and npm type that are not aliases but clearly mean a dz command. Aliases
 * (`ls`, `rm`, `uninstall`, `upgrade`, `outdated`) are real commands; these only drive the suggestion.
 */
const SYNONYMS: Readonly<Record<string, string>> = {
  delete: "remove",
  erase: "remove",
  show: "info",
  find: "search",
  versions: "tags",
  clean: "gc",
  cleanup: "gc",
  prune: "gc",
  check: "verify",
  add: "install",
  get: "install",
};

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest candidate to `word`: `candidates` maps each spelling (name or alias) to what to suggest. A
 * candidate qualifies within distance 1 for short words, 2 for longer ones, or as a prefix of 3+ characters.
 */
export function closest(word: string, candidates: ReadonlyMap<string, string>): string | undefined {
  const w = word.toLowerCase();
  let best: { target: string; distance: number } | undefined;
  for (const [spelling, target] of candidates) {
    if (w.length >= 3 && spelling.startsWith(w) && spelling !== w) {
      const distance = 0.5;
      if (!best || distance < best.distance) best = { target, distance };
      continue;
    }
    const distance = editDistance(w, spelling);
    const limit = w.length <= 4 ? 1 : 2;
    if (distance <= limit && (!best || distance < best.distance)) best = { target, distance };
  }
  return best?.target;
}

function commandPath(cmd: CommandShape): string {
  const parts: string[] = [];
  for (let c: CommandShape | null = cmd; c; c = c.parent) parts.unshift(c.name());
  return parts.join(" ");
}

function commandCandidates(cmd: CommandShape): Map<string, string> {
  const out = new Map<string, string>();
  const visible = cmd.commands.filter((c) => !c.name().startsWith("__"));
  for (const c of visible) {
    for (const spelling of [c.name(), ...c.aliases()]) out.set(spelling, c.name());
  }
  if (cmd.parent === null) {
    for (const [word, target] of Object.entries(SYNONYMS)) {
      if (!out.has(word) && visible.some((c) => c.name() === target)) out.set(word, target);
    }
  }
  return out;
}

function optionCandidates(cmd: CommandShape): Map<string, string> {
  const out = new Map<string, string>();
  for (let c: CommandShape | null = cmd; c; c = c.parent) {
    for (const o of c.options) if (o.long && !o.hidden) out.set(o.long, o.long);
  }
  out.set("--help", "--help");
  return out;
}

/** The quoted word commander names first in its message (`unknown option '--nope'` → `--nope`). */
function quoted(message: string): string | undefined {
  return /'([^']*)'/.exec(message)?.[1];
}

/** commander's message without its `error: ` prefix and its own "(Did you mean …?)". */
function plain(message: string): string {
  const text = message.replace(/^error:\s*/, "").replace(/\s*\(Did you mean [^)]*\)\s*$/, "").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The DropzoneError (code USAGE, exit 2) for a commander parse failure in `cmd`, or undefined when the
 * "failure" is help or the version being shown (exit 0).
 */
export function usageError(cmd: CommandShape, failure: ParseFailure): DropzoneError | undefined {
  const path = commandPath(cmd);
  const help = `Run "${path} --help" for usage`;
  switch (failure.code) {
    case "commander.helpDisplayed":
    case "commander.version":
      return undefined;
    case "commander.help":
      // `dz` or `dz add` with no command: commander has printed the help on stderr already.
      return new DropzoneError("USAGE", `Missing command for "${path}"`, { hint: help });
    case "commander.unknownCommand": {
      const word = quoted(failure.message) ?? "";
      const suggestion = closest(word, commandCandidates(cmd));
      return new DropzoneError("USAGE", `Unknown command "${path} ${word}"`, {
        hint: suggestion
          ? `Did you mean "${path} ${suggestion}"? ${help}`
          : `Run "${path} --help" for the list of commands`,
      });
    }
    case "commander.unknownOption": {
      const flag = quoted(failure.message) ?? "";
      const suggestion = flag.startsWith("--") ? closest(flag, optionCandidates(cmd)) : undefined;
      return new DropzoneError("USAGE", `Unknown option "${flag}" for "${path}"`, {
        hint: suggestion ? `Did you mean ${suggestion}? ${help}` : help,
      });
    }
    case "commander.excessArguments": {
      // A command with subcommands given an unknown word reads as an unknown subcommand to the user.
      if (cmd.commands.length > 0) {
        const word = /got \d+: ([^,]+?)\.?$/.exec(failure.message)?.[1] ?? "";
        const suggestion = closest(word, commandCandidates(cmd));
        return new DropzoneError("USAGE", `Unknown command "${path} ${word}"`, {
          hint: suggestion
            ? `Did you mean "${path} ${suggestion}"? ${help}`
            : `Run "${path} --help" for the list of commands`,
        });
      }
      return new DropzoneError("USAGE", plain(failure.message), { hint: help });
    }
    case "commander.invalidArgument": {
      // "option '--template <name>' argument 'x' is invalid. Allowed choices are a, b."
      // "command-argument value 'x' is invalid for argument 'shell'. Allowed choices are a, b."
      const choices = /Allowed choices are (.*?)\.?$/.exec(failure.message)?.[1];
      const option = /option '([^' ]+)/.exec(failure.message)?.[1];
      const argument = /for argument '([^']+)'/.exec(failure.message)?.[1];
      const value = option
        ? /argument '([^']*)' is invalid/.exec(failure.message)?.[1]
        : quoted(failure.message);
      if (choices && value !== undefined) {
        return new DropzoneError("USAGE", `Invalid value "${value}" for ${option ?? `<${argument}>`}`, {
          hint: `Use one of: ${choices}`,
        });
      }
      return new DropzoneError("USAGE", plain(failure.message), { hint: help });
    }
    default:
      return new DropzoneError("USAGE", plain(failure.message), { hint: help });
  }
}
