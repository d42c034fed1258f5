/**
 * The layer snapshot store: every layer (by blob digest) extracted once, by the same safe unpacker, into its own
 * read-only tree, with its entries recorded in tar order so a package rootfs can be composed by hard-linking.
 *
 * ```
 * cache/layers/sha256-<hex>/tree/          the layer's own files (dirs 0555; file modes as in the image)
 * cache/layers/sha256-<hex>/layer.json     {schema_version, digest, entries, bytes, ops}: the recorded entries
 * cache/layers/.staging-*  .trash-*        in-flight extraction or crash leftovers (doctor --fix removes them)
 * ```
 *
 * A snapshot appears only by renaming a complete staging dir (layer.json written inside it first), so a present
 * `sha256-*` dir with a valid layer.json is complete. Nothing ever writes to a snapshot after that rename: a
 * composed rootfs links its inodes, and the unpacker replaces (unlinks) any entry it changes. Removing a snapshot
 * never breaks a rootfs composed from it (the rootfs holds its own links); it only stops reuse.
 */
import { onInterrupt } from "../interrupt.ts";
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { type Digest, digestToDirName, isDigest } from "../oci/digest.ts";
import { applyLayer, type LayerOp, type SnapshotSource } from "../unpack/extract.ts";
import type { LayerLimits } from "../unpack/rules.ts";
import {
  type BlobWatch,
  extractInWorker,
  type ExtractionWorkers,
  type WorkerRecord,
  type WorkerRequest,
} from "../unpack/worker_extract.ts";
import { crashPoint } from "../crash_points.ts";
import {
  ioError,
  isLeftoverName,
  removeTree,
  removeTreeRetrying,
  renameIntoPlace,
  STAGING_PREFIX,
  trashAndRemove,
  writeJsonAtomic,
} from "../fs.ts";

const SCHEMA_VERSION = 1;
/** The recorded entries of a snapshot. */
export const LAYER_FILE = "layer.json";
/** The extracted files of a snapshot. */
export const TREE_DIR = "tree";

/** A complete snapshot. */
export interface LayerSnapshot extends SnapshotSource {
  readonly digest: Digest;
  readonly dir: string;
  /** Entries of the layer tar. */
  readonly entries: number;
  /** Regular-file bytes of the layer. */
  readonly bytes: number;
}

/** A directory found under cache/layers/. */
export interface SnapshotEntry {
  readonly name: string;
  readonly path: string;
  /** The layer digest for `sha256-*` dirs. */
  readonly digest?: Digest;
  /** A `.staging-*`/`.trash-*`/`.tmp-*` leftover. */
  readonly leftover: boolean;
}

/** Options for {@linkcode LayerStore.extract}. */
export interface ExtractSnapshotOptions {
  readonly label?: string;
  readonly signal?: AbortSignal;
  readonly limits?: Partial<LayerLimits>;
  /**
   * Extract in a Deno Worker instead of from the `tar` stream (`tar` is not called; see unpack/worker_extract.ts):
   * from the verified blob file `blobPath`, or with `watch` from the blob being written there. `pool` reuses
   * started workers (default: one worker for this extraction).
   */
  readonly worker?: {
    readonly blobPath: string;
    readonly mediaType: string;
    readonly watch?: BlobWatch;
    readonly pool?: ExtractionWorkers;
    /** Bytes of the blob read so far, as they are read. */
    readonly onProgress?: (bytes: number) => void;
  };
  /**
   * Awaited after the tree is complete and before it is published: a tar read from a blob still downloading
   * must not become a snapshot until that blob's digest is confirmed (a rejection discards the staging).
   */
  readonly beforePublish?: () => Promise<unknown>;
}

/** The snapshot store API (see the module comment). */
export interface LayerStore {
  readonly dir: string;
  /** The complete snapshot of `digest`, or undefined (absent, or damaged: then it is re-extracted). */
  load(digest: Digest): Promise<LayerSnapshot | undefined>;
  /** Extracts `tar` (the uncompressed layer) into a new snapshot; returns the existing one when present. */
  extract(
    digest: Digest,
    tar: () => Promise<ReadableStream<Uint8Array>>,
    options?: ExtractSnapshotOptions,
  ): Promise<
    LayerSnapshot
  >;
  /** Every directory under cache/layers/. */
  list(): Promise<SnapshotEntry[]>;
  /** Removes one snapshot (renamed to `.trash-*` first). Call it holding the store lock. */
  remove(digest: Digest): Promise<void>;
}

