/**
 * Installed packages:
 *
 * ```
 * packages/<name>/sha256-<hex>/rootfs/         unpacked image (immutable once committed)
 * packages/<name>/sha256-<hex>/metadata.json   receipt, written last: without it the version is incomplete
 * packages/<name>/current -> sha256-<hex>      relative symlink, flipped by rename
 * packages/<name>/history.json                 digests activated, newest last (rollback stack)
 * packages/<name>/pruned.json                  receipts of pruned versions, for rollback (see pruned.ts)
 * packages/<name>/.staging-* .trash-* .tmp-*   in-flight work or crash leftovers (see recovery.ts)
 * ```
 *
 * Every mutation here is a single rename (or a sequence of renames each of which leaves a working state), so
 * a crash at any point leaves the previously current version usable. Mutations require the store lock.
 */
import { basename, dirname, join, resolve } from "../path.ts";
import { DropzoneError } from "../errors.ts";
import { type Digest, digestToDirName, isDigest, shortDigest } from "../oci/digest.ts";
import type { StoreLayout } from "./layout.ts";
import { crashPoint } from "../crash_points.ts";
import {
  exists,
  ioError,
  isNotASymlinkError,
  randomSuffix,
  readDirOrEmpty,
  readTextIfExists,
  removeTree,
  renameIntoPlace,
  replaceSymlinkAtomic,
  STAGING_PREFIX,
  syncTree,
  TRASH_PREFIX,
  trashAndRemove,
  writeJsonAtomic,
} from "../fs.ts";
import { type PackageMetadata, parseMetadata, writeMetadata } from "./metadata.ts";
import { recordPruned } from "./pruned.ts";
import {
  chooseRollback,
  historyDocument,
  keptDigests,
  nextHistory,
  orderVersions,
  parseHistory,
  previousDigests,
} from "./versions.ts";

export { exists }; // defined in src/fs.ts; re-exported for existing callers
/** Name of the current-version symlink. */
export const CURRENT_LINK = "current";
/** Name of the activation history file. */
export const HISTORY_FILE = "history.json";
/** Name of the receipt inside a version directory. */
export const METADATA_FILE = "metadata.json";
/** Name of the unpacked root file system inside a version directory. */
export const ROOTFS_DIR = "rootfs";

const MAX_NAME_LENGTH = 128;

/** One committed version of a package. */
export interface InstalledVersion {
  name: string;
  digest: Digest;
  /** `packages/<name>/sha256-<hex>` */
  dir: string;
  rootfs: string;
  metadata: PackageMetadata;
}

/** A version directory as found on disk, complete or not. */
export interface VersionEntry {
  digest: Digest;
  dir: string;
  /** metadata.json is present and valid. */
  complete: boolean;
  metadata?: PackageMetadata;
  /** Why the version is not complete. */
  problem?: string;
  current: boolean;
}

/** Throws INVALID_NAME unless `name` is safe as a directory name on disk: wider than the one naming rule
 * (oci/reference.ts `validatePackageName`, applied to every new name) so that older installs stay readable. */
export function validatePackageName(name: string): void {
  if (
    name.length === 0 || name.length > MAX_NAME_LENGTH || name.startsWith(".") || name.includes("/") ||
    name.includes("\\") || name.includes("\0") || name === CURRENT_LINK
  ) {
    throw new DropzoneError("INVALID_NAME", `Invalid package name "${name}"`, {
      hint: "Use letters, digits, '.', '_' and '-', not starting with '.'",
    });
  }
}

/** `packages/<name>` */
export function packageDir(layout: StoreLayout, name: string): string {
  validatePackageName(name);
  return join(layout.packages, name);
}

/** `packages/<name>/sha256-<hex>` */
export function versionDir(layout: StoreLayout, name: string, digest: Digest): string {
  return join(packageDir(layout, name), digestToDirName(digest));
}

function dirNameToDigest(dirName: string): Digest | undefined {
  if (!dirName.startsWith("sha256-")) return undefined;
  const digest = `sha256:${dirName.slice("sha256-".length)}`;
  return isDigest(digest) ? digest : undefined;
}

/** Reads the `current` link target as a digest; undefined when missing or not a digest dir name. */
export async function readCurrentDigest(layout: StoreLayout, name: string): Promise<Digest | undefined> {
  const link = join(packageDir(layout, name), CURRENT_LINK);
  let target: string;
  try {
    target = await Deno.readLink(link);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    if (isNotASymlinkError(err)) return undefined;
    throw ioError("read", link, err);
  }
  return dirNameToDigest(basename(target));
}

