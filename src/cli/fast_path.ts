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
  if (command === "__complete packages") {
    for (const name of await completablePackages(runtime)) runtime.stdout.write(`${name}\n`);
    return 0;
  }
  // Loaded only here, so `--version` and completion load nothing else.
  const { createContext } = await import("./context.ts");
  const ctx = createContext(runtime, { verbose: false, quiet: false });
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

const DIGEST_DIR = /^sha256-[0-9a-f]{64}$/;

/**
 * Names for `dz __complete packages`, read with plain Deno calls and no store modules (this runs on every TAB):
 * packages whose `current` leads to a version with a metadata.json naming this package and digest, sorted.
 * Unlike `dz list` it does not validate the whole receipt; completion never prints errors.
 */
async function completablePackages(runtime: Runtime): Promise<string[]> {
  const home = runtime.env("DROPZONE_HOME") || `${runtime.homeDir.replace(/\/+$/, "")}/.dropzone`;
  const packages = `${home}/packages`;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(packages)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch {
    return [];
  }
  const ok = await Promise.all(names.map(async (name) => {
    try {
      const target = (await Deno.readLink(`${packages}/${name}/current`)).split("/").pop() ?? "";
      if (!DIGEST_DIR.test(target)) return false;
      const meta = JSON.parse(await Deno.readTextFile(`${packages}/${name}/${target}/metadata.json`));
      return meta?.name === name && meta?.digest === target.replace("-", ":");
    } catch {
      return false;
    }
  }));
  return names.filter((_, i) => ok[i]).sort((a, b) => a.localeCompare(b));
}
