/**
 * Runs the real dz (`deno run <permissions> main.ts …`) under a pseudo-terminal with util-linux `script`, at a
 * given terminal size, and returns everything that was drawn on it (stdout and stderr interleaved, raw bytes
 * as text, with the pty's \r\n line endings).
 */
import { DZ_RUN_FLAGS } from "./cli_harness.ts";

/** Options for {@linkcode runInPty}. */
export interface PtyOptions {
  readonly home: string;
  readonly columns?: number;
  readonly rows?: number;
  readonly env?: Record<string, string>;
  /** Run this shell command line instead of dz (for completion tests); DZ is set to the dz command line. */
  readonly shell?: string;
}

/** What ran under the pty. */
export interface PtyResult {
  readonly code: number;
  /** What the terminal received. */
  readonly output: string;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shell command line that runs dz from this checkout. */
export function dzCommandLine(): string {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  return [Deno.execPath(), "run", "-q", ...DZ_RUN_FLAGS, main].map(shQuote).join(" ");
}

/** Runs `dz argv…` under a pty of `columns` × `rows` (default 100 × 24). */
export async function runInPty(argv: readonly string[], options: PtyOptions): Promise<PtyResult> {
  const { columns = 100, rows = 24 } = options;
  const command = options.shell ?? `exec ${dzCommandLine()} ${argv.map(shQuote).join(" ")}`;
  const out = await new Deno.Command("script", {
    // -e: exit with the child's code; -q: no "Script started" banner; the log goes nowhere.
    args: ["-q", "-e", "-c", `stty cols ${columns} rows ${rows}; ${command}`, "/dev/null"],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: `${options.home}-user`,
      DROPZONE_HOME: options.home,
      TERM: "xterm-256color",
      // HOME moves to the test's user home; Deno must still find its module cache.
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      DZ: dzCommandLine(),
      ...options.env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    output: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}
