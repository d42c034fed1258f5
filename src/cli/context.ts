/**
 * Per-invocation context: the runtime, the dz home, logging to stderr, lazily loaded config and the first-run
 * initialisation of the home. Commands get everything from here; nothing below src/cli reads the environment.
 */
import { resolve } from "../path.ts";
import { DropzoneError, ioFailureHint } from "../errors.ts";
import type { Runtime, Sink } from "../runtime.ts";
import { writeFileAtomic } from "../fs.ts";
import type { LoadedConfig } from "../store/config.ts";
import type { ReadConfig } from "../store/config_values.ts";
import { SEED_TEXT } from "../store/config_seed.ts";
import { resolveHome, type StoreLayout, storeLayout } from "../store/layout.ts";
import { fold } from "./render.ts";
import { readSettings, type Settings } from "./settings.ts";
import { sanitizeTerminal } from "./sanitize.ts";

/** Leveled logging to stderr (terminal-sanitised, see sanitize.ts). stdout is for data only. */
export interface Logger {
  /** Progress and results that are not data (hidden by --quiet). */
  info(message: string): void;
  /** Warnings (always shown). */
  warn(message: string): void;
  /** Details for --verbose. */
  debug(message: string): void;
}

/** Global options. */
export interface GlobalOptions {
  verbose: boolean;
  quiet: boolean;
}

/** What a command needs. */
export interface CliContext {
  readonly runtime: Runtime;
  readonly layout: StoreLayout;
  readonly options: GlobalOptions;
  /** DZ_* and terminal settings from the environment, parsed once. */
  readonly settings: Settings;
  readonly log: Logger;
  /** Writes data to stdout, terminal-sanitised (JSON from render.ts `json()` passes through unchanged). */
  out(text: string): void;
  /** stdout's width when it is a terminal (tables fit it); undefined when piped (full width). */
  terminalWidth(): number | undefined;
  /** stderr's width when it is a terminal (progress lines fit it); undefined otherwise. */
  stderrWidth(): number | undefined;
  /** Reads config.yaml (see config_values.ts `readConfig`), initialising the dz home on first run. */
  config(): Promise<ReadConfig>;
  /** Loads config.yaml as a document to edit (comments kept), initialising the dz home on first run. */
  editableConfig(): Promise<LoadedConfig>;
  /**
   * First-run initialisation without parsing the config: creates the home, seeds config.yaml when it is missing
   * and prints the PATH hint once.
   */
  init(): Promise<void>;
  /** Creates the home directories (idempotent); returns true on first run. */
  ensureHome(): Promise<boolean>;
  /**
   * The directory relative paths on the command line are meant against: `INIT_CWD` when set (`deno task dz …`
   * runs in the checkout, and sets it to where the user typed the command), else the process's working directory.
   */
  cwd(): string;
  /** A path the user typed, made absolute against {@linkcode CliContext.cwd}. */
  userPath(path: string): string;
}

/** The names in `dir` (empty when it does not exist). */
async function existingEntries(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    if (err instanceof Deno.errors.NotADirectory) {
      throw new DropzoneError("NOT_A_DZ_HOME", `Cannot use ${dir} as the dz home: it is a file`, {
        hint: "Set DROPZONE_HOME to a new or empty directory",
      });
    }
    throw err;
  }
}

/**
 * Throws NOT_A_DZ_HOME when `layout.home` holds files but no home marker: dz neither writes into nor (with
 * `purge`) deletes a directory it did not create. An absent or empty directory is fine.
 */
export async function refuseForeignHome(layout: StoreLayout): Promise<void> {
  if (await Deno.lstat(layout.marker).then(() => true, () => false)) return;
  const foreign = await existingEntries(layout.home);
  if (foreign.length === 0) return;
  const shown = foreign.slice(0, 3).join(", ") + (foreign.length > 3 ? ", …" : "");
  throw new DropzoneError(
    "NOT_A_DZ_HOME",
    `Cannot use ${layout.home} as the dz home: it is not empty and was not created by dz (${shown})`,
    { hint: "Set DROPZONE_HOME to a new or empty directory (dz creates it), or move those files elsewhere" },
  );
}

/** A terminal sink's width: its size, else $COLUMNS, else 80; undefined when the sink is not a terminal. */
export function sinkWidth(sink: Sink, settings: Pick<Settings, "columns">): number | undefined {
  if (!sink.isTerminal) return undefined;
  const size = sink.columns?.();
  if (size !== undefined && size > 0) return size;
  return settings.columns ?? 80;
}

