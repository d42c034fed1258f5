/** `dz gc`: calls app/gc.ts and reports what was (or would be) freed on stderr. */
import { collectGarbage } from "../../app/gc.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../render.ts";
import { storeAccess } from "./shared.ts";

/** dz gc; with `dryRun` it only reports what it would free. */
export async function gc(ctx: CliContext, opts: { dryRun?: boolean } = {}): Promise<void> {
  const { dryRun, blobs, snapshots } = await collectGarbage(storeAccess(ctx), {
    dryRun: opts.dryRun === true,
    now: ctx.runtime.now,
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
