/** Replays a layer snapshot's recorded ops onto a rootfs, hard-linking its files (see extract.ts). */
import { DropzoneError } from "../errors.ts";
import { eventLoopTurns } from "../event_loop.ts";
// One namespace for the shared core: the replay reads as a sequence of engine operations.
import * as engine from "./engine.ts";
import type { LayerOp } from "./rules.ts";

/** A layer snapshot to replay: its extracted tree and its recorded ops. */
export interface SnapshotSource {
  /** The tree the ops' "f" entries are linked from. */
  readonly tree: string;
  readonly ops: readonly LayerOp[];
}

/** What a snapshot recorded of one file it links into a rootfs (see LayerOp "f"). */
export interface KnownFile {
  /** Hex sha256 of the content. */
  readonly sha256: string;
  /** Size and permission bits, when the snapshot recorded them (then files.json needs no lstat). */
  readonly size?: number;
  readonly mode?: number;
}

/**
 * The rootfs's regular files by path, as recorded in the snapshots (see manifestOfTree): every op at a path
 * forgets what was known there, and only a file linked from a snapshot (or a hardlink to one) is known again.
 * Entries of paths a later whiteout removed stay, but no longer name a file in the tree.
 */
export type KnownFiles = Map<string, KnownFile>;

/** What an "f" op tells of its file, when it recorded a sha256. */
function knownFileOf(op: Extract<LayerOp, { 0: "f" }>): KnownFile | undefined {
  const [, , size, sha256, mode] = op;
  if (sha256 === undefined) return undefined;
  return mode === undefined ? { sha256 } : { sha256, size, mode };
}

async function applyOp(
  ctx: engine.Context,
  tree: string,
  op: LayerOp,
  known: KnownFiles | undefined,
): Promise<void> {
  const name = op[1];
  const parts = engine.admitEntry(ctx, name);
  if (parts === undefined) return;
  if (known !== undefined) return await applyOpTracked(ctx, tree, op, parts, known);
  await applyOpParts(ctx, tree, op, parts);
}

async function applyOpTracked(
  ctx: engine.Context,
  tree: string,
  op: LayerOp,
  parts: string[],
  known: KnownFiles,
): Promise<void> {
  const rel = parts.join("/");
  known.delete(rel);
  await applyOpParts(ctx, tree, op, parts);
  if (op[0] === "f") {
    const file = knownFileOf(op);
    if (file !== undefined) known.set(rel, file);
  }
  if (op[0] === "h") {
    const target = known.get(op[2]);
    if (target !== undefined) known.set(rel, target);
  }
}

async function applyOpParts(ctx: engine.Context, tree: string, op: LayerOp, parts: string[]): Promise<void> {
  const name = op[1];
  switch (op[0]) {
    case "w":
      await engine.drain(ctx);
      return await engine.applyWhiteout(ctx, name, parts);
    case "d":
      return await engine.applyTreeEntry(ctx, name, parts, { type: "directory", mode: op[2] & 0o777 });
    case "f": {
      const rel = await engine.enterPath(ctx, name, parts, false);
      engine.countBytes(ctx, name, op[2]);
      // The snapshot's inode is shared, never written: createReplacing unlinks whatever is in the way first.
      // link(2) is a few microseconds; the async op's hop to the blocking pool costs more than the call, so
      // composition links synchronously and gives the event loop a turn every time slice instead (event_loop.ts).
      return await engine.createReplacing(
        ctx,
        rel,
        () => Deno.linkSync(`${tree}/${rel}`, engine.abs(ctx, rel)),
      );
    }
    case "x": {
      const rel = await engine.enterPath(ctx, name, parts, false);
      const info = await engine.lstatOrUndefined(engine.abs(ctx, rel));
      if (info !== undefined) await engine.removePath(ctx, rel, info.isDirectory);
      return;
    }
    case "s":
      return await engine.applyTreeEntry(ctx, name, parts, { type: "symlink", target: op[2] });
    case "h":
      return await engine.applyTreeEntry(ctx, name, parts, { type: "hardlink", target: op[2] });
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
  options: Omit<engine.ContextOptions, "record" | "onFile" | "preserveMtime"> & {
    readonly signal?: AbortSignal;
    /** Filled with what the snapshots recorded of the files linked into place (the same map for every layer). */
    readonly known?: KnownFiles;
  } = {},
): Promise<engine.RootfsState> {
  const ctx = await engine.newContext(rootfs, options);
  const tree = snapshot.tree.endsWith("/") ? snapshot.tree.slice(0, -1) : snapshot.tree;
  using turns = eventLoopTurns();
  try {
    for (const op of snapshot.ops) {
      if (turns.due()) {
        // A macrotask turn: signals, worker messages and downloads of later layers run between batches.
        await turns.next();
        options.signal?.throwIfAborted();
      }
      try {
        await applyOp(ctx, tree, op, options.known);
      } catch (err) {
        if (err instanceof DropzoneError) throw err;
        throw engine.ioError(ctx, op[1], err);
      }
    }
    await engine.drain(ctx);
  } catch (err) {
    await engine.drain(ctx).catch(() => {});
    throw err;
  }
  return ctx.state;
}
