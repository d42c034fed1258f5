/**
 * From a verified image to a rootfs: layers download into the blob cache, are extracted once each into the layer
 * snapshot store (concurrently, in workers: a layer still downloading is extracted from the bytes already
 * received, and its snapshot is published only after its digest was confirmed; when little is left to extract,
 * on this thread once downloaded, see IN_PROCESS_LAYER_BYTES), and the rootfs is composed by replaying the
 * snapshots in layer order with hard links. With `layer_cache: false` the snapshots live in a private directory
 * that is deleted after composition, so the rootfs holds independent copies.
 */
import { join } from "node:path";
import type { Digest } from "../oci/digest.ts";
import { shortDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { RegistryClient } from "../registry/types.ts";
import { crashPoint } from "../crash_points.ts";
import { removeTree } from "../fs.ts";
import { makeDir } from "../file_ops.ts";
import type { BlobCache } from "../store/blob_cache.ts";
import { type BlobWatch, ExtractionWorkers } from "../unpack/worker_extract.ts";
import type { Config } from "../store/config.ts";
import {
  type LayerSnapshot,
  type LayerStore,
  openLayerStore,
  type TreeUsage,
  treeUsage,
} from "../store/layer_store.ts";
import type { StoreLayout } from "../store/layout.ts";
import { ROOTFS_DIR, versionDir } from "../store/packages.ts";
import { applySnapshot, createRootfsState, finalizeRootfs, type KnownFiles } from "../unpack/extract.ts";
import { openLayer } from "../unpack/layer.ts";
import type { ResolvedImage } from "./image.ts";
import { Semaphore } from "../semaphore.ts";
import { mark, span } from "../profile.ts";

/** Progress of layer downloads, extraction and composition (a subset of install's events). */
export type LayerEvent =
  | { readonly type: "layer-start"; readonly digest: Digest; readonly size: number; readonly cached: boolean }
  | { readonly type: "layer-progress"; readonly digest: Digest; readonly bytes: number }
  | { readonly type: "layer-done"; readonly digest: Digest }
  | { readonly type: "unpack"; readonly index: number; readonly total: number; readonly digest: Digest }
  /** Bytes of a layer blob read by the extractor so far (the unpack phase's movement). */
  | { readonly type: "unpack-progress"; readonly digest: Digest; readonly bytes: number }
  /** Every layer is composed into the rootfs. */
  | { readonly type: "unpacked"; readonly layers: number };

/** What pulling layers needs. */
export interface PullDeps {
  readonly config: Pick<Config, "concurrency">;
  readonly client: RegistryClient;
  readonly onEvent?: (event: LayerEvent) => void;
}

/** Options for {@linkcode pullLayers}. */
export interface PullOptions {
  /** Layers not to download (e.g. their snapshot is already extracted). */
  readonly skip?: ReadonlySet<Digest>;
  /** Receives the digest of every blob this call wrote into the cache (not those already there). */
  readonly fetched?: Set<Digest>;
  /** Receives, per layer being downloaded, the progress of its write into the cache (see BlobWatch). */
  readonly following?: Followers;
}

/** Downloads every layer into the cache with bounded concurrency; returns a promise per layer. */
export function pullLayers(
  deps: PullDeps,
  image: ResolvedImage,
  cache: BlobCache,
  signal: AbortSignal,
  options: PullOptions = {},
): Promise<void>[] {
  const slots = new Semaphore(Math.max(1, deps.config.concurrency));
  return image.manifest.layers.map(async (layer: Descriptor) => {
    if (options.skip?.has(layer.digest) || await cache.has(layer.digest)) {
      deps.onEvent?.({ type: "layer-start", digest: layer.digest, size: layer.size, cached: true });
      deps.onEvent?.({ type: "layer-done", digest: layer.digest });
      return;
    }
    await slots.run(async () => {
      signal.throwIfAborted();
      deps.onEvent?.({ type: "layer-start", digest: layer.digest, size: layer.size, cached: false });
      const stream = await deps.client.getBlob(image.repo, layer.digest, {
        size: layer.size,
        signal,
        onProgress: (bytes) => deps.onEvent?.({ type: "layer-progress", digest: layer.digest, bytes }),
      });
      const following = options.following;
      const written = await cache.putStream(layer.digest, layer.size, stream, {
        ...(following ? { onWriting: (watch: BlobWatch) => following.set(layer.digest, watch) } : {}),
      });
      if (written) options.fetched?.add(layer.digest);
      deps.onEvent?.({ type: "layer-done", digest: layer.digest });
    });
  });
}

/** Layers being fetched for one image; {@linkcode LayerFetch.build} composes a rootfs once verification passed. */
export interface LayerFetch {
  /** One promise per manifest layer: its blob is cached (or its snapshot already exists). */
  readonly downloads: readonly Promise<void>[];
  /** Extracts missing snapshots (concurrently) and composes `rootfs` (which must not exist) in layer order. */
  build(rootfs: string, options: BuildOptions): Promise<RootfsBuild>;
  /** Waits for every download to settle (after an abort). */
  settle(): Promise<void>;
  /** Snapshots `build` extracted (so a failed install can discard the ones nothing references). */
  readonly extracted: ReadonlySet<Digest>;
}

/** Options for {@linkcode LayerFetch.build}. */
export interface BuildOptions {
  /** Where private snapshots go when the layer cache is off; removed when build returns. */
  readonly scratch: string;
  readonly signal: AbortSignal;
  /** Filled with what the snapshots recorded of the rootfs's files (for files.json, see manifestOfTree). */
  readonly known?: KnownFiles;
}

/** What {@linkcode LayerFetch.build} did. */
export interface RootfsBuild {
  /** Layers extracted now. */
  readonly extracted: number;
  /** Layers whose snapshot already existed. */
  readonly reused: number;
}

/** What fetching layers needs. */
export interface FetchDeps extends PullDeps {
  readonly layout: StoreLayout;
  readonly config: Pick<Config, "concurrency" | "layer_cache">;
}

/** Layer extractions running at once: decompression and file creation overlap across layers. */
function extractionSlots(): number {
  return Math.max(2, Math.min(8, navigator.hardwareConcurrency ?? 2));
}

/**
 * When the layers to extract total at most this (compressed), they are extracted on this thread, each once
 * downloaded, and no worker starts. A worker's start blocks this thread ~25 ms and then loads the unpacker and
 * node:zlib in its own isolate: for a 1.4 MB layer (3 MB of files) extraction took ~85 ms after verification in
 * the worker, ~55 ms here (README "Benchmarks"). An update or a second package often needs only such a layer.
 * With more to extract the workers take every layer, small ones too: this thread is busy with the downloads then
 * (a cold install that extracted its small layer here was ~3% slower).
 */
export const IN_PROCESS_LAYER_BYTES = 4 * 1024 * 1024;

/** Whether `missing` (the layers to extract) is little enough to extract here (see IN_PROCESS_LAYER_BYTES). */
export function extractsOnThisThread(missing: readonly Descriptor[], limit: number): boolean {
  return missing.reduce((total, layer) => total + layer.size, 0) <= limit;
}

/** `layers` without repeats of a digest (an image may list one layer twice; it is extracted once). */
function uniqueLayers(layers: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<Digest>();
  return layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
}

/** Extraction workers: one per core beyond the one that downloads and verifies (see ExtractionWorkers). */
function extractionWorkers(): number {
  return Math.max(1, Math.min(4, (navigator.hardwareConcurrency ?? 2) - 1));
}

/**
 * Starts downloading the image's layers (skipping those with a snapshot) while the caller verifies; nothing is
 * unpacked until `build` is called.
 */
export async function fetchLayers(
  deps: FetchDeps,
  image: ResolvedImage,
  cache: BlobCache,
  signal: AbortSignal,
  options: Pick<PullOptions, "fetched"> & {
    /** Layers to extract totalling up to this are extracted on this thread. @default {IN_PROCESS_LAYER_BYTES} */
    readonly inProcessBytes?: number;
  } = {},
): Promise<LayerFetch> {
  const shared = deps.config.layer_cache ? openLayerStore(deps.layout.layers) : undefined;
  const layers = image.manifest.layers;
  const present = new Set<Digest>();
  if (shared !== undefined) {
    for (const layer of layers) if (await shared.load(layer.digest)) present.add(layer.digest);
  }
  const missing = uniqueLayers(layers.filter((l) => !present.has(l.digest)));
  const here = extractsOnThisThread(missing, options.inProcessBytes ?? IN_PROCESS_LAYER_BYTES);
  const following = new Followers();
  // Workers start now, so their module load overlaps verification and the first downloads.
  const workers = new ExtractionWorkers(extractionWorkers());
  if (!here && missing.length > 0) workers.warm(missing.length);
  const downloads = pullLayers(deps, image, cache, signal, {
    skip: present,
    following,
    ...(options.fetched ? { fetched: options.fetched } : {}),
  });
  const extracted = new Set<Digest>();
  downloads.forEach((p) => p.catch(() => {}));
  return {
    downloads,
    extracted,
    settle: async () => {
      workers.close();
      await Promise.allSettled(downloads);
    },
    async build(rootfs, options) {
      const store = shared ?? openLayerStore(join(options.scratch, "layers"));
      try {
        return await compose({
          store,
          image,
          cache,
          downloads,
          following,
          rootfs,
          signal: options.signal,
          deps,
          workers,
          extractHere: here,
          ...(options.known !== undefined ? { known: options.known } : {}),
          ...(shared !== undefined ? { extracted } : {}),
        });
      } finally {
        workers.close();
        if (shared === undefined) await removeTree(join(options.scratch, "layers")).catch(() => {});
      }
    },
  };
}

async function compose(input: {
  store: LayerStore;
  image: ResolvedImage;
  cache: BlobCache;
  downloads: readonly Promise<void>[];
  following: Followers;
  rootfs: string;
  signal: AbortSignal;
  deps: FetchDeps;
  workers: ExtractionWorkers;
  /** Extract on this thread (from the cached blobs) rather than in the workers (see IN_PROCESS_LAYER_BYTES). */
  extractHere: boolean;
  known?: KnownFiles;
  /** Receives the digest of every snapshot extracted into the shared store. */
  extracted?: Set<Digest>;
}): Promise<RootfsBuild> {
  const { store, image, cache, downloads, following, rootfs, deps, workers, extractHere } = input;
  const layers = image.manifest.layers;
  // One failed extraction stops the others before the error surfaces.
  const controller = new AbortController();
  const signal = AbortSignal.any([input.signal, controller.signal]);
  const slots = new Semaphore(extractionSlots());
  let extracted = 0;
  let reused = 0;
  const byDigest = new Map<Digest, Promise<LayerSnapshot>>();
  const snapshots = layers.map((layer, i) => {
    let pending = byDigest.get(layer.digest);
    if (pending === undefined) {
      pending = (async () => {
        const existing = await store.load(layer.digest);
        if (existing !== undefined) {
          reused++;
          return existing;
        }
        // A layer still downloading is extracted from its bytes as they arrive (verification passed before
        // build was called; the blob's own sha256 is checked as it streams): the snapshot is published only
        // after the download committed the blob with the manifest's digest, so bytes that turn out wrong
        // leave nothing behind but a discarded staging tree.
        // Here: from the cached blob once downloaded. In a worker: following the download as it is written.
        await (extractHere ? downloads[i] : Promise.race([downloads[i], following.started(layer.digest)]));
        return await slots.run(async () => {
          signal.throwIfAborted();
          const watch = extractHere ? undefined : following.watch(layer.digest);
          mark(`extract-start ${i} ${extractHere ? "here" : watch ? "following" : "cached"}`);
          extracted++;
          const end = span(`extract-layer ${shortDigest(layer.digest)}`);
          const onProgress = deps.onEvent
            ? (bytes: number) => deps.onEvent?.({ type: "unpack-progress", digest: layer.digest, bytes })
            : undefined;
          const label = shortDigest(layer.digest);
          const snapshot = extractHere
            ? await store.extract(
              layer.digest,
              async () => openLayer(counted(await cache.open(layer.digest), onProgress), layer.mediaType),
              { label, signal },
            )
            : await store.extract(layer.digest, () => {
              throw new Error("a worker extracts the layer"); // not called: `worker` is set
            }, {
              label,
              signal,
              beforePublish: () => downloads[i]!,
              worker: {
                // From the temp file as far as the download wrote it, or from the cached blob.
                blobPath: watch?.tmpPath ?? cache.pathOf(layer.digest),
                mediaType: layer.mediaType,
                pool: workers,
                ...(watch !== undefined ? { watch } : {}),
                ...(onProgress !== undefined ? { onProgress } : {}),
              },
            });
          end();
          input.extracted?.add(layer.digest);
          mark(`extract-end ${i}`);
          return snapshot;
        }).catch(async (err) => {
          // A failed download fails its follower too: report the download's own error (a network fault is
          // exit 1 with the network hint), not the reading of a cut-off tar.
          throw (await downloads[i]!.then(() => undefined, (e: unknown) => e)) ?? err;
        });
      })();
      pending.catch(() => controller.abort());
      byDigest.set(layer.digest, pending);
    }
    return pending;
  });
  try {
    await makeDir(rootfs);
    const state = createRootfsState();
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const snapshot = await snapshots[i]!;
      signal.throwIfAborted();
      deps.onEvent?.({ type: "unpack", index: i, total: layers.length, digest: layer.digest });
      await applySnapshot(snapshot, rootfs, {
        state,
        label: shortDigest(layer.digest),
        signal,
        ...(input.known !== undefined ? { known: input.known } : {}),
      });
      await crashPoint("compose:layer");
    }
    await finalizeRootfs(rootfs, state);
    deps.onEvent?.({ type: "unpacked", layers: layers.length });
    return { extracted, reused };
  } catch (err) {
    controller.abort();
    const settled = await Promise.allSettled(snapshots);
    // Report the extraction that failed, not the abort it caused elsewhere.
    if (signal.aborted && !input.signal.aborted) {
      const first = settled.find((s) => s.status === "rejected" && !isAbort(s.reason));
      if (first?.status === "rejected") throw first.reason;
    }
    throw err;
  }
}

