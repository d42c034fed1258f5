/** Spawning helpers shared by the lock and crash tests. */

/** A spawned Deno child whose stdout lines can be awaited. */
export interface Child extends AsyncDisposable {
  readonly pid: number;
  /** Resolves with the first stdout line that starts with `prefix`. */
  waitForLine(prefix: string): Promise<string>;
  kill(signal?: Deno.Signal): void;
  status: Promise<Deno.CommandStatus>;
}

/** Runs `deno run -A <script> ...args` with piped stdout. */
export function spawnDeno(script: URL, args: string[], env: Record<string, string> = {}): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", script.pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
    env,
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  async function waitForLine(prefix: string): Promise<string> {
    while (true) {
      const nl = buffer.indexOf("\n");
      if (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith(prefix)) return line;
        continue;
      }
      const { done, value } = await lines.read();
      if (done) throw new Error(`child exited before printing "${prefix}"`);
      buffer += value;
    }
  }
  return {
    pid: child.pid,
    waitForLine,
    kill(signal: Deno.Signal = "SIGKILL") {
      if (!exited) child.kill(signal);
    },
    status,
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGKILL");
      await status;
      await lines.cancel().catch(() => undefined);
    },
  };
}
