/** `dz gc`: deletes cached blobs no installed version references. */
import { referencedBlobs } from "../../app/doctor.ts";
import { openBlobCache } from "../../store/blob_cache.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../render.ts";
import { withStoreLock } from "./shared.ts";

/** dz gc: under the store lock, keeps every blob of every complete version of every package; reports on stderr. */
export async function gc(ctx: CliContext): Promise<void> {
  const result = await withStoreLock(ctx, async () => {
    const referenced = await referencedBlobs(ctx.layout);
    return await openBlobCache(ctx.layout.blobs).gc(referenced, { now: () => ctx.runtime.now().getTime() });
  });
  const files = result.removedBlobs.length + result.removedTemps;
  ctx.log.info(
    files === 0
      ? "Nothing to collect: every cached blob is used by an installed version"
      : `Removed ${result.removedBlobs.length} blob(s)` +
        (result.removedTemps > 0 ? ` and ${result.removedTemps} stale temp file(s)` : "") +
        `, freed ${formatBytes(result.bytesFreed)}`,
  );
  for (const d of result.removedBlobs) ctx.log.debug(`removed ${d}`);
}
