/**
 * The commit of a new version: its staging directory gets files.json and the image config, then metadata and
 * the atomic rename (store/packages.ts `commitVersion`), activation, its `bin/` entries, the previous version's
 * stale wrappers removed, and old versions pruned. Nothing is visible before the rename.
 */
import type { Digest } from "../oci/digest.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { activate, commitVersion, prune } from "../store/packages.ts";
import { manifestOfTree, writeFileManifest } from "../store/file_manifest.ts";
import type { KnownFiles } from "../unpack/extract.ts";
import { writeImageConfig } from "./install_image_config.ts";
import { removeStaleWrappers } from "./install_wrappers.ts";

/** Writes what every staged version holds beside its rootfs: files.json (hashes of `known` reused) and the config. */
export async function stageVersionFiles(
  staging: string,
  rootfs: string,
  configBytes: Uint8Array,
  known?: KnownFiles,
): Promise<void> {
  await writeFileManifest(staging, await manifestOfTree(rootfs, known));
  await writeImageConfig(staging, configBytes);
}

/** One staged version to commit. */
export interface NewVersion {
  readonly layout: StoreLayout;
  readonly name: string;
  readonly staging: string;
  readonly metadata: PackageMetadata;
  /** The version it replaces as current (its wrappers not in `binNames` are removed). */
  readonly previous: PackageMetadata | undefined;
  /** Replace a committed directory of the same digest (a damaged install being unpacked again). */
  readonly replace: boolean;
  /** How many versions to keep (config `keep_versions`). */
  readonly keep: number;
  /** Writes the version's `bin/` entries once it is active; returns their paths. */
  readonly writeBins: () => Promise<string[]>;
  /** Called right after the rename: from then on a failure must not undo the version. */
  readonly onCommitted?: (digest: Digest) => void;
  /** Activate as a rollback (history-stack semantics, see store/versions.ts) rather than as a new install. */
  readonly rollback?: boolean;
}

/** Commits, activates and links a staged version; returns the entries written and the versions pruned. */
export async function commitNewVersion(
  version: NewVersion,
): Promise<{ wrappers: string[]; pruned: Digest[] }> {
  const { layout, name, metadata } = version;
  await commitVersion(layout, name, version.staging, metadata, { replace: version.replace });
  version.onCommitted?.(metadata.digest);
  await activate(layout, name, metadata.digest, { rollback: version.rollback === true });
  const wrappers = await version.writeBins();
  await removeStaleWrappers(layout, version.previous, metadata.bins.map((b) => b.name));
  const pruned = await prune(layout, name, { keep: version.keep });
  return { wrappers, pruned };
}
