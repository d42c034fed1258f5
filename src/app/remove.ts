/** `dz remove NAME`: deletes a package with all its versions and wrappers, also when it is damaged. */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { removeWrapper, removeWrappersOf } from "../shim/write.ts";
import { type PackageState, readPackageState } from "../store/package_state.ts";
import { listVersions, removePackage } from "../store/packages.ts";
import type { StoreAccess } from "./store_access.ts";

/** What removing a package deletes. */
export interface RemovalPlan {
  readonly name: string;
  /** The current digest, when the package still names one. */
  readonly digest: Digest | null;
  /** Why the package is damaged; undefined when it is intact. */
  readonly damaged: string | undefined;
  /** How many versions besides the current one go with it. */
  readonly olderVersions: number;
  /** The wrappers in bin/ its metadata names (a damaged package may not know them; they go by marker too). */
  readonly wrappers: readonly string[];
}

/** What `removeInstalledPackage` did. */
export type RemoveOutcome =
  | { readonly kind: "dry-run"; readonly plan: RemovalPlan }
  | { readonly kind: "removed"; readonly plan: RemovalPlan };

/** Options of {@linkcode removeInstalledPackage}. */
export interface RemoveOptions {
  readonly name: string;
  /** Only plan: change nothing. */
  readonly dryRun?: boolean;
  /** Asked before anything changes, outside the lock; throws to abort. */
  readonly confirm?: (plan: RemovalPlan) => Promise<void>;
}

/** The removal of `name`, or NOT_INSTALLED with a hint. Reads only. */
export async function planRemoval(layout: StoreAccess["layout"], name: string): Promise<RemovalPlan> {
  const state = await readPackageState(layout, name);
  if (state === undefined) {
    throw new DropzoneError("NOT_INSTALLED", `"${name}" is not installed`, {
      hint: `Run "dz list" to see installed packages, or "dz install ${name}"`,
    });
  }
  const meta = state.state === "ok" ? state.version.metadata : state.metadata;
  const versions = await listVersions(layout, name);
  return {
    name,
    digest: state.state === "ok" ? state.version.digest : state.digest ?? meta?.digest ?? null,
    damaged: state.state === "damaged" ? state.reason : undefined,
    olderVersions: Math.max(0, versions.length - 1),
    wrappers: meta ? meta.bins.map((b) => join(layout.bin, b.name)) : [],
  };
}

/**
 * Removes package `name` (every version, its pins and history) and its wrappers, under the store lock. Wrappers go
 * first: a crash in between leaves a package without wrappers, which doctor reports, never a wrapper pointing at
 * nothing.
 */
export async function removeInstalledPackage(
  store: StoreAccess,
  options: RemoveOptions,
): Promise<RemoveOutcome> {
  const plan = await planRemoval(store.layout, options.name);
  if (options.dryRun) return { kind: "dry-run", plan };
  await options.confirm?.(plan);
  await using _lock = await store.lock();
  // Read again under the lock: another dz may have changed the package while the user was asked.
  const state: PackageState | undefined = await readPackageState(store.layout, options.name);
  if (state?.state === "ok") {
    for (const bin of state.version.metadata.bins) await removeWrapper(store.layout.bin, bin.name);
  }
  await removeWrappersOf(store.layout.bin, options.name);
  await removePackage(store.layout, options.name);
  return { kind: "removed", plan };
}
