/**
 * Named points inside the store's multi-step operations. Production code never installs a handler, so
 * `crashPoint()` is a resolved no-op; the crash-safety tests install one in a child process that hangs at a
 * chosen step so the parent can SIGKILL it there.
 */

/** Called with the step name at every crash point. */
export type CrashPointHandler = (step: string) => void | Promise<void>;

let handler: CrashPointHandler | undefined;

/** Installs (or clears, with undefined) the crash-point handler. Test-only. */
export function setCrashPointHandler(fn: CrashPointHandler | undefined): void {
  handler = fn;
}

/** Marks a step boundary. */
export async function crashPoint(step: string): Promise<void> {
  if (handler !== undefined) await handler(step);
}
