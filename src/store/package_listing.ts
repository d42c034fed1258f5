/**
 * The read-only package scan behind `dz list`: the states of package_state.ts `listPackageStates` and the
 * pinned set of pins.ts `pinnedNames`, read with a few synchronous calls per healthy package.
 *
 * Why it exists: `dz list` is called by scripts and must start fast. The full scan issues ~10 asynchronous file
 * operations per package (each a round trip through Deno's blocking thread pool) and throws a NotFound error
 * for every missing pin.json; with 100 packages that alone cost more than all of dz's module loading. Here one
 * `readDir` of the package directory tells which of `current`, `history.json`, `pin.json` and the current
 * version's directory exist, so a healthy package costs one readDir, one readLink, one or two small reads and
 * two lstats, and no exception.
 *
 * Why it is exact: the quick check only ever concludes "ok" (or "not pinned") where the full scan would, and on
 * any doubt (a missing or dangling `current`, unreadable or invalid metadata, a newer history schema, a
 * missing rootfs or entrypoint, an odd file type, any I/O error) the whole listing is done by the full scan,
 * so a damaged package gets exactly the reason text the full scan gives. tests/store/package_listing_test.ts
 * compares both on damaged stores.
 *
 * Why no store lock: every state change in the store is atomic (a version is staged and renamed into place,
 * `current` is replaced by a symlink rename, metadata.json, history.json and pin.json are written to a temp file
 * and renamed over), so a reader sees each file either before or after a change, never half-written. A listing
 * that races a concurrent install may show the old or the new version of that package, as the full scan may.
 */
import { basename, join } from "../path.ts";
import { isDigest } from "../oci/digest.ts";
import type { StoreLayout } from "./layout.ts";
import { type PackageMetadata, parseMetadata } from "./metadata.ts";
import type { PackageState } from "./package_state.ts";
import { CURRENT_LINK, HISTORY_FILE, METADATA_FILE, ROOTFS_DIR, validatePackageName } from "./packages.ts";
import { PIN_FILE } from "./pins.ts";
import { parseHistory } from "./versions.ts";

/** Every package's state (sorted by name, as `listPackageStates`) and the names of the pinned ones. */
export interface PackageListing {
  readonly states: PackageState[];
  readonly pinned: Set<string>;
}

/** Thrown inside the quick scan when only the full scan can tell; never escapes this module. */
class Doubt extends Error {}

/** The listing of every package; identical to `listPackageStates` + `pinnedNames`, faster when all is well. */
export async function readPackageListing(layout: StoreLayout): Promise<PackageListing> {
  try {
    return quickListing(layout);
  } catch (err) {
    if (!(err instanceof Doubt)) throw err;
  }
  const [{ listPackageStates }, { pinnedNames }] = await Promise.all([
    import("./package_state.ts"),
    import("./pins.ts"),
  ]);
  const states = await listPackageStates(layout);
  return { states, pinned: await pinnedNames(layout, states.map((s) => s.name)) };
}

function quickListing(layout: StoreLayout): PackageListing {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(layout.packages)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { states: [], pinned: new Set() };
    throw new Doubt();
  }
  const states: PackageState[] = [];
  const pinned = new Set<string>();
  for (const name of names.sort()) {
    const { state, isPinned } = quickPackage(layout, name);
    states.push(state);
    if (isPinned) pinned.add(name);
  }
  return { states, pinned };
}

/**
 * An "ok" state for a plainly healthy package; throws Doubt otherwise. Paths are joined by hand where every
 * segment is a checked single name (`layout.packages` is already normalised), which is what node:path `join`
 * returns for them, without its per-call normalisation.
 */
function quickPackage(layout: StoreLayout, name: string): { state: PackageState; isPinned: boolean } {
  try {
    validatePackageName(name);
    const dir = `${layout.packages}/${name}`;
    const entries = new Map<string, Deno.DirEntry>();
    for (const entry of Deno.readDirSync(dir)) entries.set(entry.name, entry);
    if (entries.get(CURRENT_LINK)?.isSymlink !== true) throw new Doubt();
    const target = basename(Deno.readLinkSync(`${dir}/${CURRENT_LINK}`));
    const digest = `sha256:${target.slice("sha256-".length)}`;
    if (!target.startsWith("sha256-") || !isDigest(digest)) throw new Doubt();
    if (entries.get(target)?.isDirectory !== true) throw new Doubt();
    // The full scan reads the history of every package; only a newer schema (an error) changes its verdict.
    const history = entries.get(HISTORY_FILE);
    if (history !== undefined) {
      if (!history.isFile) throw new Doubt();
      const path = `${dir}/${HISTORY_FILE}`;
      parseHistory(Deno.readTextFileSync(path), path);
    }
    const versionDir = `${dir}/${target}`;
    const metaPath = `${versionDir}/${METADATA_FILE}`;
    const metadata: PackageMetadata = parseMetadata(Deno.readTextFileSync(metaPath), metaPath);
    if (metadata.digest !== digest || metadata.name !== name) throw new Doubt();
    const rootfs = `${versionDir}/${ROOTFS_DIR}`;
    const entry = metadata.bins[0]?.path ?? metadata.entrypoint.resolved;
    // The entrypoint's lstat succeeds only through an existing rootfs, so one call answers both checks.
    Deno.lstatSync(entry ? join(rootfs, entry) : rootfs);
    // readPin reads any pin.json there is (an unparseable one still pins); reading it keeps its I/O errors.
    const pin = entries.get(PIN_FILE);
    if (pin !== undefined) {
      if (!pin.isFile) throw new Doubt();
      Deno.readTextFileSync(`${dir}/${PIN_FILE}`);
    }
    return {
      state: { name, state: "ok", version: { name, digest, dir: versionDir, rootfs, metadata } },
      isPinned: pin !== undefined,
    };
  } catch {
    // Any error at all: the full scan decides (and reports) what it means.
    throw new Doubt();
  }
}