/** Loads a version dir; undefined when metadata.json is missing, throws on corrupt metadata. */
async function loadVersion(
  layout: StoreLayout,
  name: string,
  digest: Digest,
): Promise<InstalledVersion | undefined> {
  const dir = versionDir(layout, name, digest);
  const metaPath = join(dir, METADATA_FILE);
  const text = await readTextIfExists(metaPath, "read package metadata");
  if (text === undefined) return undefined;
  const metadata = parseMetadata(text, metaPath);
  if (metadata.digest !== digest || metadata.name !== name) {
    throw new DropzoneError(
      "IO",
      `Cannot read package metadata "${metaPath}": it describes another version`,
      {
        hint: 'Run "dz doctor" to find and repair damaged packages',
      },
    );
  }
  return { name, digest, dir, rootfs: join(dir, ROOTFS_DIR), metadata };
}

/**
 * The current version of `name`, or undefined when it is not installed (no package dir or no `current`).
 * Throws IO when `current` points at a missing or incomplete version (hint: dz doctor).
 */
export async function readCurrent(layout: StoreLayout, name: string): Promise<InstalledVersion | undefined> {
  const digest = await readCurrentDigest(layout, name);
  if (digest === undefined) return undefined;
  const version = await loadVersion(layout, name, digest);
  if (version === undefined) {
    throw new DropzoneError(
      "IO",
      `Package "${name}" is damaged: its current version ${shortDigest(digest)} is missing`,
      {
        hint: 'Run "dz doctor --fix" to re-point it at the newest complete version',
      },
    );
  }
  return version;
}

/** undefined for a package whose current version cannot be read (I/O failure, bad name); other errors propagate. */
function skipUnreadable(err: unknown): undefined {
  if (err instanceof DropzoneError && (err.code === "IO" || err.code === "INVALID_NAME")) return undefined;
  throw err;
}

/**
 * All packages with a readable current version, sorted by name. Packages without `current` or with a broken
 * or corrupt one are left out; `scanStore()` reports them. Reads one symlink and one small file per package.
 */
export async function listPackages(layout: StoreLayout): Promise<InstalledVersion[]> {
  const names = (await readDirOrEmpty(layout.packages))
    .filter((entry) => entry.isDirectory && !entry.name.startsWith("."))
    .map((entry) => entry.name);
  const results = await Promise.all(names.map((name) => readCurrent(layout, name).catch(skipUnreadable)));
  return results.filter((v): v is InstalledVersion => v !== undefined).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
}

/** Every version directory of `name` (complete or not), newest activation first, then by install time. */
export async function listVersions(layout: StoreLayout, name: string): Promise<VersionEntry[]> {
  const dir = packageDir(layout, name);
  const digests: Digest[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const digest = entry.isDirectory ? dirNameToDigest(entry.name) : undefined;
      if (digest !== undefined) digests.push(digest);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw ioError("read", dir, err);
  }
  const current = await readCurrentDigest(layout, name);
  const history = await readHistory(layout, name);
  const entries = await Promise.all(digests.map(async (digest): Promise<VersionEntry> => {
    const vdir = versionDir(layout, name, digest);
    try {
      const version = await loadVersion(layout, name, digest);
      if (version === undefined) {
        return {
          digest,
          dir: vdir,
          complete: false,
          problem: "metadata.json is missing",
          current: digest === current,
        };
      }
      return { digest, dir: vdir, complete: true, metadata: version.metadata, current: digest === current };
    } catch (err) {
      if (!(err instanceof DropzoneError)) throw err;
      return { digest, dir: vdir, complete: false, problem: err.message, current: digest === current };
    }
  }));
  return orderVersions(entries, history);
}

/** True when the version `digest` of `name` is committed and complete (reinstalling it is a no-op). */
export async function isInstalled(layout: StoreLayout, name: string, digest: Digest): Promise<boolean> {
  try {
    return (await loadVersion(layout, name, digest)) !== undefined;
  } catch (err) {
    if (err instanceof DropzoneError && err.code === "IO") return false;
    throw err;
  }
}

/** The activation history, oldest first. A missing or unreadable history is empty (it is only a hint). */
export async function readHistory(layout: StoreLayout, name: string): Promise<Digest[]> {
  const path = join(packageDir(layout, name), HISTORY_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw ioError("read", path, err);
  }
  return parseHistory(text, path);
}

async function writeHistory(layout: StoreLayout, name: string, history: Digest[]): Promise<void> {
  const path = join(packageDir(layout, name), HISTORY_FILE);
  await writeJsonAtomic(path, historyDocument(history));
}

/** Result of {@linkcode commitVersion}. */
export interface CommitResult {
  version: InstalledVersion;
  /** True when the digest was already installed and complete: the staging dir was discarded, nothing changed. */
  reused: boolean;
}

