/** A StoreAccess for use-case tests: the real store lock (short timeout), counting how often it was taken. */
import type { StoreAccess } from "../../src/app/store_access.ts";
import { acquireStoreLock } from "../../src/store/lock.ts";
import type { StoreLayout } from "../../src/store/layout.ts";

/** A StoreAccess whose `locks` counts the lock acquisitions that succeeded. */
export interface CountingStoreAccess extends StoreAccess {
  readonly locks: number;
}

/** The real flock on `layout.lockFile`, failing with LOCKED after `timeoutMs` (a held lock conflicts in-process). */
export function countingStore(
  layout: StoreLayout,
  options: { timeoutMs?: number } = {},
): CountingStoreAccess {
  let locks = 0;
  return {
    layout,
    get locks() {
      return locks;
    },
    async lock() {
      const lock = await acquireStoreLock(layout.lockFile, { timeoutMs: options.timeoutMs ?? 2_000 });
      locks++;
      return lock;
    },
  };
}

/** The text of a dz wrapper for `bin` of package `pkg` (marker and metadata line, as renderWrapper writes). */
export function wrapperText(bin: string, pkg: string): string {
  return `#!/bin/sh\n# dz-wrapper v1\n# name=${JSON.stringify(bin)} package=${
    JSON.stringify(pkg)
  } digest="sha256:0"\n` +
    `exit 0\n`;
}
