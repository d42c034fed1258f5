/**
 * Path resolution INSIDE an unpacked rootfs (I/O). Symlinks are followed by hand, component by component, so
 * an absolute target such as `/lib64 -> /usr/lib64` means the rootfs's /usr/lib64, never the host's.
 */
import { join } from "node:path";
import { type BinaryFormat, detectBinaryFormat, MAX_HEADER_BYTES } from "./binary_format.ts";

/** Linux's limit on symlink hops (MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

/** The PATH a container gets when its image sets none. */
export const DEFAULT_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Why a path could not be resolved inside the rootfs. */
export type RootfsPathFailure = "not-found" | "escape" | "loop" | "not-a-directory";

/** A path that does not resolve inside a rootfs. */
export class RootfsPathError extends Error {
  readonly reason: RootfsPathFailure;
  readonly path: string;

  constructor(reason: RootfsPathFailure, path: string, detail: string) {
    super(detail);
    this.name = "RootfsPathError";
    this.reason = reason;
    this.path = path;
  }
}

/** The result of resolving a path inside a rootfs. */
export interface RootfsEntry {
  /** Rootfs-absolute real path with every symlink resolved, e.g. `/usr/bin/busybox`. */
  readonly path: string;
  readonly info: Deno.FileInfo;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((c) => c.length > 0 && c !== ".");
}

/** Joins rootfs-absolute components into `/a/b`. */
function toAbsolute(parts: readonly string[]): string {
  return "/" + parts.join("/");
}

/**
 * Resolves `path` (rootfs-absolute, or relative to `/`) inside `rootfs`, following every symlink
 * including intermediate directories. Absolute link targets restart at the rootfs root; relative ones
 * resolve against the link's directory. `..` above the root and more than 40 hops are refused.
 */
export async function resolveInRootfs(rootfs: string, path: string): Promise<RootfsEntry> {
  const pending = splitPath(path);
  const done: string[] = [];
  let hops = 0;
  let info: Deno.FileInfo | undefined;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      if (done.length === 0) {
        throw new RootfsPathError("escape", path, `path "${path}" escapes the image root`);
      }
      done.pop();
      info = undefined;
      continue;
    }
    if (info !== undefined && !info.isDirectory) {
      throw new RootfsPathError("not-a-directory", path, `"${toAbsolute(done)}" is not a directory`);
    }
    const host = join(rootfs, ...done, part);
    try {
      info = await Deno.lstat(host);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new RootfsPathError("not-found", path, `"${toAbsolute([...done, part])}" does not exist`);
      }
      if (err instanceof Deno.errors.NotADirectory) {
        throw new RootfsPathError("not-a-directory", path, `"${toAbsolute(done)}" is not a directory`);
      }
      throw err;
    }
    if (!info.isSymlink) {
      done.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) {
      throw new RootfsPathError("loop", path, `too many levels of symbolic links resolving "${path}"`);
    }
    const target = await Deno.readLink(host);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...splitPath(target));
    // The directory we are now in is a directory by construction.
    info = done.length === 0 ? await Deno.lstat(rootfs) : await Deno.lstat(join(rootfs, ...done));
  }
  return { path: toAbsolute(done), info: info ?? await Deno.stat(rootfs) };
}

/** Like {@linkcode resolveInRootfs}, but returns null when the path does not exist (other failures throw). */
export async function tryResolveInRootfs(rootfs: string, path: string): Promise<RootfsEntry | null> {
  try {
    return await resolveInRootfs(rootfs, path);
  } catch (err) {
    if (err instanceof RootfsPathError && (err.reason === "not-found" || err.reason === "not-a-directory")) {
      return null;
    }
    throw err;
  }
}

/**
 * True when the host kernel, following `rootfs + path` on its own, reaches the same file as resolution
 * inside the rootfs (no absolute symlink on the way). Only such paths may be handed to exec or the loader
 * unresolved.
 */
export async function isHostSafe(rootfs: string, path: string, resolved: string): Promise<boolean> {
  try {
    const [viaHost, viaRoot] = await Promise.all([
      Deno.realPath(join(rootfs, path)),
      Deno.realPath(join(rootfs, resolved)),
    ]);
    return viaHost === viaRoot;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The image's PATH from its Env, or Docker's default. */
export function imagePath(env: readonly string[] | null | undefined): string {
  for (const entry of env ?? []) {
    if (entry.startsWith("PATH=")) return entry.slice(5);
  }
  return DEFAULT_IMAGE_PATH;
}

/** A command found inside a rootfs. */
export interface ResolvedCommand {
  /** The rootfs-absolute path as named (before symlinks), e.g. `/bin/sh`. */
  readonly path: string;
  /** The rootfs-absolute real path. */
  readonly resolved: string;
  readonly info: Deno.FileInfo;
}

function isExecutableFile(info: Deno.FileInfo): boolean {
  return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
}

/**
 * Resolves a command like the container runtime would: a name with a slash is a path (relative ones
 * against `workingDir`), a bare name is searched in `searchPath` (the image's PATH). Returns null when
 * nothing matches.
 */
export async function resolveCommand(
  rootfs: string,
  command: string,
  searchPath: string = DEFAULT_IMAGE_PATH,
  workingDir = "/",
): Promise<ResolvedCommand | null> {
  if (command.length === 0) return null;
  if (command.includes("/")) {
    const path = command.startsWith("/")
      ? command
      : toAbsolute([...splitPath(workingDir), ...splitPath(command)]);
    const entry = await tryResolveInRootfs(rootfs, path);
    if (entry === null || !entry.info.isFile) return null;
    return { path: toAbsolute(splitPath(path)), resolved: entry.path, info: entry.info };
  }
  for (const dir of searchPath.split(":")) {
    if (!dir.startsWith("/")) continue;
    const path = toAbsolute([...splitPath(dir), command]);
    let entry: RootfsEntry | null;
    try {
      entry = await tryResolveInRootfs(rootfs, path);
    } catch (err) {
      if (err instanceof RootfsPathError) continue;
      throw err;
    }
    if (entry !== null && isExecutableFile(entry.info)) {
      return { path, resolved: entry.path, info: entry.info };
    }
  }
  return null;
}

/** Reads enough of `path` to detect its format (prefix first, more only when headers need it). */
export async function readBinaryFormat(path: string): Promise<BinaryFormat> {
  using file = await Deno.open(path, { read: true });
  let want = 64 * 1024;
  for (let attempt = 0; attempt < 3; attempt++) {
    const buf = new Uint8Array(want);
    let filled = 0;
    await file.seek(0, Deno.SeekMode.Start);
    while (filled < want) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    const format = detectBinaryFormat(buf.subarray(0, filled));
    if (format.kind !== "truncated" || filled < want) {
      return format.kind === "truncated" ? { kind: "unknown" } : format;
    }
    want = Math.min(Math.max(format.needBytes, want * 2), MAX_HEADER_BYTES);
  }
  return { kind: "unknown" };
}
