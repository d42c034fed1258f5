/** `dz purge`: deletes the dz home, guarded so it can never remove $HOME, / or a directory that is not a dz home. */
import { join, resolve } from "node:path";
import { DropzoneError } from "../errors.ts";
import { exists, readDirOrEmpty, removeEmptyDir, removeTree } from "../fs.ts";
import { type EnvLookup, pathStatus, pathUnset } from "../host/path.ts";
import type { Shell } from "../host/rc.ts";
import { isDzWrapper } from "../shim/wrapper.ts";
import { readFileHead } from "../shim/write.ts";
import { HOME_MARKER } from "../store/layout.ts";
import { listPackages } from "../store/packages.ts";
import type { StoreAccess } from "./store_access.ts";

/** The shells whose rc files dz manages a PATH block in. */
const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

/** The entries of a dz home that dz creates; `bin/` is handled file by file (it may hold the user's own files). */
const DZ_ENTRIES = ["packages", "cache", "config", "auth.json", ".lock"];

/** Where purge looks for the user's home and rc files. */
export interface PurgeHost {
  /** The user's home directory: purge never deletes it or a directory containing it. */
  readonly userHome: string;
  readonly env: EnvLookup;
  readonly os: string;
}

/** Options of {@linkcode purgeHome}. */
export interface PurgeOptions {
  /** Only describe: change nothing. */
  readonly dryRun?: boolean;
  /** Asked before anything is deleted, outside the lock; throws to abort. */
  readonly confirm?: () => Promise<void>;
}

/** What `purgeHome` did. */
export type PurgeOutcome =
  /** There was no home to purge. */
  | { readonly kind: "absent"; readonly home: string }
  | {
    readonly kind: "dry-run";
    readonly home: string;
    /** The installed packages, sorted. */
    readonly packages: readonly string[];
    /** The rc files holding a dz PATH block. */
    readonly pathBlocks: readonly string[];
  }
  | {
    readonly kind: "purged";
    readonly home: string;
    /** What dz did not create and so kept, relative to the home; empty when the home itself is gone. */
    readonly kept: readonly string[];
    /** The rc files the dz PATH block was taken out of. */
    readonly pathBlocksRemoved: readonly string[];
    /** The shells whose rc file could not be cleaned, with why. */
    readonly rcFailures: readonly { readonly shell: Shell; readonly message: string }[];
  };

/** Refuses paths purge must never delete. Pure. */
export function purgeRefusal(home: string, userHome: string): string | undefined {
  const target = resolve(home);
  if (target === "/" || target === resolve(userHome)) return `refusing to delete ${target}`;
  if (resolve(userHome).startsWith(target + "/")) {
    return `refusing to delete ${target}: it contains your home directory`;
  }
  return undefined;
}

/**
 * Deletes what dz created in the home, under the store lock so no other dz is writing into it: its directories
 * and files, the dz wrappers in bin/, then the marker and the home itself when nothing else is left. Throws
 * NOT_A_DZ_HOME for a refused path or a directory without the home marker. Afterwards the dz PATH block leaves
 * every shell's rc file: it would point at a directory that no longer exists.
 */
export async function purgeHome(
  store: StoreAccess,
  host: PurgeHost,
  options: PurgeOptions,
): Promise<PurgeOutcome> {
  const { home, marker } = store.layout;
  const refusal = purgeRefusal(home, host.userHome);
  if (refusal) {
    throw new DropzoneError("NOT_A_DZ_HOME", `Cannot purge: ${refusal}`, { hint: "Check DROPZONE_HOME" });
  }
  if (!(await exists(home))) return { kind: "absent", home };
  if (!(await exists(marker).catch(() => false))) {
    throw new DropzoneError("NOT_A_DZ_HOME", `Cannot purge ${home}: it has no ${marker} marker`, {
      hint: "dz only deletes directories it created; remove it by hand if you are sure",
    });
  }
  const pathOptions = (shell: Shell) => ({
    binDir: store.layout.bin,
    env: host.env,
    homeDir: host.userHome,
    os: host.os,
    shell,
  });
  if (options.dryRun) {
    const packages = (await listPackages(store.layout).catch(() => [])).map((v) => v.metadata.name);
    const pathBlocks: string[] = [];
    for (const shell of SHELLS) {
      const status = await pathStatus(pathOptions(shell)).catch(() => undefined);
      if (status?.blockPresent && status.rcFile !== null) pathBlocks.push(status.rcFile);
    }
    return { kind: "dry-run", home, packages: packages.sort((a, b) => a.localeCompare(b)), pathBlocks };
  }
  await options.confirm?.();
  const kept = await removeDzEntries(store);
  const pathBlocksRemoved: string[] = [];
  const rcFailures: { shell: Shell; message: string }[] = [];
  for (const shell of SHELLS) {
    try {
      const change = await pathUnset(pathOptions(shell));
      if (change.changed) pathBlocksRemoved.push(change.rcFile);
    } catch (err) {
      rcFailures.push({ shell, message: (err as Error).message });
    }
  }
  return { kind: "purged", home, kept, pathBlocksRemoved, rcFailures };
}

/** Deletes dz's entries of the home holding the store lock; returns the kept paths, relative to the home. */
async function removeDzEntries(store: StoreAccess): Promise<string[]> {
  const { home, bin, marker } = store.layout;
  // The lock file goes too (with DZ_ENTRIES): the lock is on the open file, so it is held until the end.
  await using _lock = await store.lock();
  for (const name of DZ_ENTRIES) await removeTree(join(home, name));
  const kept: string[] = [];
  for (const entry of await readDirOrEmpty(bin)) {
    const head = await readFileHead(join(bin, entry.name));
    const ours = head !== null &&
      (isDzWrapper(head) || (entry.name.startsWith(".") && entry.name.endsWith(".tmp")));
    if (ours) await removeTree(join(bin, entry.name));
    else kept.push(`bin/${entry.name}`);
  }
  if (kept.length === 0) await removeTree(bin);
  for (const entry of await readDirOrEmpty(home)) {
    if (entry.name !== HOME_MARKER && entry.name !== "bin") kept.push(entry.name);
  }
  if (kept.length > 0) return kept.sort();
  await removeTree(marker);
  await removeEmptyDir(home);
  return [];
}
