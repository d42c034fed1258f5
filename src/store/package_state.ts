/**
 * Every package directory with its state: "ok", or "damaged" with the reason (no or dangling `current`, corrupt
 * metadata.json, a deleted rootfs or entrypoint). `list`, `update --check`, `remove` and `doctor` use it so a
 * damaged package never silently disappears while its wrapper still runs.
 */
import { join } from "../path.ts";
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import { ioError } from "../fs.ts";
import type { StoreLayout } from "./layout.ts";
import { type ListEntry, type PackageMetadata, toListEntry } from "./metadata.ts";
import {
  type InstalledVersion,
  listVersions,
  packageDir,
  readCurrentDigest,
  ROOTFS_DIR,
  validatePackageName,
  versionDir,
} from "./packages.ts";

/** A package as found on disk. */
export type PackageState =
  | { readonly name: string; readonly state: "ok"; readonly version: InstalledVersion }
  | {
    readonly name: string;
    readonly state: "damaged";
    /** One sentence saying what is wrong. */
    readonly reason: string;
    /** The digest `current` names, when it names one. */
    readonly digest: Digest | null;
    /** The best metadata known: the current version's when readable, else the newest complete version's. */
    readonly metadata: PackageMetadata | null;
  };

/**
 * Why an otherwise complete version cannot run: its rootfs or its entrypoint is gone (deleted by hand, a disk
 * cleaner). Null when both are present. Two lstat calls.
 */
export async function rootfsProblem(layout: StoreLayout, meta: PackageMetadata): Promise<string | null> {
  const rootfs = join(versionDir(layout, meta.name, meta.digest), ROOTFS_DIR);
  if (!(await present(rootfs))) return `the rootfs of ${shortDigest(meta.digest)} is missing`;
  const entry = meta.bins[0]?.path ?? meta.entrypoint.resolved;
  if (entry && !(await present(join(rootfs, entry)))) {
    return `${entry} is missing from the rootfs of ${shortDigest(meta.digest)}`;
  }
  return null;
}

async function present(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return false;
    throw ioError("read", path, err);
  }
}

/** The state of package `name`, or undefined when it has no package directory. */
export async function readPackageState(layout: StoreLayout, name: string): Promise<PackageState | undefined> {
  validatePackageName(name);
  if (!(await present(packageDir(layout, name)))) return undefined;
  const versions = await listVersions(layout, name);
  const digest = (await readCurrentDigest(layout, name)) ?? null;
  const current = versions.find((v) => v.digest === digest);
  const newestComplete = versions.find((v) => v.complete)?.metadata ?? null;
  const damaged = (reason: string, metadata: PackageMetadata | null): PackageState => ({
    name,
    state: "damaged",
    reason,
    digest,
    metadata,
  });
  if (digest === null) {
    const link = await present(join(packageDir(layout, name), "current"));
    // No `current` at all: a first install that has not activated yet (in flight, or killed before the flip,
    // which doctor --fix completes) is not visible as a package.
    if (!link) return undefined;
    return damaged("current is not a link to a version", newestComplete);
  }
  if (current === undefined) {
    return damaged(`current points at ${shortDigest(digest)}, which is missing`, newestComplete);
  }
  if (!current.complete) {
    const why = current.problem === "metadata.json is missing"
      ? "its metadata.json is missing"
      : `its metadata.json is corrupt (${
        (current.problem ?? "invalid").replace(/^Cannot read [^"]*"[^"]*": /, "")
      })`;
    return damaged(`current version ${shortDigest(digest)}: ${why}`, newestComplete);
  }
  const meta = current.metadata!;
  const problem = await rootfsProblem(layout, meta);
  if (problem !== null) return damaged(problem, meta);
  return {
    name,
    state: "ok",
    version: {
      name,
      digest: meta.digest,
      dir: current.dir,
      rootfs: join(current.dir, ROOTFS_DIR),
      metadata: meta,
    },
  };
}

/** Every package directory's state, sorted by name. */
export async function listPackageStates(layout: StoreLayout): Promise<PackageState[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(layout.packages)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw ioError("read", layout.packages, err);
  }
  const states = await Promise.all(
    names.sort().map(async (name) => {
      try {
        return await readPackageState(layout, name);
      } catch (err) {
        if (isDropzoneError(err, "INVALID_NAME")) return undefined;
        if (err instanceof DropzoneError) {
          return {
            name,
            state: "damaged",
            reason: err.message,
            digest: null,
            metadata: null,
          } as PackageState;
        }
        throw err;
      }
    }),
  );
  return states.filter((s): s is PackageState => s !== undefined);
}

/**
 * One element of `dz list --json`: the {@linkcode ListEntry} fields plus `state` ("ok" | "damaged") and `reason`
 * (null when ok). A damaged package's fields come from the best metadata known (see {@linkcode PackageState});
 * those dz cannot know are null, and `digest` is what `current` names.
 */
export type ListRow =
  | (ListEntry & { state: "ok"; reason: null })
  | ({ [K in keyof ListEntry]: ListEntry[K] | null } & { name: string; state: "damaged"; reason: string });

/** The `dz list --json` row for a package state. Pure. */
export function toListRow(s: PackageState): ListRow {
  if (s.state === "ok") return { ...toListEntry(s.version.metadata), state: "ok", reason: null };
  const known = s.metadata ? toListEntry(s.metadata) : undefined;
  return {
    name: s.name,
    tag: known?.tag ?? null,
    digest: s.digest ?? known?.digest ?? null,
    index_digest: known?.index_digest ?? null,
    registry: known?.registry ?? null,
    repository: known?.repository ?? null,
    platform: known?.platform ?? null,
    signed: known?.signed ?? null,
    signer: known?.signer ?? null,
    issuer: known?.issuer ?? null,
    allow_unsigned: known?.allow_unsigned ?? null,
    installed_at: known?.installed_at ?? null,
    ref: known?.ref ?? null,
    state: "damaged",
    reason: s.reason,
  };
}
