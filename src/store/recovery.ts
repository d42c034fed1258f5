/**
 * Store consistency checks for `dz doctor` and the safe repairs behind `dz doctor --fix`. Every store
 * mutation leaves either the old or the new state plus dot-prefixed leftovers, so repair is mostly deleting
 * leftovers and re-pointing a `current` that no longer leads to a complete version.
 *
 * `scanStore` only reads. `repairStore` must run under the store lock: without it, another dz's in-flight
 * staging dir would look like a leftover.
 */
import { isAbsolute, join, relative } from "node:path";
import { isDropzoneError } from "../errors.ts";
import { type Digest, digestToDirName, isDigest } from "../oci/digest.ts";
import type { StoreLayout } from "./layout.ts";
import {
  isLeftoverName,
  isNotASymlinkError,
  removeTree,
  replaceSymlinkAtomic,
  TEMP_PREFIX,
  trashAndRemove,
} from "../fs.ts";
import { openBlobCache } from "./blob_cache.ts";
import { openLayerStore } from "./layer_store.ts";
import {
  CURRENT_LINK,
  listVersions,
  packageDir,
  readCurrentDigest,
  readHistory,
  validatePackageName,
} from "./packages.ts";

/** Something `scanStore` found. */
export type StoreFinding =
  /**
   * A `.staging-*`, `.trash-*` or `.tmp-*` entry left by an interrupted dz (under packages/, the blob cache or the
   * layer snapshot store), or a layer snapshot without a valid layer.json.
   */
  | { readonly kind: "leftover"; readonly path: string }
  /** A package directory whose `current` symlink is missing. */
  | { readonly kind: "no-current"; readonly name: string }
  /** `current` points at a missing or incomplete version (or is not a symlink to a digest dir). */
  | { readonly kind: "broken-current"; readonly name: string; readonly target: string }
  /** A version directory without metadata.json (half-written). */
  | {
    readonly kind: "incomplete-version";
    readonly name: string;
    readonly digest: Digest;
    readonly path: string;
  }
  /** A version directory whose metadata.json does not parse or validate. */
  | {
    readonly kind: "corrupt-metadata";
    readonly name: string;
    readonly digest: Digest;
    readonly path: string;
    readonly message: string;
  }
  /** A cached blob no installed version references. */
  | { readonly kind: "unreferenced-blob"; readonly digest: Digest; readonly size: number };

/** One change made by {@linkcode repairStore}. */
export type StoreRepair =
  | { readonly kind: "removed-leftover"; readonly path: string }
  | {
    readonly kind: "repointed-current";
    readonly name: string;
    readonly digest: Digest;
    /** What `current` named before (a digest dir name, or null when it was missing). */
    readonly from: string | null;
    /** The chosen version's tag and install time, so the report can say which version it is. */
    readonly tag: string | null;
    readonly installedAt: string;
    /** True when `current` named another version: the package now runs an earlier installed version. */
    readonly older: boolean;
  }
  | { readonly kind: "removed-incomplete-version"; readonly name: string; readonly digest: Digest }
  | { readonly kind: "removed-empty-package"; readonly name: string }
  | { readonly kind: "removed-blob"; readonly digest: Digest; readonly size: number };

/** True when `path` is strictly below `parent` (lexically). */
function isInside(parent: string, path: string): boolean {
  const rel = relative(parent, path);
  return rel.length > 0 && !rel.startsWith("..") && !isAbsolute(rel);
}

