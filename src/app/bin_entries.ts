/** Writing a version's `bin/` entries (wrappers or artifact links): all of them, or only those that differ. */

/** One entry dz puts in `bin/` for a version. */
export interface BinEntry {
  /** Its path in `bin/`. */
  readonly path: string;
  /** Writes it (atomically, through shim/write.ts). */
  readonly write: () => Promise<void>;
  /** True when what is there now is exactly what `write` would put there. */
  readonly isCurrent: () => Promise<boolean>;
}

/**
 * Writes `entries` in order and returns the paths written. With `onlyChanged`, an entry that is already current
 * is left alone (restoring after a crash rewrites only what is missing or stale).
 */
export async function writeBinEntries(
  entries: readonly BinEntry[],
  options: { readonly onlyChanged?: boolean } = {},
): Promise<string[]> {
  const written: string[] = [];
  for (const entry of entries) {
    if (options.onlyChanged && (await entry.isCurrent())) continue;
    await entry.write();
    written.push(entry.path);
  }
  return written;
}
