/**
 * Runs dz in-process with a fake runtime that captures stdout and stderr, or as a child process exactly as a
 * user would (same permission flags as the compiled binary).
 */
import { runCli } from "../../src/cli/mod.ts";
import { ociHost, type Runtime } from "../../src/runtime.ts";
import { RUN_FLAGS } from "../../scripts/compile.ts";

/** What a dz run produced. */
export interface DzResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode runDz}. */
export interface RunDzOptions {
  /** DROPZONE_HOME */
  home: string;
  /** Extra environment; HOME defaults to `home`/../userhome-like dir given here. */
  env?: Record<string, string>;
  /** User home directory (for rc files, ~/.docker). @default {home + "-user"} */
  userHome?: string;
  stdin?: string;
  /** Answers for prompts; null = not a terminal. */
  answers?: string[] | null;
  fetch?: typeof fetch;
}

/** Runs dz in-process. */
export async function runDz(argv: string[], options: RunDzOptions): Promise<DzResult> {
  let stdout = "";
  let stderr = "";
  const env: Record<string, string> = { DROPZONE_HOME: options.home, ...options.env };
  const answers = options.answers === undefined ? null : options.answers;
  const runtime: Runtime = {
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    now: () => new Date(),
    env: (name) => env[name],
    homeDir: options.userHome ?? options.home + "-user",
    host: ociHost(Deno.build.os, Deno.build.arch),
    stdout: { write: (t) => void (stdout += t), isTerminal: false },
    stderr: { write: (t) => void (stderr += t), isTerminal: false },
    stdinIsTerminal: answers !== null,
    readStdin: () => Promise.resolve(options.stdin ?? ""),
    prompt: (q) => {
      stderr += q;
      if (answers === null) return Promise.resolve(null);
      return Promise.resolve(answers.shift() ?? "");
    },
  };
  const code = await runCli(argv, runtime);
  return { code, stdout, stderr };
}

/** The runtime flags the compiled binary gets: permissions and V8 flags (defined once, in scripts/compile.ts). */
export const DZ_RUN_FLAGS: readonly string[] = RUN_FLAGS;

/** Runs `deno run <permissions> main.ts …` as a child process. */
export async function spawnDz(
  argv: string[],
  options: { home: string; env?: Record<string, string>; stdin?: string },
): Promise<DzResult> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...DZ_RUN_FLAGS, new URL("../../main.ts", import.meta.url).pathname, ...argv],
    env: { DROPZONE_HOME: options.home, NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
