/** `dz gc`: deletes cached blobs and layer snapshots no installed version references. */
import { referencedBlobs } from "../store/blob_reachability.ts";
import { type BlobGcResult, openBlobCache } from "../store/blob_cache.ts";
import { gcSnapshots, openLayerStore, type SnapshotGcResult } from "../store/layer_store.ts";
import type { StoreAccess } from "./store_access.ts";

/** What `collectGarbage` removed (or, for a dry run, would remove). */
export interface GcOutcome {
  readonly dryRun: boolean;
  readonly blobs: BlobGcResult;
  readonly snapshots: SnapshotGcResult;
}

/** Options of {@linkcode collectGarbage}. */
export interface GcOptions {
  /** Only count what would go: change nothing. */
  readonly dryRun?: boolean;
  /** The clock stale temp files are judged by. */
  readonly now: () => Date;
}

/**
 * Under the store lock (so no install is between downloading a blob and recording it), keeps every blob and layer
 * snapshot of every complete version of every package, previous versions too, and deletes the rest.
 */
export async function collectGarbage(store: StoreAccess, options: GcOptions): Promise<GcOutcome> {
  const dryRun = options.dryRun === true;
  await using _lock = await store.lock();
  const referenced = await referencedBlobs(store.layout);
  const now = () => options.now().getTime();
  return {
    dryRun,
    blobs: await openBlobCache(store.layout.blobs).gc(referenced, { now, dryRun }),
    snapshots: await gcSnapshots(openLayerStore(store.layout.layers), referenced, { dryRun }),
  };
}
