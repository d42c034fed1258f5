/**
 * The I/O seam. Everything below src/cli receives what it needs from a Runtime instead of reaching for
 * Deno.env, Deno.build or the console, so tests can run the whole CLI in-process with fakes.
 */
import {
  EXIT_INTERRUPTED,
  INTERRUPT_GRACE_MS,
  reportInterrupted,
  settleInterruptCleanups,
  signalOwner,
} from "./interrupt.ts";

/** Host platform in OCI terms. */
export interface Host {
  readonly os: "linux" | "darwin" | string;
  readonly arch: "amd64" | "arm64" | string;
  readonly variant?: string;
}

/** A writable text sink (stdout or stderr). */
export interface Sink {
  write(text: string): void;
  readonly isTerminal: boolean;
  /** The terminal's width in columns when this sink is a terminal and the size is known. */
  columns?(): number | undefined;
}

/** Everything the CLI needs from the outside world. */
export interface Runtime {
  fetch: typeof fetch;
  now(): Date;
  env(name: string): string | undefined;
  /** The user's home directory (for ~/.dropzone, shell rc files, ~/.docker). */
  homeDir: string;
  host: Host;
  stdout: Sink;
  stderr: Sink;
  /** Reads all of stdin (for --password-stdin). */
  readStdin(): Promise<string>;
  /** Asks a question on a TTY; returns null when stdin is not interactive. */
  prompt(question: string, options?: { secret?: boolean }): Promise<string | null>;
  stdinIsTerminal: boolean;
  /** Aborted on Ctrl-C so long operations can clean up before exiting. */
  signal?: AbortSignal;
}

/** Maps Deno.build to OCI platform names. */
export function ociHost(os: string, arch: string): Host {
  const ociArch = arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
  return { os, arch: ociArch };
}

function textSink(file: { writeSync(p: Uint8Array): number; isTerminal(): boolean }): Sink {
  const encoder = new TextEncoder();
  return {
    write(text: string) {
      let bytes = encoder.encode(text);
      while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
    },
    isTerminal: file.isTerminal(),
    columns() {
      if (!file.isTerminal()) return undefined;
      try {
        // The size of the controlling terminal; 0 when a pseudo-terminal was never given one.
        const { columns } = Deno.consoleSize();
        return columns > 0 ? columns : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

async function readLine(): Promise<string | null> {
  const buf = new Uint8Array(1);
  const out: number[] = [];
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) return out.length ? new TextDecoder().decode(new Uint8Array(out)) : null;
    if (buf[0] === 10 || buf[0] === 13) break;
    out.push(buf[0]!);
  }
  return new TextDecoder().decode(new Uint8Array(out)).replace(/\r$/, "");
}

/** The real runtime. Built once, in main.ts. */
export function denoRuntime(): Runtime {
  const stderr = textSink(Deno.stderr);
  const interrupt = new AbortController();
  // First signal: abort, so the running command stops and cleans up its staging; if it has not finished within
  // the grace period, or on a second signal, run the cleanups here and exit. Both paths print one line.
  const finish = async (name: string) => {
    await settleInterruptCleanups();
    reportInterrupted((t) => stderr.write(t), name === "SIGTERM" ? "terminated" : "interrupted");
    Deno.exit(EXIT_INTERRUPTED);
  };
  const onSignal = (name: "SIGINT" | "SIGTERM") => {
    const owner = signalOwner();
    if (owner.kind === "child") {
      // The terminal's SIGINT already reached the child (same process group); forward what was sent to dz only.
      if (name === "SIGTERM") owner.forward(name);
      return;
    }
    if (interrupt.signal.aborted) {
      void finish(name);
      return;
    }
    interrupt.abort(new DOMException(name === "SIGTERM" ? "Terminated" : "Interrupted", "AbortError"));
    setTimeout(() => void finish(name), INTERRUPT_GRACE_MS);
  };
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(name, () => onSignal(name));
    } catch {
      // Signals are not available on every platform; the default behaviour then applies.
    }
  }
  return {
    signal: interrupt.signal,
    fetch: globalThis.fetch.bind(globalThis),
    now: () => new Date(),
    env: (name) => Deno.env.get(name),
    homeDir: Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? "/",
    host: ociHost(Deno.build.os, Deno.build.arch),
    stdout: textSink(Deno.stdout),
    stderr,
    stdinIsTerminal: Deno.stdin.isTerminal(),
    async readStdin() {
      return await new Response(Deno.stdin.readable).text();
    },
    async prompt(question, options = {}) {
      if (!Deno.stdin.isTerminal()) return null;
      stderr.write(question);
      if (options.secret) Deno.stdin.setRaw(true);
      try {
        const line = await readLine();
        return line;
      } finally {
        if (options.secret) {
          Deno.stdin.setRaw(false);
          stderr.write("\n");
        }
      }
    },
  };
}
