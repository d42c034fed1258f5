/**
 * The write pipeline that applies OCI layers onto a rootfs directory (whiteouts, opaque directories, hardlinks,
 * symlinks) without ever writing outside it: from a layer tar ({@linkcode applyLayer}), or from a layer's recorded
 * snapshot, hard-linking its files ({@linkcode applySnapshot}). The path and whiteout rules are in rules.ts.
 *
 * Containment strategy (the Go dropzone only checked paths lexically, see dropzone-go-anchor.md §11.18):
 * - Entry names are cleaned lexically (rules.ts); a `..` that climbs above the root is UNSAFE_LAYER.
 * - Symlinks are never followed while extracting. Every parent component of an entry, of a whiteout and of a
 *   hardlink target is checked with lstat (cached per rootfs); a parent that is a symlink or a non-directory
 *   fails with UNSAFE_LAYER. Layer builders (docker, buildkit, apko, ko) walk a real filesystem, so they never
 *   emit such names; refusing them makes writes through `a -> /` or `a -> ..` impossible by construction, where
 *   securejoin-style resolution would silently redirect them.
 * - The final component is never opened through a symlink: files are created with O_EXCL (`createNew`) or
 *   link(2), and an existing path of any type is removed first (unlinking also breaks hardlink sharing, so
 *   writing a file never changes another link to the same inode — which is what makes snapshot sharing safe).
 * - Hardlink targets are cleaned the same way, must already exist, must not be directories, and a symlink
 *   target must keep its meaning at the new location.
 * - Symlink targets are stored relative and contained (rules.ts `rootfsLinkTarget`).
 *
 * Snapshots: with `record`, applyLayer extracts one layer into its own empty tree and records every entry as a
 * LayerOp in tar order; hardlinks to paths the layer does not hold are recorded, not refused. applySnapshot
 * replays those ops on a rootfs with the same checks against what the lower layers left there, so a composed
 * rootfs equals one applied from the tars, and every cross-layer attack (a lower symlink, a whiteout through
 * one) is refused at composition exactly as it would be during extraction.
 *
 * Performance: parent directories are lstat-ed once per rootfs (RootfsState.dirs), small files are written with one
 * writeFile call (links with one link call) and overlap with decoding (bounded; see Pipeline), large files stream
 * with chunked writes, and directory modes are applied once at the end (finalizeRootfs), deepest first.
 */
import { createHash } from "node:crypto";
import { DropzoneError } from "../errors.ts";
import {
  classifyWhiteout,
  cleanEntryPath,
  DEFAULT_LAYER_LIMITS,
  isWhiteoutName,
  type LayerLimits,
  type LayerOp,
  rootfsLinkTarget,
  tooDeep,
  tooManyBytes,
  tooManyEntries,
  unsafeEntry,
} from "./rules.ts";
import { decodeTar, malformedLayer, type TarHeader } from "./tar_stream.ts";

export {
  cleanEntryPath,
  DEFAULT_LAYER_LIMITS,
  type LayerLimits,
  type LayerOp,
  rootfsLinkTarget,
} from "./rules.ts";

/** What applyLayer remembers between the layers of one rootfs; pass the same state to every layer. */
export interface RootfsState {
  /** Entries seen so far. */
  entries: number;
  /** Regular file bytes written so far. */
  bytes: number;
  /** Relative paths known to be real directories (not symlinks). */
  readonly dirs: Set<string>;
  /** Final modes of directories, applied by finalizeRootfs so restrictive modes never block extraction. */
  readonly dirModes: Map<string, number>;
  /** Final mtimes of directories (seconds), when mtimes are preserved. */
  readonly dirMtimes: Map<string, Date>;
}

/** A fresh state for a new rootfs. */
export function createRootfsState(): RootfsState {
  return { entries: 0, bytes: 0, dirs: new Set(), dirModes: new Map(), dirMtimes: new Map() };
}

/** A regular file as it was written, for callers that keep a manifest. */
export interface WrittenFile {
  /** Relative to the rootfs. */
  readonly path: string;
  /** Hex sha256 of the content. */
  readonly sha256: string;
  readonly size: number;
  /** Permission bits (& 0o777). */
  readonly mode: number;
}

/** What a recording extraction produced (see {@linkcode applyLayer}'s `record`). */
export interface LayerRecord {
  /** Every entry in tar order. */
  readonly ops: LayerOp[];
}

