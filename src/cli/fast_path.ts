/**
 * Start-up fast path: `dz --version`, `dz __complete packages` (run on every TAB) and plain `dz list [--json]`
 * (called by scripts) are answered by the same command functions, without loading the command tree (commander
 * and every command module). Any other argv returns undefined and goes through the full CLI.
 */
import type { Runtime } from "../runtime.ts";
import { VERSION } from "../version.ts";

/** Handles `argv` when it is one of the fast commands; undefined otherwise. */
export async function fastPath(argv: readonly string[], runtime: Runtime): Promise<number | undefined> {
  const command = argv.join(" ");
  if (command === "--version" || command === "-V") {
    runtime.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command !== "__complete packages" && command !== "list" && command !== "list --json") return undefined;
  // Loaded only here, so `--version` loads nothing else.
  const { createContext } = await import("./context.ts");
  const ctx = createContext(runtime, { verbose: false, quiet: false });
  if (command === "__complete packages") {
    const { completeNames } = await import("./commands/completion.ts");
    await completeNames(ctx, "packages");
    return 0;
  }
  try {
    await ctx.init();
    const { list } = await import("./commands/list.ts");
    await list(ctx, { json: command === "list --json" });
    return 0;
  } catch (err) {
    const [{ exitCodeFor }, { formatError }] = await Promise.all([
      import("../errors.ts"),
      import("./render.ts"),
    ]);
    runtime.stderr.write(formatError(err, { verbose: false }));
    return exitCodeFor(err);
  }
}