/**
 * A file op's size, sha256 and mode end up in files.json: one that could not describe a file (a malformed hash,
 * a negative size, a mode beyond the permission bits) means a damaged snapshot, which is re-extracted.
 */
function isSoundFileOp(op: unknown[]): boolean {
  const [, , size, sha256, mode] = op;
  if (!(Number.isSafeInteger(size) && (size as number) >= 0)) return false;
  if (sha256 !== undefined && !(typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256))) return false;
  return mode === undefined || (Number.isInteger(mode) && (mode as number) >= 0 && (mode as number) <= 0o777);
}

function parseSnapshot(text: string, digest: Digest, dir: string): LayerSnapshot | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.schema_version === "number" && v.schema_version > SCHEMA_VERSION) {
    throw new DropzoneError(
      "CONFIG_VERSION",
      `Cannot read layer snapshot "${dir}": schema ${v.schema_version}`,
      {
        hint: "Upgrade dz, or delete the dz cache/layers directory",
      },
    );
  }
  if (v.digest !== digest || !Array.isArray(v.ops) || typeof v.entries !== "number") return undefined;
  if (typeof v.bytes !== "number") return undefined;
  for (const op of v.ops) {
    if (!Array.isArray(op) || typeof op[1] !== "string" || !"dfxshw".includes(String(op[0]))) {
      return undefined;
    }
    if (op[0] === "f" && !isSoundFileOp(op)) return undefined;
  }
  return {
    digest,
    dir,
    tree: join(dir, TREE_DIR),
    ops: v.ops as LayerOp[],
    entries: v.entries,
    bytes: v.bytes,
  };
}

/** Extracts on this thread (the default): applyLayer recording into `tree`. */
async function extractHere(
  tar: ReadableStream<Uint8Array>,
  tree: string,
  options: ExtractSnapshotOptions,
): Promise<{ ops: LayerOp[]; entries: number; bytes: number; dirs: Iterable<string> }> {
  const record = { ops: [] as LayerOp[] };
  const state = await applyLayer(tar, tree, {
    record,
    ...(options.label !== undefined ? { label: options.label } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
  });
  return { ops: record.ops, entries: state.entries, bytes: state.bytes, dirs: state.dirs };
}

/** Extracts in a worker of `worker.pool`, or of its own. */
async function extractElsewhere(
  worker: NonNullable<ExtractSnapshotOptions["worker"]>,
  tree: string,
  options: ExtractSnapshotOptions,
): Promise<WorkerRecord> {
  const { watch, pool, onProgress } = worker;
  const request: WorkerRequest = {
    blobPath: worker.blobPath,
    mediaType: worker.mediaType,
    tree,
    ...(options.label !== undefined ? { label: options.label } : {}),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
    ...(watch !== undefined ? { follow: { finalPath: watch.finalPath, size: watch.size } } : {}),
  };
  const extractOptions = {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(watch !== undefined ? { watch } : {}),
    ...(onProgress !== undefined ? { onProgress } : {}),
  };
  return pool !== undefined
    ? await pool.extract(request, extractOptions)
    : await extractInWorker(request, extractOptions);
}

/** Sets every directory of a finished tree to 0555 (deepest first does not matter for chmod). */
async function sealTree(tree: string, dirs: Iterable<string>): Promise<void> {
  for (const rel of dirs) await Deno.chmod(join(tree, rel), 0o555);
  await Deno.chmod(tree, 0o555);
}

/** Opens the snapshot store rooted at `dir` (`layout.layers`); nothing is created until an extraction. */
export function openLayerStore(dir: string): LayerStore {
  const pathOf = (digest: Digest) => join(dir, digestToDirName(digest));
  async function load(digest: Digest): Promise<LayerSnapshot | undefined> {
    const path = pathOf(digest);
    let text: string;
    try {
      text = await Deno.readTextFile(join(path, LAYER_FILE));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return undefined;
      throw ioError("read", join(path, LAYER_FILE), err);
    }
    return parseSnapshot(text, digest, path);
  }
  return {
    dir,
    load,
    async extract(digest, openTar, options = {}) {
      const existing = await load(digest);
      if (existing !== undefined) return existing;
      await Deno.mkdir(dir, { recursive: true }).catch((err) => {
        throw ioError("create", dir, err);
      });
      const staging = await Deno.makeTempDir({ dir, prefix: STAGING_PREFIX }).catch((err) => {
        throw ioError("create a staging directory in", dir, err);
      });
      // Retrying: a worker stopped by the interrupt may still finish a file operation in the tree.
      using _cleanup = onInterrupt(() => removeTreeRetrying(staging));
      try {
        const tree = join(staging, TREE_DIR);
        await Deno.mkdir(tree, { mode: 0o700 });
        const record = options.worker !== undefined
          ? await extractElsewhere(options.worker, tree, options)
          : await extractHere(await openTar(), tree, options);
        await options.beforePublish?.();
        await sealTree(tree, record.dirs);
        const snapshot = {
          schema_version: SCHEMA_VERSION,
          digest,
          entries: record.entries,
          bytes: record.bytes,
        };
        await writeJsonAtomic(join(staging, LAYER_FILE), { ...snapshot, ops: record.ops });
        await crashPoint("snapshot:before-rename");
        const target = pathOf(digest);
        // A damaged snapshot (no valid layer.json) is replaced; a complete one never is.
        if (await Deno.lstat(target).then(() => true, () => false)) await trashAndRemove(target);
        await renameIntoPlace(staging, target);
        return {
          digest,
          dir: target,
          tree: join(target, TREE_DIR),
          ops: record.ops,
          entries: record.entries,
          bytes: record.bytes,
        };
      } finally {
        await removeTree(staging).catch(() => {});
      }
    },
    async list() {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return [];
        throw ioError("read", dir, err);
      }
      return entries.map((e): SnapshotEntry => {
        const path = join(dir, e.name);
        const digest = e.name.startsWith("sha256-") ? `sha256:${e.name.slice(7)}` : "";
        if (isDigest(digest)) return { name: e.name, path, digest, leftover: false };
        return { name: e.name, path, leftover: isLeftoverName(e.name) };
      }).sort((a, b) => a.name.localeCompare(b.name));
    },
    async remove(digest) {
      await trashAndRemove(pathOf(digest));
    },
  };
}