/** Options for {@linkcode applyLayer}. */
export interface ApplyLayerOptions {
  /** Shared across the layers of one rootfs; created when absent. */
  readonly state?: RootfsState;
  /** Overrides for {@linkcode DEFAULT_LAYER_LIMITS}. */
  readonly limits?: Partial<LayerLimits>;
  /** Restore file and directory mtimes (default false: dz does not need them). */
  readonly preserveMtime?: boolean;
  /** Names the layer in error messages, e.g. its digest. */
  readonly label?: string;
  /**
   * Extract this one layer into an empty snapshot tree and record its entries here (for applySnapshot);
   * hardlinks to paths outside the layer are recorded for composition instead of refused.
   */
  readonly record?: LayerRecord;
  /** Called for every regular file written (hashing costs CPU, so only when set). */
  readonly onFile?: (file: WrittenFile) => void;
  /** Stops extraction between entries. */
  readonly signal?: AbortSignal;
}

/** Bodies up to this size are buffered and written with one writeFile call. */
const SMALL_FILE_BYTES = 1024 * 1024;

interface Recorder {
  readonly ops: LayerOp[];
  /** Index in ops of the "f" op that produced the current tree file at a path. */
  readonly fileOps: Map<string, number>;
}

interface Context {
  readonly root: string;
  readonly state: RootfsState;
  readonly limits: LayerLimits;
  readonly what: string;
  /** The process umask, or undefined when unknown (then every file is chmodded). */
  readonly umask: number | undefined;
  readonly preserveMtime: boolean;
  /** Paths this layer wrote, plus their ancestors: an opaque marker or whiteout must not remove them. */
  readonly touched: Set<string>;
  readonly pipeline: Pipeline;
  readonly recorder: Recorder | undefined;
  readonly onFile: ((file: WrittenFile) => void) | undefined;
}

/**
 * Small-file writes (and links) in flight, so the filesystem works while the next entries are decompressed and
 * decoded. Only a new small regular file whose parents are known directories and whose path is neither a known
 * directory nor already in flight goes here; every other operation first waits for all of them (see drain).
 */
interface Pipeline {
  readonly tasks: Map<string, Promise<void>>;
  bytes: number;
  error: unknown;
}

const MAX_PENDING_WRITES = 64;
const MAX_PENDING_BYTES = 32 * 1024 * 1024;

/** Waits for every in-flight write; rethrows the first failure. */
async function drain(ctx: Context): Promise<void> {
  const { pipeline } = ctx;
  if (pipeline.tasks.size > 0) {
    const tasks = [...pipeline.tasks.values()];
    pipeline.tasks.clear();
    pipeline.bytes = 0;
    await Promise.all(tasks);
  }
  if (pipeline.error !== undefined) {
    const err = pipeline.error;
    pipeline.error = undefined;
    throw err;
  }
}

/** Runs `write` in the pipeline window (see Pipeline). */
async function schedule(ctx: Context, name: string, rel: string, size: number, write: () => Promise<void>) {
  const { pipeline } = ctx;
  if (pipeline.tasks.has(rel) || ctx.state.dirs.has(rel)) await drain(ctx);
  // A sliding window: each write leaves the window when it finishes, so the filesystem never idles while a
  // full batch drains (file creation, not bandwidth, is the cost on most disks).
  const task: Promise<void> = write().catch((err) => {
    pipeline.error ??= err instanceof DropzoneError ? err : ioError(ctx, name, err);
  }).finally(() => {
    if (pipeline.tasks.get(rel) === task) {
      pipeline.tasks.delete(rel);
      pipeline.bytes -= size;
    }
  });
  pipeline.tasks.set(rel, task);
  pipeline.bytes += size;
  while (pipeline.tasks.size >= MAX_PENDING_WRITES || pipeline.bytes >= MAX_PENDING_BYTES) {
    await Promise.race(pipeline.tasks.values());
  }
  if (pipeline.error !== undefined) await drain(ctx);
}

function unsafe(ctx: Context, name: string, reason: string): DropzoneError {
  return unsafeEntry(ctx.what, name, reason);
}

let probedUmask: number | undefined | null = null;

