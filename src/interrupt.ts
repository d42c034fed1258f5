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
/** Counts registrations, so settling can tell whether new work appeared while it waited. */
let registrations = 0;
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
  registrations++;
  // Work still in flight when the interrupt's cleanup ran (a download opening its temp file a moment later)
  // registers too late for that run: undo it at once.
  if (finishing !== undefined) void runInterruptCleanups();
  const release = () => void cleanups.delete(id);
  return { release, [Symbol.dispose]: release };
}

/** Runs every registered cleanup once, newest first, until none is left. */
async function drain(): Promise<void> {
  while (cleanups.size > 0) {
    const pending = [...cleanups.values()];
    cleanups.clear();
    // Newest first: a temp file inside a staging dir goes before the dir, a package dir after its staging.
    for (const fn of pending.reverse()) await fn().catch(() => {});
  }
}

/**
 * Runs every registered cleanup once. A later call waits for the running one and then undoes whatever was
 * registered since, so a second signal can never skip a cleanup.
 */
export function runInterruptCleanups(): Promise<void> {
  finishing = (finishing ?? Promise.resolve()).then(drain);
  return finishing;
}

/**
 * Runs the cleanups, then waits until no new work registered for `quietMs` (bounded by `maxMs`): an aborted
 * command can have file operations in flight whose temp files appear just after the first run. Call it right
 * before exiting on an interrupt.
 */
export async function settleInterruptCleanups(quietMs = 50, maxMs = 400): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (true) {
    const seen = registrations;
    await runInterruptCleanups();
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    if (registrations === seen && cleanups.size === 0) return;
  }
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
