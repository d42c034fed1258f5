/**
 * `files.json` next to a version's metadata.json: the sha256, size and mode of every regular file of its rootfs,
 * recorded when the rootfs is composed. `dz verify NAME --files` and `dz run`'s reuse of a cached tree compare the
 * tree on disk with it, like `rpm -V`.
 *
 * ```json
 * { "schema_version": 1, "files": [{ "path": "usr/bin/jq", "sha256": "<hex>", "size": 1234, "mode": 493 }] }
 * ```
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { WrittenFile } from "../unpack/engine.ts";
import type { KnownFile } from "../unpack/compose.ts";
import { eventLoopTurns } from "../event_loop.ts";
import { ioError, readTextIfExists, writeJsonAtomic } from "../fs.ts";

/** One regular file of a rootfs: `path` relative to it, hex `sha256`, `size`, permission bits `mode`. */
export type UnpackedFile = WrittenFile;

/** Name of the manifest inside a version directory (and a `dz run` cache directory). */
export const FILES_FILE = "files.json";

const SCHEMA_VERSION = 1;

/** Writes `dir/files.json`. */
export async function writeFileManifest(dir: string, files: readonly UnpackedFile[]): Promise<void> {
  await writeJsonAtomic(join(dir, FILES_FILE), { schema_version: SCHEMA_VERSION, files });
}

/** Reads `dir/files.json`; undefined when there is none (unpacked by a dz before manifests existed). */
export async function readFileManifest(dir: string): Promise<UnpackedFile[] | undefined> {
  const path = join(dir, FILES_FILE);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  let doc: { schema_version?: unknown; files?: unknown };
  try {
    doc = JSON.parse(text);
  } catch {
    throw new DropzoneError("IO", `Cannot read the file manifest "${path}": it is not valid JSON`, {
      hint: "Reinstall the package to record it again",
    });
  }
  if (doc.schema_version !== SCHEMA_VERSION || !Array.isArray(doc.files)) {
    throw new DropzoneError("IO", `Cannot read the file manifest "${path}": unknown format`, {
      hint: "Reinstall the package to record it again",
    });
  }
  return doc.files as UnpackedFile[];
}

/** Why a recorded file no longer matches. */
export type FileChange = "content" | "size" | "mode" | "type";

/** The result of {@linkcode checkFiles}. */
export interface FileCheck {
  /** Recorded files that differ, with what differs. */
  readonly modified: { readonly path: string; readonly changes: FileChange[] }[];
  /** Recorded files that are gone. */
  readonly missing: string[];
  /** Regular files on disk that were not recorded. */
  readonly extra: string[];
  /** Recorded files dz could not read (mode 0000 when not running as root): not checked. */
  readonly unreadable: string[];
  /** Number of recorded files. */
  readonly checked: number;
}

/** True when the tree matches its manifest (unreadable files aside). */
export function isIntact(check: FileCheck): boolean {
  return check.modified.length === 0 && check.missing.length === 0 && check.extra.length === 0;
}

/**
 * The regular files under `root` (relative paths), not following symlinks. The walk uses sync readDir, several
 * times cheaper than the async op for a tree of 20,000 files, and yields to the event loop between batches.
 */
async function regularFiles(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  using turns = eventLoopTurns();
  const pending = [""];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const dir = rel === "" ? root : join(root, rel);
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) continue;
      throw ioError("read", dir, err);
    }
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) pending.push(path);
      else if (e.isFile) out.add(path);
    }
    if (turns.due()) await turns.next();
  }
  return out;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Compares the tree under `rootfs` with `files`: sizes and modes from lstat, content by sha256. */
export async function checkFiles(rootfs: string, files: readonly UnpackedFile[]): Promise<FileCheck> {
  const onDisk = await regularFiles(rootfs);
  const result: FileCheck = { modified: [], missing: [], extra: [], unreadable: [], checked: files.length };
  for (const f of files) {
    onDisk.delete(f.path);
    const path = join(rootfs, f.path);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        result.missing.push(f.path);
        continue;
      }
      throw ioError("read", path, err);
    }
    if (!info.isFile) {
      result.modified.push({ path: f.path, changes: ["type"] });
      continue;
    }
    const changes: FileChange[] = [];
    if (info.size !== f.size) changes.push("size");
    if (info.mode !== null && (info.mode & 0o777) !== f.mode) changes.push("mode");
    if (info.size === f.size) {
      try {
        if ((await sha256File(path)) !== f.sha256) changes.push("content");
      } catch (err) {
        if (!(err instanceof Deno.errors.PermissionDenied)) throw ioError("read", path, err);
        result.unreadable.push(f.path);
      }
    }
    if (changes.length > 0) result.modified.push({ path: f.path, changes });
  }
  result.extra.push(...[...onDisk].sort());
  return result;
}

/** Files hashed at once while recording a manifest (one at a time leaves the disk idle). */
const MANIFEST_WINDOW = 16;

/**
 * The manifest of a freshly composed rootfs: every regular file with its sha256, size and mode. `known` holds what
 * the layer snapshots recorded when they were extracted (from the verified layer stream), by path: those files
 * are not read again (nor stat-ed, when the snapshot recorded size and mode); the others are hashed (their bytes
 * come from the page cache).
 */
export async function manifestOfTree(
  rootfs: string,
  known: ReadonlyMap<string, KnownFile> = new Map(),
): Promise<UnpackedFile[]> {
  const paths = [...await regularFiles(rootfs)].sort();
  const out: UnpackedFile[] = new Array(paths.length);
  const toHash: number[] = [];
  {
    // Known files without a recorded size and mode need a sync lstat each (see regularFiles), in batches.
    using turns = eventLoopTurns();
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const recorded = known.get(path);
      if (recorded === undefined) {
        toHash.push(i);
        continue;
      }
      const { sha256, size, mode } = recorded;
      if (size !== undefined && mode !== undefined) {
        out[i] = { path, sha256, size, mode };
        continue;
      }
      const abs = join(rootfs, path);
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(abs);
      } catch (err) {
        throw ioError("read", abs, err);
      }
      out[i] = { path, sha256, size: info.size, mode: (info.mode ?? 0) & 0o777 };
      if (turns.due()) await turns.next();
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < toHash.length) {
      const i = toHash[next++]!;
      out[i] = await manifestEntry(rootfs, paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(MANIFEST_WINDOW, toHash.length) }, worker));
  return out;
}

/** A file no snapshot recorded: hashed from disk. */
async function manifestEntry(rootfs: string, path: string): Promise<UnpackedFile> {
  const abs = join(rootfs, path);
  const info = await Deno.lstat(abs);
  let sha256: string;
  {
    try {
      sha256 = await sha256File(abs);
    } catch (err) {
      if (!(err instanceof Deno.errors.PermissionDenied)) throw ioError("read", abs, err);
      // A 0000 file as non-root: readable for a moment to hash it, then back.
      await Deno.chmod(abs, 0o400);
      try {
        sha256 = await sha256File(abs);
      } finally {
        await Deno.chmod(abs, (info.mode ?? 0) & 0o7777);
      }
    }
  }
  return { path, sha256, size: info.size, mode: (info.mode ?? 0) & 0o777 };
}
