/** `dz gc`: delete cached blobs that no complete version of any installed package references. */
import { openBlobCache } from "../store/blob_cache.ts";
import type { BlobGcResult } from "../store/blob_cache.ts";
import type { StoreLayout } from "../store/layout.ts";
import { referencedBlobs } from "./doctor.ts";

/** Collects unreferenced blobs (or, with `dryRun`, only counts them). Call it holding the store lock. */
export async function collectGarbage(
  layout: StoreLayout,
  options: { now: () => Date; dryRun?: boolean },
): Promise<BlobGcResult> {
  const referenced = await referencedBlobs(layout);
  return await openBlobCache(layout.blobs).gc(referenced, {
    now: () => options.now().getTime(),
    dryRun: options.dryRun === true,
  });
}
