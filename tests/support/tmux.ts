/**
 * Drives an interactive shell in a private tmux server (its own socket, killed on dispose): type keys, wait
 * until the screen shows something, read the screen. For completion tests in real bash and zsh sessions.
 */

/** A shell running in a detached tmux session. */
export interface TmuxShell extends AsyncDisposable {
  /** Sends keys (tmux key names such as "Tab", "Enter", "C-u", or literal text with `literal`). */
  send(keys: string, options?: { literal?: boolean }): Promise<void>;
  /** The visible screen, trailing blank lines removed. */
  screen(): Promise<string>;
  /** Polls the screen until `pattern` matches; throws with the last screen after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

async function tmux(socket: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: ["-L", socket, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** Starts `command` (e.g. "zsh -f") in a `columns` × `rows` session with exactly `env`. */
export async function startTmuxShell(
  command: string[],
  options: { env: Record<string, string>; columns?: number; rows?: number },
): Promise<TmuxShell> {
  const socket = `dz-test-${crypto.randomUUID().slice(0, 8)}`;
  const envArgs = Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
  await tmux(socket, [
    "-f",
    "/dev/null",
    "new-session",
    "-d",
    "-x",
    String(options.columns ?? 160),
    "-y",
    String(options.rows ?? 40),
    "env",
    "-i",
    ...envArgs,
    ...command,
  ]);
  const shell: TmuxShell = {
    async send(keys, opts = {}) {
      await tmux(socket, ["send-keys", ...(opts.literal ? ["-l"] : []), keys]);
    },
    async screen() {
      return (await tmux(socket, ["capture-pane", "-p"])).replace(/\s+$/, "");
    },
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        last = await shell.screen();
        if (pattern.test(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${pattern}; screen:\n${last}`);
    },
    async [Symbol.asyncDispose]() {
      await tmux(socket, ["kill-server"]).catch(() => "");
    },
  };
  return shell;
}
