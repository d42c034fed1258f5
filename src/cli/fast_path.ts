/**
 * Start-up fast path: `dz --version`, `dz __complete packages` (run on every TAB) and plain `dz list [--json]`
 * (called by scripts) are answered by the same functions the command tree calls, without loading the command
 * tree (commander and every command module). Any other argv returns undefined and goes through the full CLI.
 */
import type { Runtime } from "../runtime.ts";
import { completablePackageNames, packagesDirOf } from "../store/package_names.ts";
import { VERSION } from "../version.ts";
import { sanitizeTerminal } from "./sanitize.ts";

const LIST_ARGV: ReadonlyMap<string, { json: boolean }> = new Map([
  ["list", { json: false }],
  ["ls", { json: false }],
  ["list --json", { json: true }],
  ["ls --json", { json: true }],
]);

/** Handles `argv` when it is one of the fast commands; undefined otherwise. */
export async function fastPath(argv: readonly string[], runtime: Runtime): Promise<number | undefined> {
  const command = argv.join(" ");
  if (command === "--version" || command === "-V") {
    runtime.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === "__complete packages") {
    // Completion never initialises the home or prints errors (see commands/completion.ts).
    const names = completablePackageNames(packagesDirOf(runtime.env, runtime.homeDir));
    for (const name of names) runtime.stdout.write(sanitizeTerminal(`${name}\n`));
    return 0;
  }
  const list = LIST_ARGV.get(command);
  if (list === undefined) return undefined;
  // Loaded only here, so `--version` and completion load nothing else.
  const [{ createContext }, commands] = await Promise.all([
    import("./context.ts"),
    import("./commands/list.ts"),
  ]);
  const ctx = createContext(runtime, { verbose: false, quiet: false });
  try {
    await ctx.init();
    await commands.list(ctx, list);
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