/** `stream`, reporting the bytes of each chunk to `onProgress` as it is read. */
function counted(
  stream: ReadableStream<Uint8Array>,
  onProgress: ((bytes: number) => void) | undefined,
): ReadableStream<Uint8Array> {
  if (onProgress === undefined) return stream;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onProgress(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The downloads in progress, by layer digest: the progress of each blob's write (see BlobWatch). */
class Followers {
  readonly #watch = new Map<Digest, BlobWatch>();
  readonly #waiting = new Map<Digest, () => void>();
  readonly #started = new Map<Digest, Promise<void>>();

  set(digest: Digest, watch: BlobWatch): void {
    this.#watch.set(digest, watch);
    this.#waiting.get(digest)?.();
  }

  /** The progress of the download of `digest`, for a follower in a worker. */
  watch(digest: Digest): BlobWatch | undefined {
    return this.#watch.get(digest);
  }

  /** Resolves once the download of `digest` started writing (never, when it does not: race it). */
  started(digest: Digest): Promise<void> {
    if (this.#watch.has(digest)) return Promise.resolve();
    let started = this.#started.get(digest);
    if (started === undefined) {
      started = new Promise((resolve) => this.#waiting.set(digest, resolve));
      this.#started.set(digest, started);
    }
    return started;
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

/**
 * Disk use of an installed version's rootfs: bytes only it holds, and bytes it shares (by hard link) with layer
 * snapshots, other versions or other packages.
 */
export async function versionDiskUsage(
  layout: StoreLayout,
  name: string,
  digest: Digest,
): Promise<TreeUsage> {
  return await treeUsage(join(versionDir(layout, name, digest), ROOTFS_DIR));
}
