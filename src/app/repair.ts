/**
 * Re-unpacking an installed version whose files were deleted (`dz doctor --fix`), from the blob cache only: the
 * platform manifest is re-hashed against the recorded digest (which was verified at install), its layers and
 * config come from the content-addressed cache, and the new tree replaces the damaged one in one rename.
 */
import { join } from "node:path";
import { removeTreeRetrying } from "../fs.ts";
import { onInterrupt } from "../interrupt.ts";
import { type Digest, sha256Digest } from "../oci/digest.ts";
import { type ImageManifest, parseManifest } from "../oci/manifest.ts";
import { openBlobCache } from "../store/blob_cache.ts";
import { manifestOfTree, writeFileManifest } from "../store/file_manifest.ts";
import type { Config } from "../store/config.ts";
import { offlineClient } from "../registry/caching_client.ts";
import { fetchLayers } from "./layers.ts";
import type { KnownFiles } from "../unpack/extract.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { commitVersion, makePackageStaging, ROOTFS_DIR } from "../store/packages.ts";
import { IMAGE_CONFIG_FILE } from "./install.ts";
import type { ResolvedImage } from "./image.ts";

/** The blobs a version needs that the cache lacks (empty: it can be re-unpacked offline). */
export async function missingBlobs(layout: StoreLayout, meta: PackageMetadata): Promise<Digest[]> {
  const cache = openBlobCache(layout.blobs);
  const missing: Digest[] = [];
  for (const d of [meta.digest, meta.config_digest, ...meta.layers]) {
    if (!(await cache.has(d))) missing.push(d);
  }
  return missing;
}

/**
 * Unpacks `meta`'s version again from the blob cache and replaces its directory. Throws when a blob is missing
 * or the cached manifest does not hash to the recorded digest. Call it holding the store lock.
 */
export async function reunpackFromCache(
  layout: StoreLayout,
  config: Pick<Config, "concurrency" | "layer_cache">,
  meta: PackageMetadata,
  signal: AbortSignal = new AbortController().signal,
): Promise<void> {
  const cache = openBlobCache(layout.blobs);
  const read = async (d: Digest) => new Uint8Array(await new Response(await cache.open(d)).arrayBuffer());
  const manifestBytes = await read(meta.digest);
  if ((await sha256Digest(manifestBytes)) !== meta.digest) {
    throw new Error(`the cached manifest ${meta.digest} is corrupt`);
  }
  const manifest = parseManifest(manifestBytes);
  if (manifest.kind !== "manifest") throw new Error(`${meta.digest} is not an image manifest`);
  const configBytes = await read(manifest.config.digest);
  const image = {
    manifest: manifest as ImageManifest,
    repo: { registry: "", repository: "" },
  } as ResolvedImage;
  // Every layer is in the cache (see missingBlobs) or has a snapshot: nothing is downloaded.
  const client = offlineClient(cache, {
    get: () => Promise.resolve(undefined),
    put: () => Promise.resolve(),
  });
  const layers = await fetchLayers({ layout, config, client }, image, cache, signal);
  const staging = await makePackageStaging(layout, meta.name);
  using _cleanup = onInterrupt(() => removeTreeRetrying(staging));
  try {
    const rootfs = join(staging, ROOTFS_DIR);
    const known: KnownFiles = new Map();
    await layers.build(rootfs, { scratch: staging, signal, known });
    await writeFileManifest(staging, await manifestOfTree(rootfs, known));
    await Deno.writeFile(join(staging, IMAGE_CONFIG_FILE), configBytes);
    await commitVersion(layout, meta.name, staging, meta, { replace: true });
  } finally {
    await layers.settle();
    await removeTreeRetrying(staging);
  }
}
