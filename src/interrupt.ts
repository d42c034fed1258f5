/**
 * What dz undoes when it is interrupted (SIGINT, SIGTERM): in-flight staging directories and temp files register
 * a cleanup while they exist, so an interrupted command removes them whether it stops cooperatively (the abort
 * signal) or is cut short by the grace deadline or a second signal. The cleanup runs once; every later caller
 * waits for that same run, so a second signal can never skip it.
 */

/** How long a command may take to stop after the first signal before dz cleans up and exits anyway. */
export const INTERRUPT_GRACE_MS = 500;

/** The exit code of an interrupted command. */
export const EXIT_INTERRUPTED = 130;

const cleanups = new Map<number, () => Promise<void>>();
let nextId = 0;
let finishing: Promise<void> | undefined;
let reported = false;

/** A registered cleanup; release it once the work was committed or removed normally. */
export interface CleanupRegistration extends Disposable {
  release(): void;
}

/** Registers `fn` to run if dz is interrupted before `release()`. `fn` must be idempotent and never throw. */
export function onInterrupt(fn: () => Promise<void>): CleanupRegistration {
  const id = nextId++;
  cleanups.set(id, fn);
  const release = () => void cleanups.delete(id);
  return { release, [Symbol.dispose]: release };
}

/** Runs every registered cleanup once (concurrent callers share the run). */
export function runInterruptCleanups(): Promise<void> {
  finishing ??= (async () => {
    const pending = [...cleanups.values()];
    cleanups.clear();
    // Newest first: a temp file inside a staging dir goes before the dir, a package dir after its staging.
    for (const fn of pending.reverse()) await fn().catch(() => {});
  })();
  return finishing;
}

/** Writes the one line an interrupted command prints, once per process. */
export function reportInterrupted(write: (text: string) => void, signal = "interrupted"): void {
  if (reported) return;
  reported = true;
  write(`error: ${signal}; stopped and removed partial work\n`);
}

/** Who handles a signal right now: dz itself, or a child it runs in the foreground (`dz run`). */
type SignalOwner = { kind: "dz" } | { kind: "child"; forward: (signal: Deno.Signal) => void };

let owner: SignalOwner = { kind: "dz" };

/**
 * While `dz run` executes the program, signals are the program's: SIGINT from the terminal already reaches it
 * (same process group), SIGTERM sent to dz is forwarded to it, and dz waits for its exit code.
 */
export function handOverSignals(forward: (signal: Deno.Signal) => void): Disposable {
  owner = { kind: "child", forward };
  return { [Symbol.dispose]: () => void (owner = { kind: "dz" }) };
}

/** The current signal owner (for the runtime's signal listener). */
export function signalOwner(): SignalOwner {
  return owner;
}