/** Creates a staging dir for `name` on the store's filesystem: `packages/<name>/.staging-*`. */
export async function makePackageStaging(layout: StoreLayout, name: string): Promise<string> {
  const dir = packageDir(layout, name);
  await Deno.mkdir(dir, { recursive: true }).catch((err) => {
    throw ioError("create", dir, err);
  });
  return await Deno.makeTempDir({ dir, prefix: STAGING_PREFIX }).catch((err) => {
    throw ioError("create a staging directory in", dir, err);
  });
}

/** Options for {@linkcode commitVersion}. */
export interface CommitOptions {
  /**
   * fsync the staged rootfs before writing the receipt, so a power loss (not just a crash) can never leave a
   * "complete" version with lost file data. Costs one fsync per file.
   * @default {false}
   */
  syncRootfs?: boolean;
  /**
   * Replace an existing complete version of the same digest whose files are damaged (a deleted rootfs): it is
   * renamed away and the staged one takes its place (`current` keeps naming the same directory).
   * @default {false}
   */
  replace?: boolean;
}

/**
 * Commits a staged version: writes metadata.json into `stagingDir` (which must hold `rootfs/` and sit
 * directly in `packages/<name>/`), then renames it to `sha256-<hex>`. An already complete version directory
 * for the digest is reused and never deleted; the staging dir is removed and `reused` is true. Does not
 * change `current` (see {@linkcode activate}).
 */
export async function commitVersion(
  layout: StoreLayout,
  name: string,
  stagingDir: string,
  metadata: PackageMetadata,
  options: CommitOptions = {},
): Promise<CommitResult> {
  const { syncRootfs = false, replace = false } = options;
  const pkgDir = packageDir(layout, name);
  if (metadata.name !== name) throw new TypeError(`metadata.name "${metadata.name}" is not "${name}"`);
  if (resolve(dirname(stagingDir)) !== resolve(pkgDir) || !basename(stagingDir).startsWith(STAGING_PREFIX)) {
    throw new TypeError(`Staging dir "${stagingDir}" is not a ${STAGING_PREFIX}* dir in "${pkgDir}"`);
  }
  const digest = metadata.digest;
  const target = versionDir(layout, name, digest);
  const existing = await isInstalled(layout, name, digest);
  if (existing && replace) {
    await writeMetadata(join(stagingDir, METADATA_FILE), metadata);
    const trash = join(pkgDir, `${TRASH_PREFIX}${digestToDirName(digest)}-${randomSuffix()}`);
    await renameIntoPlace(target, trash);
    await renameIntoPlace(stagingDir, target);
    await removeTree(trash);
    return {
      version: { name, digest, dir: target, rootfs: join(target, ROOTFS_DIR), metadata },
      reused: false,
    };
  }
  if (existing) {
    await removeTree(stagingDir);
    return { version: (await loadVersion(layout, name, digest))!, reused: true };
  }
  if (await exists(target)) {
    // Incomplete leftover (no valid receipt). Never the live version unless `current` is already broken.
    if ((await readCurrentDigest(layout, name)) === digest) {
      throw new DropzoneError("IO", `Package "${name}" is damaged: its current version is incomplete`, {
        hint: 'Run "dz doctor --fix" first',
      });
    }
    await trashAndRemove(target);
  }
  if (!(await exists(join(stagingDir, ROOTFS_DIR)))) {
    throw new TypeError(`Staging dir "${stagingDir}" has no ${ROOTFS_DIR}/`);
  }
  if (syncRootfs) await syncTree(join(stagingDir, ROOTFS_DIR));
  await crashPoint("commit:before-metadata");
  await writeMetadata(join(stagingDir, METADATA_FILE), metadata);
  await crashPoint("commit:before-rename");
  await renameIntoPlace(stagingDir, target);
  await crashPoint("commit:after-rename");
  return {
    version: { name, digest, dir: target, rootfs: join(target, ROOTFS_DIR), metadata },
    reused: false,
  };
}

/** Options for {@linkcode activate}. */
export interface ActivateOptions {
  /**
   * Rollback semantics: pop the history back to the last activation of `digest` instead of pushing it.
   * @default {false}
   */
  rollback?: boolean;
}

/**
 * Makes `digest` the current version: flips `current` atomically, then records it in history.json. A no-op
 * flip when it is already current. Throws NOT_INSTALLED when the version is not complete.
 */
export async function activate(
  layout: StoreLayout,
  name: string,
  digest: Digest,
  options: ActivateOptions = {},
): Promise<void> {
  const { rollback = false } = options;
  if (!(await isInstalled(layout, name, digest))) {
    throw new DropzoneError(
      "NOT_INSTALLED",
      `Cannot activate "${name}" ${shortDigest(digest)}: it is not installed`,
    );
  }
  const pkgDir = packageDir(layout, name);
  if ((await readCurrentDigest(layout, name)) !== digest) {
    await replaceSymlinkAtomic(join(pkgDir, CURRENT_LINK), digestToDirName(digest));
  }
  await crashPoint("activate:after-flip");
  const history = await readHistory(layout, name);
  const next = nextHistory(history, digest, rollback);
  if (next !== history) await writeHistory(layout, name, [...next]);
}

