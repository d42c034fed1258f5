/** Helpers shared by the unpack tests: temp dirs, applying raw tars, and a comparable snapshot of a tree. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Digest } from "../../src/oci/digest.ts";
import { removeTree } from "../../src/fs.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { openLayerStore } from "../../src/store/layer_store.ts";
import {
  applyLayer,
  applySnapshot,
  createRootfsState,
  finalizeRootfs,
  type KnownFiles,
  type RootfsState,
} from "../../src/unpack/extract.ts";
import { buildTar, type RawEntry, streamOf } from "./tar_writer.ts";

/** A temp directory removed (even with 0555/0000 dirs inside) when disposed. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Creates a temp directory. */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "dz-unpack-test-" });
  return { path, [Symbol.asyncDispose]: () => removeTree(path) };
}

/** The digest a test uses for an uncompressed layer tar. */
export function tarDigest(tar: Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(tar).digest("hex")}`;
}

/**
 * Composes `rootfs` as dz installs do: each tar extracted once into the snapshot store at `storeDir` (reused
 * when already there), then replayed in order with hard links, then finalized.
 */
export async function composeLayers(
  rootfs: string,
  tars: readonly Uint8Array[],
  storeDir: string,
  options: { chunkSize?: number; finalize?: boolean; known?: KnownFiles; worker?: boolean } = {},
): Promise<RootfsState> {
  const store = openLayerStore(storeDir);
  const snapshots = [];
  for (const tar of tars) {
    // The Workers path reads the layer from a blob file (outside the tested tree), as the blob cache holds it.
    const blob = options.worker ? await Deno.makeTempFile({ prefix: "dz-worker-blob-" }) : undefined;
    try {
      if (blob !== undefined) await Deno.writeFile(blob, tar);
      snapshots.push(
        await store.extract(
          tarDigest(tar),
          () => Promise.resolve(streamOf(tar, options.chunkSize)),
          blob === undefined ? {} : { worker: { blobPath: blob, mediaType: MEDIA_TYPES.OCI_LAYER } },
        ),
      );
    } finally {
      if (blob !== undefined) await Deno.remove(blob);
    }
  }
  await Deno.mkdir(rootfs, { recursive: true });
  const state = createRootfsState();
  for (const snapshot of snapshots) {
    await applySnapshot(snapshot, rootfs, { state, ...(options.known ? { known: options.known } : {}) });
  }
  if (options.finalize ?? true) await finalizeRootfs(rootfs, state);
  return state;
}

/** A snapshot with inode numbers replaced by hardlink groups, so two trees can be compared. */
export function comparableTree(tree: Map<string, NodeInfo>): { nodes: object; groups: string[][] } {
  const nodes: Record<string, NodeInfo> = {};
  const byInode = new Map<number, string[]>();
  for (const [path, { ino, ...rest }] of tree) {
    nodes[path] = rest;
    if (ino !== undefined) byInode.set(ino, [...(byInode.get(ino) ?? []), path]);
  }
  const groups = [...byInode.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort();
  return { nodes, groups };
}

function errorCode(err: unknown): string {
  return err === undefined ? "ok" : (err as { code?: string }).code ?? String(err);
}

/**
 * Applies each tar (given as raw entries) as one layer, in order, then finalizes. Every call is also a
 * differential test of the snapshot store: the same layers composed from snapshots must give the same tree
 * (paths, types, modes, contents, link targets, hardlink groups), or fail with the same error code.
 */
export async function applyLayers(
  rootfs: string,
  layers: ReadonlyArray<ReadonlyArray<RawEntry | RawEntry[]>>,
  options: { chunkSize?: number; finalize?: boolean } = {},
): Promise<RootfsState> {
  const tars = layers.map((entries) => buildTar(entries));
  const state = createRootfsState();
  let failure: unknown;
  try {
    for (const tar of tars) await applyLayer(streamOf(tar, options.chunkSize), rootfs, { state });
    if (options.finalize ?? true) await finalizeRootfs(rootfs, state);
  } catch (err) {
    failure = err;
  }
  await using work = await tempDir();
  const composed = `${work.path}/rootfs`;
  let composedFailure: unknown;
  try {
    await composeLayers(composed, tars, `${work.path}/layers`, options);
  } catch (err) {
    composedFailure = err;
  }
  assert.equal(errorCode(composedFailure), errorCode(failure), "composed from snapshots: same outcome");
  if (failure !== undefined) throw failure;
  if (options.finalize ?? true) {
    assert.deepEqual(
      comparableTree(await snapshot(composed)),
      comparableTree(await snapshot(rootfs)),
      "composed from snapshots: same tree",
    );
  }
  return state;
}

/** One node of a tree snapshot. */
export interface NodeInfo {
  readonly type: "file" | "dir" | "symlink" | "other";
  readonly mode?: number;
  readonly content?: string;
  readonly target?: string;
  readonly ino?: number;
}

/** Snapshot of every path under `root` (relative), without following symlinks. */
export async function snapshot(root: string): Promise<Map<string, NodeInfo>> {
  const out = new Map<string, NodeInfo>();
  async function walk(dir: string, rel: string): Promise<void> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    names.sort();
    for (const name of names) {
      const path = `${dir}/${name}`;
      const r = rel === "" ? name : `${rel}/${name}`;
      const info = await Deno.lstat(path);
      const mode = (info.mode ?? 0) & 0o7777;
      if (info.isSymlink) {
        out.set(r, { type: "symlink", target: await Deno.readLink(path) });
      } else if (info.isDirectory) {
        out.set(r, { type: "dir", mode });
        // Root can always read; a non-root run needs owner r-x for the walk, restored afterwards.
        if ((mode & 0o500) !== 0o500) await Deno.chmod(path, mode | 0o700);
        await walk(path, r);
        if ((mode & 0o500) !== 0o500) await Deno.chmod(path, mode);
      } else if (info.isFile) {
        const bytes = await readAnyFile(path, mode);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        const content = bytes.length <= 64
          ? new TextDecoder().decode(bytes)
          : `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
        out.set(r, { type: "file", mode, content, ino: info.ino ?? 0 });
      } else {
        out.set(r, { type: "other" });
      }
    }
  }
  await walk(root, "");
  return out;
}

/** Reads a file even when its mode is 0000 (as a non-root owner), restoring the mode. */
export async function readAnyFile(path: string, mode?: number): Promise<Uint8Array<ArrayBuffer>> {
  const current = mode ?? ((await Deno.lstat(path)).mode ?? 0) & 0o7777;
  if ((current & 0o400) !== 0) return await Deno.readFile(path);
  await Deno.chmod(path, current | 0o400);
  try {
    return await Deno.readFile(path);
  } finally {
    await Deno.chmod(path, current);
  }
}

/** Paths in a snapshot, sorted. */
export function paths(tree: Map<string, NodeInfo>): string[] {
  return [...tree.keys()].sort();
}

/** Reads a text file, whatever its mode. */
export async function readText(path: string): Promise<string> {
  return new TextDecoder().decode(await readAnyFile(path));
}

/** True when `path` exists (without following a final symlink). */
export { exists } from "../../src/fs.ts";