/**
 * The process umask. `Deno.umask()` needs --allow-sys, which the compiled binary does not get, so fall back to
 * creating one probe file with mode 0777 and reading back what the kernel kept. Knowing the umask saves a chmod
 * per file (most image files are 0644/0755 and come out right). Undefined when even the probe fails: then every
 * file is chmodded, which is always correct.
 */
async function currentUmask(root: string): Promise<number | undefined> {
  if (probedUmask !== null) return probedUmask;
  try {
    probedUmask = Deno.umask();
    return probedUmask;
  } catch {
    // Not permitted: probe below.
  }
  const probe = `${root}/.dz-umask-probe-${crypto.randomUUID()}`;
  try {
    await Deno.writeFile(probe, new Uint8Array(), { createNew: true, mode: 0o777 });
    const mode = (await Deno.stat(probe)).mode;
    probedUmask = mode === null ? undefined : 0o777 & ~(mode & 0o777);
  } catch {
    probedUmask = undefined;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
  return probedUmask;
}

function abs(ctx: Context, rel: string): string {
  return rel === "" ? ctx.root : `${ctx.root}/${rel}`;
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Drops cached knowledge about `rel` and everything below it (after a removal). */
function forget(ctx: Context, rel: string): void {
  const prefix = `${rel}/`;
  const { dirs, dirModes, dirMtimes } = ctx.state;
  for (const key of dirs) if (key === rel || key.startsWith(prefix)) dirs.delete(key);
  for (const key of dirModes.keys()) if (key === rel || key.startsWith(prefix)) dirModes.delete(key);
  for (const key of dirMtimes.keys()) if (key === rel || key.startsWith(prefix)) dirMtimes.delete(key);
}

/** While recording: the tree files at `rel` (and below it) are gone, so their "f" ops keep only their effect. */
function markReplaced(recorder: Recorder, rel: string, isDirectory: boolean): void {
  const replace = (path: string, index: number) => {
    recorder.ops[index] = ["x", path];
    recorder.fileOps.delete(path);
  };
  const own = recorder.fileOps.get(rel);
  if (own !== undefined) replace(rel, own);
  if (!isDirectory) return;
  const prefix = `${rel}/`;
  for (const [path, index] of recorder.fileOps) if (path.startsWith(prefix)) replace(path, index);
}

/** Removes whatever is at `rel` (a directory tree or a single non-directory), never following symlinks. */
async function removePath(ctx: Context, rel: string, isDirectory: boolean): Promise<void> {
  if (isDirectory) {
    await Deno.remove(abs(ctx, rel), { recursive: true });
    forget(ctx, rel);
  } else {
    await Deno.remove(abs(ctx, rel));
  }
  if (ctx.recorder !== undefined) markReplaced(ctx.recorder, rel, isDirectory);
}

/**
 * Makes sure the first `count` components of `parts` are real directories under the root. Missing ones are
 * created when `create` is set (otherwise the result is false); a symlink or non-directory is UNSAFE_LAYER.
 */
async function ensureParents(
  ctx: Context,
  name: string,
  parts: readonly string[],
  count: number,
  create: boolean,
): Promise<boolean> {
  const { dirs, dirModes } = ctx.state;
  let rel = "";
  for (let i = 0; i < count; i++) {
    rel = i === 0 ? parts[0]! : `${rel}/${parts[i]}`;
    if (create) ctx.touched.add(rel);
    if (dirs.has(rel)) continue;
    await drain(ctx);
    const info = await lstatOrUndefined(abs(ctx, rel));
    if (info === undefined) {
      if (!create) return false;
      await Deno.mkdir(abs(ctx, rel), { mode: 0o700 });
      dirModes.set(rel, 0o755);
    } else if (info.isSymlink) {
      throw unsafe(ctx, name, `passes through the symlink "${rel}"`);
    } else if (!info.isDirectory) {
      throw unsafe(ctx, name, `passes through "${rel}", which is not a directory`);
    }
    dirs.add(rel);
  }
  return true;
}

/** Runs `create`; when the path already exists, removes it (whatever its type) and runs `create` once more. */
async function createReplacing<T>(ctx: Context, rel: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const info = await Deno.lstat(abs(ctx, rel));
  await removePath(ctx, rel, info.isDirectory);
  return await create();
}

/** A failure while reading an entry body: the archive (or its compression) is bad, not the filesystem. */
class BodyReadError extends Error {
  constructor(cause: unknown) {
    super(errorText(cause), { cause });
  }
}

async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  try {
    return await reader.read();
  } catch (err) {
    throw new BodyReadError(err);
  }
}

async function readBody(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const data = new Uint8Array(size);
  let offset = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await readChunk(reader);
      if (done) break;
      if (offset + value.length > size) {
        throw new BodyReadError("Tar entry body is longer than its header size");
      }
      data.set(value, offset);
      offset += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  if (offset !== size) throw new BodyReadError("Tar entry body is shorter than its header size");
  return data;
}

/** Streams a body into an open file with chunked writes (no per-byte work), then closes it. */
async function writeBody(
  body: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  hash: ReturnType<typeof createHash> | undefined,
): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await readChunk(reader);
      if (done) break;
      hash?.update(value);
      let written = 0;
      while (written < value.length) written += await file.write(value.subarray(written));
    }
  } finally {
    reader.releaseLock();
    file.close();
  }
}