/** Options for {@linkcode rollbackTarget}. */
export interface RollbackOptions {
  /** A number = that many steps back (default 1); a string = a digest or a unique hex prefix of one. */
  to?: number | string;
}

/** Where a rollback would go. Pass `digest` to `activate(…, { rollback: true })`. */
export interface RollbackTarget {
  digest: Digest;
  version: InstalledVersion;
  /** Steps back in the history stack (0 when chosen by digest and not in the history). */
  steps: number;
}

/**
 * Complete previous versions, most recent first (see versions.ts `previousDigests`). `dz rollback --to N` picks
 * the N-th.
 */
export async function previousVersions(
  layout: StoreLayout,
  name: string,
  current: Digest,
): Promise<InstalledVersion[]> {
  const history = await readHistory(layout, name);
  const versions = await listVersions(layout, name);
  const byDigest = new Map(versions.map((v) => [v.digest, v]));
  return previousDigests(history, current, versions).map((d) => {
    const v = byDigest.get(d)!;
    return { name, digest: d, dir: v.dir, rootfs: join(v.dir, ROOTFS_DIR), metadata: v.metadata! };
  });
}

/**
 * Chooses the rollback target with history-stack semantics: the previous distinct digest still present,
 * `to: N` for N steps back, or `to: "<digest or unique prefix>"`. NOT_INSTALLED when there is nothing to
 * roll back to; INVALID_ARGUMENT for a bad or ambiguous `to`.
 */
export async function rollbackTarget(
  layout: StoreLayout,
  name: string,
  options: RollbackOptions = {},
): Promise<RollbackTarget> {
  const { to = 1 } = options;
  const current = await readCurrent(layout, name);
  if (current === undefined) {
    throw new DropzoneError("NOT_INSTALLED", `Cannot roll back "${name}": it is not installed`);
  }
  const previous = await previousVersions(layout, name, current.digest);
  const complete = (await listVersions(layout, name)).filter((v) => v.complete).map((v) => v.digest);
  const choice = chooseRollback({
    name,
    current: current.digest,
    previous: previous.map((v) => v.digest),
    complete,
    to,
  });
  const version = previous.find((v) => v.digest === choice.digest) ??
    (await loadVersion(layout, name, choice.digest))!;
  return { digest: choice.digest, version, steps: choice.steps };
}

/** Options for {@linkcode prune}. */
export interface PruneOptions {
  /** Previous versions to keep besides the current one, by history order. @default {2} */
  keep?: number;
}

/**
 * Removes old versions of `name`, keeping the current one and the `keep` most recent previous ones. Their
 * receipts go to pruned.json first; each removed dir is renamed to `.trash-*` before deletion. Returns the
 * removed digests.
 */
export async function prune(
  layout: StoreLayout,
  name: string,
  options: PruneOptions = {},
): Promise<Digest[]> {
  const { keep = 2 } = options;
  const current = await readCurrentDigest(layout, name);
  if (current === undefined) {
    throw new DropzoneError("NOT_INSTALLED", `Cannot prune "${name}": it is not installed`);
  }
  const previous = await previousVersions(layout, name, current);
  const kept = keptDigests(current, previous.map((v) => v.digest), keep);
  const doomed = (await listVersions(layout, name)).filter((v) => !kept.has(v.digest) && !v.current);
  // Receipts first, so `dz rollback --to <digest>` can still reinstall a pruned version (see pruned.ts).
  await recordPruned(layout, name, doomed.flatMap((v) => v.metadata ? [v.metadata] : []));
  const removed: Digest[] = [];
  for (const entry of doomed) {
    await trashAndRemove(entry.dir, "prune:after-trash");
    removed.push(entry.digest);
  }
  if (removed.length > 0) {
    await crashPoint("prune:before-history");
    const history = await readHistory(layout, name);
    await writeHistory(layout, name, history.filter((d) => !removed.includes(d)));
  }
  return removed;
}

/**
 * Removes a package with all its versions: `packages/<name>` is renamed to `packages/.trash-<name>-*` first
 * (so it disappears atomically), then deleted. NOT_INSTALLED when absent.
 */
export async function removePackage(layout: StoreLayout, name: string): Promise<void> {
  const dir = packageDir(layout, name);
  if (!(await exists(dir))) {
    throw new DropzoneError("NOT_INSTALLED", `Cannot remove "${name}": it is not installed`);
  }
  await trashAndRemove(dir, "remove:after-trash");
}
