/**
 * Per-invocation context: the runtime, the dz home, logging to stderr, lazily loaded config and the first-run
 * initialisation of the home. Commands get everything from here; nothing below src/cli reads the environment.
 */
import { DropzoneError } from "../errors.ts";
import type { Runtime, Sink } from "../runtime.ts";
import { writeFileAtomic } from "../store/atomic.ts";
import type { LoadedConfig } from "../store/config.ts";
import { SEED_TEXT } from "../store/config_seed.ts";
import { resolveHome, type StoreLayout, storeLayout } from "../store/layout.ts";
import { fold } from "./render.ts";
import { readSettings, type Settings } from "./settings.ts";

/** Leveled logging to stderr. stdout is for data only. */
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
  /** Writes data to stdout. */
  out(text: string): void;
  /** stdout's width when it is a terminal (tables fit it); undefined when piped (full width). */
  terminalWidth(): number | undefined;
  /** stderr's width when it is a terminal (progress lines fit it); undefined otherwise. */
  stderrWidth(): number | undefined;
  /** Loads config.yaml, initialising the dz home on first run. */
  config(): Promise<LoadedConfig>;
  /**
   * First-run initialisation without parsing the config: creates the home, seeds config.yaml when it is missing
   * and prints the PATH hint once.
   */
  init(): Promise<void>;
  /** Creates the home directories (idempotent); returns true on first run. */
  ensureHome(): Promise<boolean>;
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
  // On a terminal, messages are folded to its width so that the terminal never wraps them mid-word.
  const fit = (m: string) => {
    const width = settings.dumbTerminal ? undefined : sinkWidth(runtime.stderr, settings);
    return width === undefined ? m : fold(m, width);
  };
  const log: Logger = {
    info: (m) => {
      if (!options.quiet) runtime.stderr.write(fit(m) + "\n");
    },
    warn: (m) => runtime.stderr.write(fit(`warning: ${m}`) + "\n"),
    debug: (m) => {
      if (options.verbose) runtime.stderr.write(`debug: ${m}\n`);
    },
  };
  let loaded: Promise<LoadedConfig> | undefined;
  let ensured: Promise<boolean> | undefined;

  async function doEnsureHome(): Promise<boolean> {
    let first = false;
    try {
      await Deno.stat(layout.marker);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      first = true;
    }
    for (const dir of [layout.home, layout.bin, layout.packages, layout.cache, layout.configDir]) {
      await Deno.mkdir(dir, { recursive: true });
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
    out: (text) => runtime.stdout.write(text),
    terminalWidth: () => sinkWidth(runtime.stdout, settings),
    stderrWidth: () => sinkWidth(runtime.stderr, settings),
    ensureHome() {
      ensured ??= doEnsureHome().catch((err) => {
        if (err instanceof Deno.errors.PermissionDenied) {
          throw new DropzoneError("PERMISSION", `Cannot create the dz home ${home}: permission denied`, {
            hint: "Set DROPZONE_HOME to a directory you can write",
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
        await Deno.lstat(layout.configFile);
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
        // The YAML parser is loaded only by commands that read the config.
        const { loadConfig } = await import("../store/config.ts");
        return await loadConfig(layout.configFile);
      })();
      return loaded;
    },
  };
  return ctx;
}
