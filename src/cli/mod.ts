/** runCli(argv, runtime) → exit code. The single place where errors become exit codes and stderr text. */
import { CommanderError } from "commander";
import { EXIT, exitCodeFor } from "../errors.ts";
import { EXIT_INTERRUPTED, reportInterrupted, settleInterruptCleanups } from "../interrupt.ts";
import type { Runtime } from "../runtime.ts";
import { type CliContext, createContext } from "./context.ts";
import { buildProgram, type Invoke } from "./program.ts";
import { formatError } from "./render.ts";
import { sanitizeTerminal } from "./sanitize.ts";

/** Runs dz with `argv` (without the program name) and returns the process exit code. */
export async function runCli(argv: readonly string[], runtime: Runtime): Promise<number> {
  let exitCode: number = EXIT.OK;
  let verbose = argv.includes("--verbose") || argv.includes("-v");
  let context: CliContext | undefined;
  const invoke: Invoke = async (fn, options = {}) => {
    const globals = program.opts();
    verbose = globals.verbose === true;
    context = createContext(runtime, { verbose, quiet: globals.quiet === true });
    // Every command but a few (completion, doctor, purge) initialises the home on first run.
    if (options.init !== false) await context.init();
    const code = await fn(context);
    if (typeof code === "number") exitCode = code;
  };
  const program = buildProgram(invoke, {
    // commander echoes arguments in its messages.
    out: (text) => runtime.stdout.write(sanitizeTerminal(text)),
    err: (text) => runtime.stderr.write(sanitizeTerminal(text)),
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError || (err instanceof Error && err.name === "CommanderError")) {
      // commander already printed the message (and help for usage errors).
      return (err as CommanderError).exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (runtime.signal?.aborted) {
      await settleInterruptCleanups();
      const reason = runtime.signal.reason;
      reportInterrupted(
        (t) => runtime.stderr.write(t),
        reason instanceof DOMException && reason.message === "Terminated" ? "terminated" : "interrupted",
      );
      return EXIT_INTERRUPTED;
    }
    runtime.stderr.write(formatError(err, { verbose: context?.options.verbose ?? verbose }));
    return exitCodeFor(err);
  }
}