/** Bytes of a tree's regular files, counting each inode once, split into inodes only it links and shared ones. */
export interface TreeUsage {
  /** Bytes of inodes whose every link is inside the tree. */
  readonly own: number;
  /** Bytes of inodes also linked from elsewhere (a layer snapshot, another version or package). */
  readonly shared: number;
}

/** Walks `root` (not following symlinks) and splits its file bytes into own and shared (see TreeUsage). */
export async function treeUsage(root: string): Promise<TreeUsage> {
  const seen = new Map<number, { size: number; nlink: number; count: number }>();
  let own = 0;
  let shared = 0;
  async function walk(dir: string): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) return;
      throw ioError("read", dir, err);
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        await walk(path);
        continue;
      }
      if (!entry.isFile) continue;
      const info = await Deno.lstat(path);
      if (info.ino === null || info.nlink === null) {
        own += info.size;
        continue;
      }
      const known = seen.get(info.ino);
      if (known === undefined) seen.set(info.ino, { size: info.size, nlink: info.nlink, count: 1 });
      else known.count++;
    }
  }
  await walk(root);
  for (const { size, nlink, count } of seen.values()) {
    if (nlink > count) shared += size;
    else own += size;
  }
  return { own, shared };
}

/** Result of {@linkcode gcSnapshots}. */
export interface SnapshotGcResult {
  readonly removed: Digest[];
  /** Bytes of files only the removed snapshots held (files also linked into a rootfs stay on disk). */
  readonly bytesFreed: number;
}

/**
 * Removes the snapshots whose layer no installed version references (with `dryRun`, only reports them). A
 * rootfs composed from a removed snapshot keeps working: it holds its own links. Call it holding the store lock.
 */
export async function gcSnapshots(
  store: LayerStore,
  referenced: ReadonlySet<Digest>,
  options: { dryRun?: boolean } = {},
): Promise<SnapshotGcResult> {
  const removed: Digest[] = [];
  let bytesFreed = 0;
  for (const entry of await store.list()) {
    if (entry.digest === undefined || referenced.has(entry.digest)) continue;
    bytesFreed += (await treeUsage(entry.path)).own;
    if (!options.dryRun) await store.remove(entry.digest);
    removed.push(entry.digest);
  }
  return { removed, bytesFreed };
}