/** Builds the context for one invocation. */
export function createContext(runtime: Runtime, options: GlobalOptions): CliContext {
  const home = resolveHome(runtime.env, runtime.homeDir);
  const layout = storeLayout(home);
  const settings = readSettings(runtime.env);
  // The output sinks: every human-readable line dz prints passes here (see sanitize.ts for why).
  const err = (text: string) => runtime.stderr.write(sanitizeTerminal(text));
  // On a terminal, messages are folded to its width so that the terminal never wraps them mid-word
  // (sanitised first, so the folding measures what is printed).
  const fit = (m: string) => {
    const width = settings.dumbTerminal ? undefined : sinkWidth(runtime.stderr, settings);
    return width === undefined ? m : fold(sanitizeTerminal(m), width);
  };
  const log: Logger = {
    info: (m) => {
      if (!options.quiet) err(fit(m) + "\n");
    },
    warn: (m) => err(fit(`warning: ${m}`) + "\n"),
    debug: (m) => {
      if (options.verbose) err(`debug: ${m}\n`);
    },
  };
  let loaded: Promise<ReadConfig> | undefined;
  let ensured: Promise<boolean> | undefined;

  /**
   * dz takes a directory as its home only when it creates it or finds it empty (then it writes the marker); a
   * non-empty directory without the marker is refused, so `dz purge` can never delete what dz did not create.
   */
  async function doEnsureHome(): Promise<boolean> {
    // Synchronous calls: this runs before every command (`dz list` included, which scripts call often), and
    // a few sync syscalls cost less than as many round trips through Deno's blocking thread pool.
    let first = false;
    try {
      Deno.statSync(layout.marker);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      first = true;
    }
    if (first) await refuseForeignHome(layout);
    for (const dir of [layout.home, layout.bin, layout.packages, layout.cache, layout.configDir]) {
      Deno.mkdirSync(dir, { recursive: true });
    }
    if (first) {
      await Deno.writeTextFile(layout.marker, "This directory is a dz home. `dz purge` removes it.\n");
    }
    return first;
  }

  const ctx: CliContext = {
    runtime,
    layout,
    options,
    settings,
    log,
    out: (text) => runtime.stdout.write(sanitizeTerminal(text)),
    terminalWidth: () => sinkWidth(runtime.stdout, settings),
    stderrWidth: () => sinkWidth(runtime.stderr, settings),
    cwd: () => runtime.env("INIT_CWD") || Deno.cwd(),
    userPath: (path) => resolve(ctx.cwd(), path),
    ensureHome() {
      ensured ??= doEnsureHome().catch((err) => {
        if (err instanceof Deno.errors.PermissionDenied) {
          throw new DropzoneError("PERMISSION", `Cannot create the dz home ${home}: permission denied`, {
            hint: "Set DROPZONE_HOME to a directory you can write",
            cause: err,
          });
        }
        const hint = ioFailureHint(err);
        if (hint !== undefined) {
          throw new DropzoneError("IO", `Cannot set up the dz home ${home}: ${(err as Error).message}`, {
            hint,
            cause: err,
          });
        }
        throw err;
      });
      return ensured;
    },
    async init() {
      const first = await ctx.ensureHome();
      try {
        Deno.lstatSync(layout.configFile);
        return;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      await writeFileAtomic(layout.configFile, SEED_TEXT, { mode: 0o644 });
      if (first) {
        log.info(
          `dz: initialised ${home} with the default registry "chainguard" (docker.io/chainguard).\n` +
            `dz: to run installed tools, put ${layout.bin} on your PATH: run "dz path setup", or add\n` +
            `      export PATH="${layout.bin}:$PATH"`,
        );
      }
    },
    config() {
      loaded ??= (async () => {
        await ctx.init();
        const { readConfig } = await import("../store/config_values.ts");
        return await readConfig(layout.configFile, { copyFile: layout.parsedConfig });
      })();
      return loaded;
    },
    async editableConfig() {
      await ctx.init();
      // The YAML document API is loaded only by commands that change the config.
      const { loadConfig } = await import("../store/config.ts");
      return await loadConfig(layout.configFile);
    },
  };
  return ctx;
}
