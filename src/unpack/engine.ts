/**
 * The shared core of layer application (used by extract.ts for tars and compose.ts for snapshots): the per-rootfs
 * state, the bounded write pipeline, and the checked operations on a rootfs — parent checks, replacing creates,
 * directories, symlinks, hardlinks, whiteouts and opaque directories. The containment rules are described in
 * extract.ts; the pure path rules are in rules.ts.
 */
import { DropzoneError } from "../errors.ts";
import {
  classifyWhiteout,
  cleanEntryPath,
  DEFAULT_LAYER_LIMITS,
  type LayerLimits,
  type LayerOp,
  rootfsLinkTarget,
  tooDeep,
  tooManyBytes,
  tooManyEntries,
  unsafeEntry,
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

/** What a context needs (a subset of applyLayer's options). */
export interface ContextOptions {
  readonly state?: RootfsState;
  readonly limits?: Partial<LayerLimits>;
  readonly preserveMtime?: boolean;
  readonly label?: string;
  readonly record?: { readonly ops: LayerOp[] };
  readonly onFile?: (file: WrittenFile) => void;
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

export interface Recorder {
  readonly ops: LayerOp[];
  /** Index in ops of the "f" op that produced the current tree file at a path. */
  readonly fileOps: Map<string, number>;
}

export interface Context {
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
export interface Pipeline {
  readonly tasks: Map<string, Promise<void>>;
  bytes: number;
  error: unknown;
}

const MAX_PENDING_WRITES = 64;
const MAX_PENDING_BYTES = 32 * 1024 * 1024;

/** Waits for every in-flight write; rethrows the first failure. */
export async function drain(ctx: Context): Promise<void> {
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
export async function schedule(
  ctx: Context,
  name: string,
  rel: string,
  size: number,
  write: () => Promise<void>,
): Promise<void> {
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

export function unsafe(ctx: Context, name: string, reason: string): DropzoneError {
  return unsafeEntry(ctx.what, name, reason);
}

let probedUmask: number | undefined | null = null;

/**
 * The process umask. `Deno.umask()` needs --allow-sys, which the compiled binary does not get, so fall back to
 * creating one probe file with mode 0777 and reading back what the kernel kept. Knowing the umask saves a chmod
 * per file (most image files are 0644/0755 and come out right). Undefined when even the probe fails: then every
 * file is chmodded, which is always correct.
 */
export async function currentUmask(root: string): Promise<number | undefined> {
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

export function abs(ctx: Context, rel: string): string {
  return rel === "" ? ctx.root : `${ctx.root}/${rel}`;
}

export async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
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
export async function removePath(ctx: Context, rel: string, isDirectory: boolean): Promise<void> {
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
export async function ensureParents(
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
export async function createReplacing<T>(
  ctx: Context,
  rel: string,
  create: () => T | Promise<T>,
): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const info = await Deno.lstat(abs(ctx, rel));
  await removePath(ctx, rel, info.isDirectory);
  return await create();
}

/** Where an entry goes: its name as the layer wrote it, its cleaned components, its path in the rootfs. */
interface EntryAt {
  readonly name: string;
  readonly parts: string[];
  readonly rel: string;
}

/** A directory, symlink or hardlink entry: the same whether it comes from a tar header or a snapshot op. */
export type TreeEntry =
  | { readonly type: "directory"; readonly mode: number; readonly mtime?: Date | undefined }
  | { readonly type: "symlink" | "hardlink"; readonly target: string };

/**
 * Applies a directory, symlink or hardlink entry named `name` (cleaned into `parts`): creates its parents,
 * checks it and records it while recording a snapshot. Regular files and whiteouts have their own paths.
 */
export async function applyTreeEntry(
  ctx: Context,
  name: string,
  parts: string[],
  entry: TreeEntry,
): Promise<void> {
  // Directories may overlap with in-flight small-file writes; links wait for them (see enterPath).
  const rel = await enterPath(ctx, name, parts, entry.type === "directory");
  if (entry.type === "directory") {
    ctx.recorder?.ops.push(["d", rel, entry.mode]);
    return await applyDirectory(ctx, rel, entry.mode, entry.mtime);
  }
  if (entry.target.includes("\0")) throw unsafe(ctx, name, "has a NUL byte in its link target");
  const at = { name, parts, rel };
  return entry.type === "symlink"
    ? await applySymlink(ctx, at, entry.target)
    : await applyHardlink(ctx, at, entry.target);
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

export function countBytes(ctx: Context, name: string, size: number): void {
  if (ctx.state.bytes + size > ctx.limits.maxBytes) throw tooManyBytes(ctx.what, name, ctx.limits);
  ctx.state.bytes += size;
}

export function ioError(ctx: Context, name: string, err: unknown): DropzoneError {
  return new DropzoneError("IO", `Cannot apply ${ctx.what}: entry "${name}": ${errorText(err)}`, {
    hint: "Check free disk space and permissions of the dz home",
    cause: err,
  });
}

async function applySymlink(ctx: Context, at: EntryAt, linkname: string): Promise<void> {
  const { name, parts, rel } = at;
  if (linkname === "") throw unsafe(ctx, name, "is a symlink with an empty target");
  const target = rootfsLinkTarget(parts.slice(0, -1), linkname);
  ctx.recorder?.ops.push(["s", rel, target]);
  await createReplacing(ctx, rel, () => Deno.symlink(target, abs(ctx, rel)));
}

async function applyHardlink(ctx: Context, at: EntryAt, linkname: string): Promise<void> {
  const { name, parts, rel } = at;
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
  if (ctx.recorder !== undefined) recordTreeFile(ctx.recorder, rel, targetRel);
}

/**
 * Records that the tree's file at `rel` (a link to `targetRel` inside the layer) is linked into place at
 * composition, with the target's sha256 when known (size 0: its bytes are counted once).
 */
function recordTreeFile(recorder: Recorder, rel: string, targetRel: string): void {
  const target = recorder.ops[recorder.fileOps.get(targetRel) ?? -1];
  const sha256 = target?.[0] === "f" && target[1] === targetRel ? target[3] : undefined;
  const op: LayerOp = sha256 === undefined ? ["f", rel, 0] : ["f", rel, 0, sha256];
  recorder.fileOps.set(rel, recorder.ops.push(op) - 1);
}

/** Removes the lower-layer children of `dirRel`, keeping what this layer wrote (the marker may follow them). */
export async function applyOpaque(ctx: Context, dirRel: string): Promise<void> {
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

export async function applyWhiteout(ctx: Context, name: string, parts: string[]): Promise<void> {
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
export function admitEntry(ctx: Context, name: string): string[] | undefined {
  ctx.state.entries++;
  if (ctx.state.entries > ctx.limits.maxEntries) throw tooManyEntries(ctx.what, ctx.limits);
  if (name.includes("\0")) throw unsafe(ctx, name, "has a NUL byte in its name");
  const parts = cleanEntryPath(name);
  if (parts === undefined) throw unsafe(ctx, name, 'climbs above the root with ".."');
  if (parts.length > ctx.limits.maxDepth) throw tooDeep(ctx.what, name, ctx.limits);
  return parts.length === 0 ? undefined : parts;
}

/** Creates the parents of a (non-whiteout) entry and marks it as written by this layer. */
export async function enterPath(
  ctx: Context,
  name: string,
  parts: string[],
  pipelined: boolean,
): Promise<string> {
  await ensureParents(ctx, name, parts, parts.length - 1, true);
  const rel = parts.join("/");
  ctx.touched.add(rel);
  // Small files and directories may overlap with in-flight writes (see Pipeline); everything else waits.
  if (!pipelined || ctx.pipeline.tasks.has(rel)) await drain(ctx);
  return rel;
}

/** A context for applying one layer onto `rootfs`. */
export async function newContext(rootfs: string, options: ContextOptions): Promise<Context> {
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

export function errorText(err: unknown): string {
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