async function applyDirectory(
  ctx: Context,
  rel: string,
  mode: number,
  mtime: Date | undefined,
): Promise<void> {
  const { dirs, dirModes } = ctx.state;
  if (!dirs.has(rel)) {
    // Directories stay owner-rwx until finalizeRootfs, so a 0555 or 0000 directory never blocks later entries.
    await createReplacing(ctx, rel, () => Deno.mkdir(abs(ctx, rel), { mode: 0o700 }));
    dirs.add(rel);
  }
  dirModes.set(rel, mode);
  if (ctx.preserveMtime && mtime !== undefined) ctx.state.dirMtimes.set(rel, mtime);
}

function countBytes(ctx: Context, name: string, size: number): void {
  if (ctx.state.bytes + size > ctx.limits.maxBytes) throw tooManyBytes(ctx.what, name, ctx.limits);
  ctx.state.bytes += size;
}

async function applyFile(
  ctx: Context,
  name: string,
  rel: string,
  header: TarHeader,
  body: ReadableStream<Uint8Array>,
): Promise<void> {
  const size = header.size;
  countBytes(ctx, name, size);
  const mode = (header.mode ?? 0o644) & 0o777;
  // Write with owner read/write so 0000 files (e.g. /etc/shadow) can be created, then chmod to the exact mode.
  const createMode = mode | 0o600;
  const path = abs(ctx, rel);
  const chmod = ctx.umask === undefined || (createMode & ~ctx.umask) !== mode;
  const mtime = ctx.preserveMtime ? header.mtime : undefined;
  const hash = ctx.onFile === undefined ? undefined : createHash("sha256");
  const recorder = ctx.recorder;
  const index = recorder === undefined ? -1 : recorder.ops.push(["f", rel, size]) - 1;
  // Registered once written: replacing an older tree file at `rel` marks that file's op, not this one.
  const registered = () => {
    if (recorder !== undefined) recorder.fileOps.set(rel, index);
  };
  if (size <= SMALL_FILE_BYTES) {
    const data = await readBody(body, size);
    if (hash !== undefined) ctx.onFile?.({ path: rel, sha256: hash.update(data).digest("hex"), size, mode });
    return await schedule(ctx, name, rel, size, async () => {
      await createReplacing(
        ctx,
        rel,
        () => Deno.writeFile(path, data, { createNew: true, mode: createMode }),
      );
      registered();
      if (chmod) await Deno.chmod(path, mode);
      if (mtime !== undefined) await Deno.utime(path, mtime, mtime);
    });
  }
  await drain(ctx);
  const file = await createReplacing(
    ctx,
    rel,
    () => Deno.open(path, { write: true, createNew: true, mode: createMode }),
  );
  registered();
  await writeBody(body, file, hash);
  if (hash !== undefined) ctx.onFile?.({ path: rel, sha256: hash.digest("hex"), size, mode });
  if (chmod) await Deno.chmod(path, mode);
  if (mtime !== undefined) await Deno.utime(path, mtime, mtime);
}

function ioError(ctx: Context, name: string, err: unknown): DropzoneError {
  return new DropzoneError("IO", `Cannot apply ${ctx.what}: entry "${name}": ${errorText(err)}`, {
    hint: "Check free disk space and permissions of the dz home",
    cause: err,
  });
}

