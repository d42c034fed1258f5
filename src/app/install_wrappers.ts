/** The `bin/` wrappers of an image version: planned from its rootfs and saved config, written, restored, pruned. */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { readTextIfExists } from "../fs.ts";
import type { Digest } from "../oci/digest.ts";
import type { Host } from "../runtime.ts";
import { planShim, type ShimPlan } from "../shim/plan.ts";
import { renderWrapper } from "../shim/wrapper.ts";
import { binSlot, removeWrapper, writeWrapper } from "../shim/write.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { ROOTFS_DIR } from "../store/packages.ts";
import { restoreArtifactLinks } from "./artifact.ts";
import { readImageConfig } from "./install_image_config.ts";
import { type BinEntry, writeBinEntries } from "./bin_entries.ts";

/** Refuses a `bin/` name that holds a file dz did not write, or another package's wrapper. */
export async function checkWrapperSlot(
  layout: StoreLayout,
  wrapperName: string,
  packageName: string,
): Promise<void> {
  const path = join(layout.bin, wrapperName);
  const slot = await binSlot(layout.bin, wrapperName);
  if (slot.kind === "other") {
    throw new DropzoneError("NAME_CONFLICT", `Cannot write "${path}": it exists and was not written by dz`, {
      hint: `Remove or rename "${path}", or install under another name with --name`,
    });
  }
  if (slot.owner !== null && slot.owner !== packageName) {
    throw new DropzoneError(
      "NAME_CONFLICT",
      `Cannot write "${path}": it belongs to package "${slot.owner}"`,
      {
        hint: `Pick another binary name (--bin PATH:NAME or --name)`,
      },
    );
  }
}

/** Every wrapper a plan writes (the main binary, then each extra `--bin`) with its script text. */
export function renderWrappers(
  layout: StoreLayout,
  packageName: string,
  plan: ShimPlan,
  digest: Digest,
): (BinEntry & { readonly name: string; readonly script: string })[] {
  return [plan, ...plan.extraBins].map((p) => {
    const path = join(layout.bin, p.name);
    const script = renderWrapper(p, { packagesDir: layout.packages, name: packageName, digest });
    return {
      name: p.name,
      path,
      script,
      write: () => writeWrapper(layout.bin, p.name, script),
      // Anything unreadable there counts as different: writing it then says what is wrong with the slot.
      isCurrent: async () => (await readTextIfExists(path).catch(() => undefined)) === script,
    };
  });
}

/** Writes the wrappers of a committed, active version. */
export async function writeWrappers(
  layout: StoreLayout,
  packageName: string,
  plan: ShimPlan,
  digest: Digest,
): Promise<string[]> {
  return await writeBinEntries(renderWrappers(layout, packageName, plan, digest));
}

/** Rewrites any wrapper of the current version that is missing or differs from what dz would write now. */
export async function restoreWrappers(
  layout: StoreLayout,
  meta: PackageMetadata,
  host: Host,
): Promise<string[]> {
  if (meta.kind === "artifact") return await restoreArtifactLinks(layout, meta);
  const plan = await planForVersion(layout, meta, host);
  return await writeBinEntries(renderWrappers(layout, meta.name, plan, meta.digest), { onlyChanged: true });
}

/** Removes the wrappers a previous version had whose names are not in `keep` (best effort). */
export async function removeStaleWrappers(
  layout: StoreLayout,
  previous: PackageMetadata | undefined,
  keep: readonly string[],
): Promise<void> {
  if (!previous) return;
  const kept = new Set(keep);
  for (const bin of previous.bins) {
    if (!kept.has(bin.name)) await removeWrapper(layout.bin, bin.name).catch(() => false);
  }
}

/** Re-plans the wrapper for an installed version from its rootfs and saved image config. */
export async function planForVersion(
  layout: StoreLayout,
  meta: PackageMetadata,
  host: Host,
): Promise<ShimPlan> {
  const dir = join(layout.packages, meta.name, meta.digest.replace(":", "-"));
  return await planShim({
    rootfs: join(dir, ROOTFS_DIR),
    config: await readImageConfig(dir),
    host,
    name: meta.bins[0]?.name ?? meta.name,
    extraBins: meta.bins.slice(1).map((b) => ({ path: b.path, name: b.name })),
  });
}
