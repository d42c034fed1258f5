/**
 * Turns of the event loop for long synchronous batches (linking or stat-ing tens of thousands of files): the
 * batch runs sync calls, which are several times cheaper than async ops for metadata syscalls, and yields once
 * it has held the thread for a time slice, so signals, worker messages and downloads still make progress. The
 * slice is time, not a count of calls: on a slow disk (NFS) one call may take tens of milliseconds, and Ctrl-C
 * must still stop dz at once.
 */

/** How long a batch may hold the thread between two turns. */
export const SLICE_MS = 8;

/** A source of event-loop turns; dispose it when the batch is done. */
export interface EventLoopTurns extends Disposable {
  /** True once the batch has held the thread for {@linkcode SLICE_MS} since the last turn (cheap: call it often). */
  due(): boolean;
  /** Resolves after one macrotask turn (pending I/O callbacks, timers that are due, messages). */
  next(): Promise<void>;
}

/**
 * A message to itself over a MessageChannel is a macrotask without the 1 ms minimum of `setTimeout(0)` (which
 * would add a second to 1,000 yields). Dispose closes the channel so it never keeps the process alive.
 */
export function eventLoopTurns(options: { now?: () => number } = {}): EventLoopTurns {
  const now = options.now ?? (() => performance.now());
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  let since = now();
  channel.port1.onmessage = () => {
    since = now();
    waiting.shift()?.();
  };
  return {
    due: () => now() - since >= SLICE_MS,
    next: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(0);
      }),
    [Symbol.dispose]() {
      channel.port1.close();
      channel.port2.close();
      for (const wake of waiting.splice(0)) wake();
    },
  };
}