async function applySymlink(ctx: Context, name: string, parts: string[], rel: string, linkname: string) {
  if (linkname === "") throw unsafe(ctx, name, "is a symlink with an empty target");
  if (linkname.includes("\0")) throw unsafe(ctx, name, "has a NUL byte in its link target");
  const target = rootfsLinkTarget(parts.slice(0, -1), linkname);
  ctx.recorder?.ops.push(["s", rel, target]);
  await createReplacing(ctx, rel, () => Deno.symlink(target, abs(ctx, rel)));
}

async function applyHardlink(ctx: Context, name: string, parts: string[], rel: string, linkname: string) {
  if (linkname.includes("\0")) throw unsafe(ctx, name, "has a NUL byte in its link target");
  const targetParts = cleanEntryPath(linkname);
  if (targetParts === undefined) throw unsafe(ctx, name, `is a hardlink to "${linkname}", outside the root`);
  if (targetParts.length === 0) throw unsafe(ctx, name, "is a hardlink to the root directory");
  const exists = await ensureParents(ctx, name, targetParts, targetParts.length - 1, false);
  const targetRel = targetParts.join("/");
  const info = exists ? await lstatOrUndefined(abs(ctx, targetRel)) : undefined;
  if (info === undefined && ctx.recorder !== undefined) {
    // A link into a lower layer: composition resolves and checks it against what those layers left.
    const existing = await lstatOrUndefined(abs(ctx, rel));
    if (existing !== undefined) await removePath(ctx, rel, existing.isDirectory);
    ctx.recorder.ops.push(["h", rel, targetRel]);
    return;
  }
  if (info === undefined) throw unsafe(ctx, name, `is a hardlink to "${linkname}", which does not exist`);
  if (info.isDirectory) throw unsafe(ctx, name, `is a hardlink to the directory "${linkname}"`);
  if (info.isSymlink) {
    // link(2) does not follow symlinks: the new name is the same symlink. Its text must mean the same at the new
    // place, or a relative link could climb out of the root from a shallower directory.
    const text = await Deno.readLink(abs(ctx, targetRel));
    if (rootfsLinkTarget(parts.slice(0, -1), text) !== text) {
      throw unsafe(
        ctx,
        name,
        `is a hardlink to the symlink "${linkname}", whose target escapes from the new place`,
      );
    }
  }
  if (targetRel === rel) return;
  await createReplacing(ctx, rel, () => Deno.link(abs(ctx, targetRel), abs(ctx, rel)));
  if (ctx.recorder !== undefined) recordTreeFile(ctx.recorder, rel);
}

/** Records that the tree's file at `rel` (a link inside the layer) is linked into place at composition. */
function recordTreeFile(recorder: Recorder, rel: string): void {
  recorder.fileOps.set(rel, recorder.ops.push(["f", rel, 0]) - 1);
}

/** Removes the lower-layer children of `dirRel`, keeping what this layer wrote (the marker may follow them). */
async function applyOpaque(ctx: Context, dirRel: string): Promise<void> {
  const children: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(abs(ctx, dirRel))) children.push(entry);
  for (const child of children) {
    const rel = dirRel === "" ? child.name : `${dirRel}/${child.name}`;
    if (ctx.touched.has(rel)) {
      if (child.isDirectory) await applyOpaque(ctx, rel);
      continue;
    }
    await removePath(ctx, rel, child.isDirectory);
  }
}

async function applyWhiteout(ctx: Context, name: string, parts: string[]): Promise<void> {
  const kind = classifyWhiteout(parts[parts.length - 1]!);
  const parentCount = parts.length - 1;
  if (kind.kind === "meta") return;
  if (kind.kind === "invalid") throw unsafe(ctx, name, "is an invalid whiteout");
  ctx.recorder?.ops.push(["w", parts.join("/")]);
  if (kind.kind === "opaque") {
    await ensureParents(ctx, name, parts, parentCount, true);
    await applyOpaque(ctx, parts.slice(0, parentCount).join("/"));
    return;
  }
  if (!await ensureParents(ctx, name, parts, parentCount, false)) return;
  const rel = [...parts.slice(0, parentCount), kind.hidden].join("/");
  // A whiteout hides lower layers only; what this layer itself wrote stays.
  if (ctx.touched.has(rel)) return;
  const info = await lstatOrUndefined(abs(ctx, rel));
  if (info !== undefined) await removePath(ctx, rel, info.isDirectory);
}

