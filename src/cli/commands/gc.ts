/** `dz gc`: deletes cached blobs and layer snapshots no installed version references. */
import { referencedBlobs } from "../../store/blob_reachability.ts";
import { openBlobCache } from "../../store/blob_cache.ts";
import { gcSnapshots, openLayerStore } from "../../store/layer_store.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../render.ts";
import { withStoreLock } from "./shared.ts";

/**
 * dz gc: under the store lock, keeps every blob and layer snapshot of every complete version of every package;
 * with `dryRun` only reports what it would free. Reports on stderr.
 */
export async function gc(ctx: CliContext, opts: { dryRun?: boolean } = {}): Promise<void> {
  const dryRun = opts.dryRun === true;
  const { blobs, snapshots } = await withStoreLock(ctx, async () => {
    const referenced = await referencedBlobs(ctx.layout);
    const now = () => ctx.runtime.now().getTime();
    return {
      blobs: await openBlobCache(ctx.layout.blobs).gc(referenced, { now, dryRun }),
      snapshots: await gcSnapshots(openLayerStore(ctx.layout.layers), referenced, { dryRun }),
    };
  });
  const files = blobs.removedBlobs.length + blobs.removedTemps + snapshots.removed.length;
  const [removed, freed] = dryRun ? ["Would remove", "freeing"] : ["Removed", "freed"];
  const snapshotText = snapshots.removed.length === 0
    ? ""
    : `; ${removed.toLowerCase()} ${snapshots.removed.length} layer snapshot(s), ${freed} ` +
      formatBytes(snapshots.bytesFreed);
  ctx.log.info(
    files === 0
      ? "Nothing to collect: every cached blob and layer snapshot is used by an installed version"
      : `${removed} ${blobs.removedBlobs.length} blob(s)` +
        (blobs.removedTemps > 0 ? ` and ${blobs.removedTemps} stale temp file(s)` : "") +
        `, ${freed} ${formatBytes(blobs.bytesFreed)}${snapshotText}`,
  );
  for (const d of blobs.removedBlobs) ctx.log.debug(`${dryRun ? "would remove" : "removed"} blob ${d}`);
  for (const d of snapshots.removed) {
    ctx.log.debug(`${dryRun ? "would remove" : "removed"} layer snapshot ${d}`);
  }
}