async function readDirSafe(path: string): Promise<Deno.DirEntry[]> {
  try {
    return await Array.fromAsync(Deno.readDir(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return [];
    throw err;
  }
}

function isValidName(name: string): boolean {
  try {
    validatePackageName(name);
    return true;
  } catch (err) {
    if (isDropzoneError(err, "INVALID_NAME")) return false;
    throw err;
  }
}

/** Scans the store; never modifies it. Findings come in a stable order (by path and name). */
export async function scanStore(layout: StoreLayout): Promise<StoreFinding[]> {
  const findings: StoreFinding[] = [];
  const referenced = new Set<Digest>();
  const top = (await readDirSafe(layout.packages)).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of top) {
    const path = join(layout.packages, entry.name);
    if (isLeftoverName(entry.name)) {
      findings.push({ kind: "leftover", path });
      continue;
    }
    if (!entry.isDirectory || !isValidName(entry.name)) continue;
    const name = entry.name;
    const children = (await readDirSafe(path)).sort((a, b) => a.name.localeCompare(b.name));
    for (const child of children) {
      if (isLeftoverName(child.name)) findings.push({ kind: "leftover", path: join(path, child.name) });
    }
    const versions = await listVersions(layout, name);
    for (const v of versions) {
      if (v.complete) {
        const m = v.metadata!;
        for (const d of [m.digest, m.config_digest, ...m.layers]) referenced.add(d);
        if (m.index_digest !== null) referenced.add(m.index_digest);
      } else if (v.problem === "metadata.json is missing") {
        findings.push({ kind: "incomplete-version", name, digest: v.digest, path: v.dir });
      } else {
        findings.push({
          kind: "corrupt-metadata",
          name,
          digest: v.digest,
          path: join(v.dir, "metadata.json"),
          message: v.problem ?? "invalid",
        });
      }
    }
    const link = join(path, CURRENT_LINK);
    let target: string | undefined;
    try {
      target = await Deno.readLink(link);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) target = undefined;
      else if (isNotASymlinkError(err)) target = "(not a symlink)";
      else throw err;
    }
    if (target === undefined) {
      findings.push({ kind: "no-current", name });
      continue;
    }
    const currentDigest = await readCurrentDigest(layout, name);
    const currentVersion = versions.find((v) => v.digest === currentDigest);
    if (currentDigest === undefined || currentVersion === undefined || !currentVersion.complete) {
      findings.push({ kind: "broken-current", name, target });
    }
  }
  const blobs = openBlobCache(layout.blobs);
  for (const entry of (await readDirSafe(layout.blobs)).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(layout.blobs, entry.name);
    if (entry.name.startsWith(TEMP_PREFIX)) {
      findings.push({ kind: "leftover", path });
      continue;
    }
    const digest = `sha256:${entry.name}`;
    if (entry.isFile && isDigest(digest) && !referenced.has(digest)) {
      findings.push({ kind: "unreferenced-blob", digest, size: (await blobs.sizeOf(digest)) ?? 0 });
    }
  }
  const snapshots = openLayerStore(layout.layers);
  for (const entry of await snapshots.list()) {
    if (entry.leftover) findings.push({ kind: "leftover", path: entry.path });
    else if (entry.digest !== undefined && (await snapshots.load(entry.digest)) === undefined) {
      findings.push({ kind: "leftover", path: entry.path });
    }
  }
  return findings;
}

/** Options for {@linkcode repairStore}. */
export interface RepairOptions {
  /** Also delete unreferenced cached blobs (they are otherwise kept for offline reinstalls). @default {false} */
  removeUnreferencedBlobs?: boolean;
}

/**
 * Applies the safe fixes for `findings`: deletes leftovers, re-points a missing or broken `current` at the
 * newest complete version (by history, then install time), removes incomplete version dirs that are not
 * current, and removes package dirs that hold no complete version at all. Corrupt metadata is only reported.
 * Run it under the store lock. Returns what changed.
 */
export async function repairStore(
  layout: StoreLayout,
  findings: readonly StoreFinding[],
  options: RepairOptions = {},
): Promise<StoreRepair[]> {
  const { removeUnreferencedBlobs = false } = options;
  const changes: StoreRepair[] = [];
  for (const f of findings) {
    if (f.kind !== "leftover") continue;
    if (![layout.packages, layout.blobs, layout.layers].some((dir) => isInside(dir, f.path))) {
      throw new TypeError(`Refusing to remove "${f.path}": not inside the dz store`);
    }
    await removeTree(f.path);
    changes.push({ kind: "removed-leftover", path: f.path });
  }
  const repoint = new Set<string>();
  for (const f of findings) {
    if (f.kind === "no-current" || f.kind === "broken-current") repoint.add(f.name);
  }
  for (const name of repoint) {
    const versions = await listVersions(layout, name);
    const history = await readHistory(layout, name);
    const complete = versions.filter((v) => v.complete);
    const newest = complete.sort((a, b) => {
      const byHistory = history.lastIndexOf(b.digest) - history.lastIndexOf(a.digest);
      return byHistory !== 0 ? byHistory : b.metadata!.installed_at.localeCompare(a.metadata!.installed_at);
    })[0];
    if (newest === undefined) {
      if (versions.some((v) => v.problem !== undefined && v.problem !== "metadata.json is missing")) continue;
      await trashAndRemove(packageDir(layout, name));
      changes.push({ kind: "removed-empty-package", name });
      continue;
    }
    const link = join(packageDir(layout, name), CURRENT_LINK);
    const from = await Deno.readLink(link).catch(() => null);
    await replaceSymlinkAtomic(link, digestToDirName(newest.digest));
    changes.push({
      kind: "repointed-current",
      name,
      digest: newest.digest,
      from,
      tag: newest.metadata!.tag,
      installedAt: newest.metadata!.installed_at,
      older: from !== null && from !== digestToDirName(newest.digest),
    });
  }
  for (const f of findings) {
    if (f.kind !== "incomplete-version") continue;
    if ((await readCurrentDigest(layout, f.name)) === f.digest) continue;
    try {
      await Deno.lstat(f.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue; // went away with its package
      throw err;
    }
    await trashAndRemove(f.path);
    changes.push({ kind: "removed-incomplete-version", name: f.name, digest: f.digest });
  }
  if (removeUnreferencedBlobs) {
    const blobs = openBlobCache(layout.blobs);
    for (const f of findings) {
      if (f.kind !== "unreferenced-blob") continue;
      await removeTree(blobs.pathOf(f.digest));
      changes.push({ kind: "removed-blob", digest: f.digest, size: f.size });
    }
  }
  return changes;
}