/** Counts an entry and cleans its name; undefined for the root itself (dz keeps its own staging dir mode). */
function admitEntry(ctx: Context, name: string): string[] | undefined {
  ctx.state.entries++;
  if (ctx.state.entries > ctx.limits.maxEntries) throw tooManyEntries(ctx.what, ctx.limits);
  if (name.includes("\0")) throw unsafe(ctx, name, "has a NUL byte in its name");
  const parts = cleanEntryPath(name);
  if (parts === undefined) throw unsafe(ctx, name, 'climbs above the root with ".."');
  if (parts.length > ctx.limits.maxDepth) throw tooDeep(ctx.what, name, ctx.limits);
  return parts.length === 0 ? undefined : parts;
}

/** Creates the parents of a (non-whiteout) entry and marks it as written by this layer. */
async function enterPath(ctx: Context, name: string, parts: string[], pipelined: boolean): Promise<string> {
  await ensureParents(ctx, name, parts, parts.length - 1, true);
  const rel = parts.join("/");
  ctx.touched.add(rel);
  // Small files and directories may overlap with in-flight writes (see Pipeline); everything else waits.
  if (!pipelined || ctx.pipeline.tasks.has(rel)) await drain(ctx);
  return rel;
}

async function applyEntry(ctx: Context, header: TarHeader, body: ReadableStream<Uint8Array>): Promise<void> {
  const name = header.name;
  const parts = admitEntry(ctx, name);
  if (parts === undefined) return;
  if (isWhiteoutName(parts[parts.length - 1]!)) {
    await drain(ctx);
    return await applyWhiteout(ctx, name, parts);
  }
  const type = header.type ?? "file";
  if (type !== "file" && type !== "directory" && type !== "symlink" && type !== "link") return; // devices, FIFOs
  const rel = await enterPath(ctx, name, parts, type === "file" || type === "directory");
  switch (type) {
    case "directory": {
      const mode = (header.mode ?? 0o755) & 0o777;
      ctx.recorder?.ops.push(["d", rel, mode]);
      return await applyDirectory(ctx, rel, mode, header.mtime);
    }
    case "file":
      return await applyFile(ctx, name, rel, header, body);
    case "symlink":
      return await applySymlink(ctx, name, parts, rel, header.linkname ?? "");
    case "link":
      return await applyHardlink(ctx, name, parts, rel, header.linkname ?? "");
  }
}

async function newContext(rootfs: string, options: ApplyLayerOptions): Promise<Context> {
  const root = rootfs.endsWith("/") && rootfs.length > 1 ? rootfs.slice(0, -1) : rootfs;
  return {
    root,
    state: options.state ?? createRootfsState(),
    limits: { ...DEFAULT_LAYER_LIMITS, ...options.limits },
    what: options.label === undefined ? "layer" : `layer ${options.label}`,
    umask: await currentUmask(root),
    preserveMtime: options.preserveMtime ?? false,
    touched: new Set(),
    pipeline: { tasks: new Map(), bytes: 0, error: undefined },
    recorder: options.record === undefined ? undefined : { ops: options.record.ops, fileOps: new Map() },
    onFile: options.onFile,
  };
}

/**
 * Applies one uncompressed layer tar onto `rootfs`, which may already hold the lower layers. Pass the same
 * `state` for every layer of a rootfs and call {@linkcode finalizeRootfs} after the last one. Throws
 * UNSAFE_LAYER for anything that would land outside the rootfs or a malformed archive, LAYER_LIMIT when a cap is
 * exceeded; the caller then deletes the rootfs (store/atomic.ts `removeTree`).
 */
export async function applyLayer(
  tar: ReadableStream<Uint8Array>,
  rootfs: string,
  options: ApplyLayerOptions = {},
): Promise<RootfsState> {
  const ctx = await newContext(rootfs, options);
  const reader = decodeTar(tar).getReader();
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      let next: ReadableStreamReadResult<{ header: TarHeader; body: ReadableStream<Uint8Array> }>;
      try {
        next = await reader.read();
      } catch (err) {
        throw malformedLayer(err, ctx.what);
      }
      if (next.done) {
        await drain(ctx);
        break;
      }
      const { header, body } = next.value;
      try {
        await applyEntry(ctx, header, body);
      } catch (err) {
        if (err instanceof DropzoneError) throw err;
        if (err instanceof BodyReadError) throw malformedLayer(err.cause, ctx.what);
        throw ioError(ctx, header.name, err);
      } finally {
        // Bodies this entry did not read (directories, links, skipped types) must be drained for the decoder.
        await body.cancel().catch(() => {});
      }
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    // Let in-flight writes settle before the caller deletes the rootfs.
    await drain(ctx).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  return ctx.state;
}

