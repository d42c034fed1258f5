/**
 * What a refused, failed or interrupted install leaves behind, removed: the layer blobs it downloaded and the
 * layer snapshots it extracted (unless an installed version references them) and, for a first install, the empty
 * `packages/<name>/` directory. Call it holding the store lock, after every download settled.
 */
import { readDirOrEmpty } from "../fs.ts";
import { removeIfEmpty } from "../file_ops.ts";
import type { Digest } from "../oci/digest.ts";
import type { BlobCache } from "../store/blob_cache.ts";
import { openLayerStore } from "../store/layer_store.ts";
import type { StoreLayout } from "../store/layout.ts";
import { listVersions, packageDir } from "../store/packages.ts";

async function referencedLayers(layout: StoreLayout): Promise<Set<Digest>> {
  const referenced = new Set<Digest>();
  // An unreadable packages/ references nothing this cleanup could keep: it removes only what it fetched.
  const names = (await readDirOrEmpty(layout.packages).catch(() => []))
    .filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => e.name);
  for (const name of names) {
    const versions = await listVersions(layout, name).catch(() => []);
    for (const v of versions) for (const d of v.metadata?.layers ?? []) referenced.add(d);
  }
  return referenced;
}

/** Removes the blobs in `fetched` (written by this install) that no installed version references. */
export async function discardFetchedLayers(
  layout: StoreLayout,
  cache: BlobCache,
  fetched: ReadonlySet<Digest>,
): Promise<Digest[]> {
  if (fetched.size === 0) return [];
  const referenced = await referencedLayers(layout);
  const removed: Digest[] = [];
  for (const digest of fetched) {
    if (referenced.has(digest)) continue;
    if (await cache.remove(digest).catch(() => false)) removed.push(digest);
  }
  return removed;
}

/** Removes the layer snapshots in `extracted` (made by this install) that no installed version references. */
export async function discardSnapshots(
  layout: StoreLayout,
  extracted: ReadonlySet<Digest>,
): Promise<Digest[]> {
  if (extracted.size === 0) return [];
  const referenced = await referencedLayers(layout);
  const store = openLayerStore(layout.layers);
  const removed: Digest[] = [];
  for (const digest of extracted) {
    if (referenced.has(digest)) continue;
    await store.remove(digest);
    removed.push(digest);
  }
  return removed;
}

/** Removes `packages/<name>/` when it is empty (a failed first install); keeps it otherwise. */
export async function removeEmptyPackageDir(layout: StoreLayout, name: string): Promise<void> {
  await removeIfEmpty(packageDir(layout, name));
}
