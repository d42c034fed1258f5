/**
 * Plain file operations for the layers above (app/ does no direct Deno I/O): create, list, stat, chmod, rename
 * and read, each failure an I/O error naming its path. Crash-safe state changes (atomic writes, staging, tree
 * removal) are in fs.ts.
 */
import { join } from "node:path";
import { ioError, removeIfPresent, writeAll } from "./fs.ts";

/**
 * The entries of `dir` sorted by name, or none when it does not exist or is not a directory (a reader that
 * reports on a damaged home must not fail on the damage it reports).
 */
export async function readDirSortedOrEmpty(dir: string): Promise<Deno.DirEntry[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return [];
    throw ioError("read", dir, err);
  }
}

/**
 * The text of `path` when it is a regular file, or undefined when it is missing or something else (a symlink is
 * not followed, a directory or device is not read).
 */
export async function readRegularFileText(path: string): Promise<string | undefined> {
  try {
    if (!(await Deno.lstat(path)).isFile) return undefined;
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw ioError("read", path, err);
  }
}

/** The mode bits of `path` when it is a regular file (not followed if a symlink), or undefined otherwise. */
export async function regularFileMode(path: string): Promise<number | undefined> {
  try {
    const info = await Deno.lstat(path);
    return info.isFile && info.mode !== null ? info.mode : undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw ioError("read", path, err);
  }
}

/** Runs one file operation; its failure becomes an I/O error naming `action` and `path`. */
async function io<T>(action: string, path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw ioError(action, path, err);
  }
}

/** Options for {@linkcode writeNewFile}. */
export interface WriteNewFileOptions {
  /** File mode, applied with chmod after writing so the umask cannot change it. @default {0o644} */
  readonly mode?: number;
}

/**
 * Writes `data` (bytes, text or a stream) to a new file at `path`; an existing entry there is refused, never
 * overwritten. Not atomic and not fsynced: for files inside a staging directory that is committed (or
 * synced) as a whole. On failure the partial file is removed.
 */
export async function writeNewFile(
  path: string,
  data: Uint8Array | string | ReadableStream<Uint8Array>,
  options: WriteNewFileOptions = {},
): Promise<void> {
  const { mode = 0o644 } = options;
  let file: Deno.FsFile | undefined = await createNewFile(path, { mode });
  try {
    if (data instanceof ReadableStream) {
      const out = file;
      file = undefined;
      // pipeTo closes the file, also when the stream fails.
      await data.pipeTo(out.writable);
    } else {
      await writeAll(file, typeof data === "string" ? new TextEncoder().encode(data) : data);
      file.close();
      file = undefined;
    }
    await Deno.chmod(path, mode);
  } catch (err) {
    try {
      file?.close();
    } catch { /* already closed */ }
    await removeIfPresent(path).catch(() => undefined);
    throw ioError("write", path, err);
  }
}

/** Creates directory `path` (and its parents with `recursive`); an existing directory is fine only then. */
export async function makeDir(
  path: string,
  options: { readonly recursive?: boolean; readonly mode?: number } = {},
): Promise<void> {
  const { recursive = false, mode } = options;
  await io("create", path, () => Deno.mkdir(path, mode === undefined ? { recursive } : { recursive, mode }));
}

/** Sets the permission bits of `path` (symlinks are followed, as chmod does). */
export async function setMode(path: string, mode: number): Promise<void> {
  await io("change the mode of", path, () => Deno.chmod(path, mode));
}

/** The lstat of `path` (a symlink is not followed), or null when nothing is there. */
export async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw ioError("read", path, err);
  }
}

/**
 * The names in directory `dir`, or null when it does not exist, or "not-a-directory" when `dir` is something
 * else (callers word that refusal for their own argument).
 */
export async function listDir(dir: string): Promise<string[] | null | "not-a-directory"> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    if (err instanceof Deno.errors.NotADirectory) return "not-a-directory";
    throw ioError("read", dir, err);
  }
}

/** Renames `from` to `to` (same filesystem), replacing a file or an empty directory there; no fsync. */
export async function rename(from: string, to: string): Promise<void> {
  await io("move into place", to, () => Deno.rename(from, to));
}

/** Removes `path` if it is an empty directory (or a file); keeps a non-empty directory. Never fails. */
export async function removeIfEmpty(path: string): Promise<boolean> {
  try {
    // Deno.remove without `recursive` refuses a non-empty directory, which is exactly the guard wanted here.
    await Deno.remove(path);
    return true;
  } catch {
    return false;
  }
}

/** A regular file found by {@linkcode listRegularFiles}: its path relative to the root, and its mode bits. */
export interface RegularFile {
  readonly path: string;
  readonly mode: number;
}

/**
 * The regular files below `root` (symlinks are never followed), sorted by path, at most `limit` of them.
 * Paths are relative to `root` with `/` separators.
 */
export async function listRegularFiles(root: string, limit = Infinity): Promise<RegularFile[]> {
  const out: RegularFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await io("read", dir, () => Array.fromAsync(Deno.readDir(dir)));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory) await walk(full, rel);
      else if (entry.isFile) {
        if (out.length >= limit) return;
        const info = await io("read", full, () => Deno.lstat(full));
        out.push({ path: rel, mode: info.mode ?? 0 });
      }
    }
  };
  await walk(root, "");
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Opens a new file at `path` for writing (an existing entry is refused); the caller closes it or pipes into it. */
export async function createNewFile(path: string, options: WriteNewFileOptions = {}): Promise<Deno.FsFile> {
  return await io(
    "create",
    path,
    () => Deno.open(path, { write: true, createNew: true, mode: options.mode ?? 0o644 }),
  );
}

/** Opens `path` for reading, or returns undefined when it does not exist. */
export async function openIfExists(path: string): Promise<Deno.FsFile | undefined> {
  try {
    return await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw ioError("open", path, err);
  }
}

/** Removes the file (or empty directory) at `path`; a missing one is fine, and so is any failure (best effort). */
export async function removeFileQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => undefined);
}