/** A layer snapshot to replay: its extracted tree and its recorded ops. */
export interface SnapshotSource {
  /** The tree the ops' "f" entries are linked from. */
  readonly tree: string;
  readonly ops: readonly LayerOp[];
}

async function applyOp(ctx: Context, tree: string, op: LayerOp): Promise<void> {
  const name = op[1];
  const parts = admitEntry(ctx, name);
  if (parts === undefined) return;
  switch (op[0]) {
    case "w":
      await drain(ctx);
      return await applyWhiteout(ctx, name, parts);
    case "d":
      return await applyDirectory(ctx, await enterPath(ctx, name, parts, true), op[2] & 0o777, undefined);
    case "f": {
      const rel = await enterPath(ctx, name, parts, true);
      countBytes(ctx, name, op[2]);
      // The snapshot's inode is shared, never written: createReplacing unlinks whatever is in the way first.
      return await schedule(ctx, name, rel, 0, async () => {
        await createReplacing(ctx, rel, () => Deno.link(`${tree}/${rel}`, abs(ctx, rel)));
      });
    }
    case "x": {
      const rel = await enterPath(ctx, name, parts, false);
      const info = await lstatOrUndefined(abs(ctx, rel));
      if (info !== undefined) await removePath(ctx, rel, info.isDirectory);
      return;
    }
    case "s":
      return await applySymlink(ctx, name, parts, await enterPath(ctx, name, parts, false), op[2]);
    case "h":
      return await applyHardlink(ctx, name, parts, await enterPath(ctx, name, parts, false), op[2]);
  }
}

/**
 * Replays a layer snapshot onto `rootfs` (which holds the lower layers): the same result and the same checks as
 * applyLayer of the layer's tar, with regular files hard-linked from the snapshot tree. Pass the same `state` for
 * every layer and call {@linkcode finalizeRootfs} after the last one.
 */
export async function applySnapshot(
  snapshot: SnapshotSource,
  rootfs: string,
  options: Omit<ApplyLayerOptions, "record" | "onFile" | "preserveMtime"> = {},
): Promise<RootfsState> {
  const ctx = await newContext(rootfs, options);
  const tree = snapshot.tree.endsWith("/") ? snapshot.tree.slice(0, -1) : snapshot.tree;
  let i = 0;
  try {
    for (const op of snapshot.ops) {
      if ((++i & 255) === 0) options.signal?.throwIfAborted();
      try {
        await applyOp(ctx, tree, op);
      } catch (err) {
        if (err instanceof DropzoneError) throw err;
        throw ioError(ctx, op[1], err);
      }
    }
    await drain(ctx);
  } catch (err) {
    await drain(ctx).catch(() => {});
    throw err;
  }
  return ctx.state;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Applies the deferred directory modes (and mtimes) once every layer is in place, deepest first so a 0555 or
 * 0000 parent never blocks its children. Paths that are no longer directories are skipped.
 */
export async function finalizeRootfs(rootfs: string, state: RootfsState): Promise<void> {
  const root = rootfs.endsWith("/") && rootfs.length > 1 ? rootfs.slice(0, -1) : rootfs;
  const depth = (rel: string) => rel.split("/").length;
  const rels = [...new Set([...state.dirModes.keys(), ...state.dirMtimes.keys()])];
  rels.sort((a, b) => depth(b) - depth(a));
  for (const rel of rels) {
    const path = `${root}/${rel}`;
    const info = await lstatOrUndefined(path);
    if (info === undefined || !info.isDirectory) continue;
    const mtime = state.dirMtimes.get(rel);
    if (mtime !== undefined) await Deno.utime(path, mtime, mtime);
    const mode = state.dirModes.get(rel);
    if (mode !== undefined) await Deno.chmod(path, mode);
  }
  state.dirModes.clear();
  state.dirMtimes.clear();
}
