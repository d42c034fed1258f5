/**
 * Turns of the event loop for long synchronous batches (linking or stat-ing tens of thousands of files): the
 * batch runs sync calls, which are several times cheaper than async ops for metadata syscalls, and yields now
 * and then so signals, worker messages and downloads still make progress.
 */

/** A source of event-loop turns; dispose it when the batch is done. */
export interface EventLoopTurns extends Disposable {
  /** Resolves after one macrotask turn (pending I/O callbacks, timers that are due, messages). */
  next(): Promise<void>;
}

/**
 * A message to itself over a MessageChannel is a macrotask without the 1 ms minimum of `setTimeout(0)` (which
 * would add a second to 1,000 yields). Dispose closes the channel so it never keeps the process alive.
 */
export function eventLoopTurns(): EventLoopTurns {
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return {
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

/** Ops per turn in the sync batches (a power of two; about a millisecond of link or lstat calls). */
export const OPS_PER_TURN = 256;
