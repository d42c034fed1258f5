/**
 * The store-wide single-writer lock. Mutating commands (install, update, rollback, remove, prune, doctor --fix,
 * purge) hold it for their whole run; reading commands never take it.
 *
 * It is an flock(2) on `<home>/.lock` (`Deno.FsFile.lock`), so the kernel releases it when the process dies:
 * a SIGKILLed dz can never leave a stale lock behind, and there is no "remove the lock file" advice to give.
 * The lock file itself is never deleted (deleting an flock file races with a waiter that opened it).
 */
import { dirname } from "node:path";
import { DropzoneError } from "../errors.ts";
import { ioError } from "../fs.ts";

/** Options for {@linkcode acquireStoreLock}. */
export interface StoreLockOptions {
  /** How long to wait for another dz before failing with LOCKED. @default {60000} */
  timeoutMs?: number;
  /** Called once, when the lock is busy, with the holder's pid when known. */
  onWait?: (holderPid: number | undefined) => void;
  /** Aborts the wait (ABORTED). */
  signal?: AbortSignal;
  /** Polling interval while waiting. @default {50} */
  pollMs?: number;
  /** Pid written into the lock file for other waiters' messages. @default {Deno.pid} */
  pid?: number;
}

/** A held store lock. Release it explicitly or with `await using`. */
export interface StoreLock extends AsyncDisposable {
  readonly path: string;
  /** Releases the lock; calling it twice is harmless. */
  release(): Promise<void>;
}

/** Reads the holder pid from the lock file; undefined when empty, unreadable or not a pid. */
export async function readLockHolder(lockFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(lockFile);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) return undefined;
    throw ioError("read", lockFile, err);
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

function holderText(pid: number | undefined): string {
  return pid === undefined ? "another dz" : `another dz (pid ${pid})`;
}

/**
 * Takes the store lock, polling `tryLock` until it is free. Reports a busy lock once through `onWait`, and
 * fails with LOCKED after `timeoutMs`.
 */
export async function acquireStoreLock(lockFile: string, options: StoreLockOptions = {}): Promise<StoreLock> {
  const { timeoutMs = 60_000, onWait, signal, pollMs = 50, pid = Deno.pid } = options;
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(dirname(lockFile), { recursive: true });
    file = await Deno.open(lockFile, { read: true, write: true, create: true, mode: 0o644 });
  } catch (err) {
    throw ioError("open the store lock", lockFile, err);
  }
  const deadline = Date.now() + timeoutMs;
  let reported = false;
  try {
    while (!(await file.tryLock(true))) {
      const holder = await readLockHolder(lockFile);
      if (!reported) {
        reported = true;
        onWait?.(holder);
      }
      if (signal?.aborted) {
        throw new DropzoneError("ABORTED", `Stopped waiting for ${holderText(holder)} to release the store`);
      }
      if (Date.now() >= deadline) {
        throw new DropzoneError(
          "LOCKED",
          `Cannot lock the dz store "${dirname(lockFile)}": ${holderText(holder)} is still working on it`,
          { hint: "Wait for the other dz command to finish, then run this command again" },
        );
      }
      await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())), signal);
    }
    const bytes = new TextEncoder().encode(`${pid}\n`);
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    let rest = bytes;
    while (rest.length > 0) rest = rest.subarray(await file.write(rest));
  } catch (err) {
    file.close();
    throw ioError("lock", lockFile, err);
  }
  let released = false;
  async function release(): Promise<void> {
    if (released) return;
    released = true;
    try {
      await file.truncate(0);
      await file.unlock();
    } finally {
      file.close();
    }
  }
  return { path: lockFile, release, [Symbol.asyncDispose]: release };
}
