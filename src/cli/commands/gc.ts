/** `dz gc [--dry-run]`: deletes cached blobs no installed version references. */
import { collectGarbage } from "../../app/gc.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../render.ts";
import { withStoreLock } from "./shared.ts";

/** dz gc: under the store lock, keeps every blob of every complete version of every package; reports on stderr. */
export async function gc(ctx: CliContext, opts: { dryRun?: boolean } = {}): Promise<void> {
  const dryRun = opts.dryRun === true;
  // The dry run holds the lock too, so what it reports is what a gc at that moment would remove.
  const result = await withStoreLock(ctx, () => collectGarbage(ctx.layout, { now: ctx.runtime.now, dryRun }));
  const files = result.removedBlobs.length + result.removedTemps;
  const blobs = `${result.removedBlobs.length} blob(s)` +
    (result.removedTemps > 0 ? ` and ${result.removedTemps} stale temp file(s)` : "");
  ctx.log.info(
    files === 0
      ? "Nothing to collect: every cached blob is used by an installed version"
      : dryRun
      ? `Dry run: would remove ${blobs}, freeing ${formatBytes(result.bytesFreed)}; nothing was changed`
      : `Removed ${blobs}, freed ${formatBytes(result.bytesFreed)}`,
  );
  for (const d of result.removedBlobs) {
    if (dryRun) ctx.log.info(`  would remove ${d}`);
    else ctx.log.debug(`removed ${d}`);
  }
}
