/**
 * Content-addressed blob cache at `cache/blobs/sha256/<hex>`. A blob file only ever appears through an
 * atomic rename after its sha256 and size were verified while streaming, so readers trust a present file
 * without re-hashing it. Writers stage in `.tmp-*` files in the same directory.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { type Digest, digestHex, isDigest } from "../oci/digest.ts";
import { onInterrupt } from "../interrupt.ts";
import { isDigestVerified } from "../registry/verify_stream.ts";
import type { BlobWatch } from "../unpack/worker_extract.ts";
import { ioError, randomSuffix, READ_CHUNK_BYTES, readableOf, syncDir, TEMP_PREFIX } from "../fs.ts";

/** Result of {@linkcode BlobCache.gc}. */
export interface BlobGcResult {
  /** Bytes freed by removed blobs and temp files. */
  bytesFreed: number;
  removedBlobs: Digest[];
  removedTemps: number;
}

/** Options for {@linkcode BlobCache.gc}. */
export interface BlobGcOptions {
  /** Temp files untouched for this long are leftovers of a killed dz. @default {900000} (15 min) */
  staleTempMs?: number;
  /** The clock, for tests. @default {Date.now} */
  now?: () => number;
  /** Only report what would be removed. @default {false} */
  dryRun?: boolean;
}

/** The blob cache API. */
export interface BlobCache {
  readonly dir: string;
  /** Path of a blob (whether or not it is present). */
  pathOf(digest: Digest): string;
  has(digest: Digest): Promise<boolean>;
  /** Size in bytes, or undefined when absent. */
  sizeOf(digest: Digest): Promise<number | undefined>;
  /** A stream of the blob; OFFLINE_MISS when absent. */
  open(digest: Digest): Promise<ReadableStream<Uint8Array>>;
  /**
   * Stores `stream` under `digest`, verifying sha256 and size. On mismatch nothing is kept and
   * DIGEST_MISMATCH is thrown. When the blob is already cached the stream is cancelled. Returns true when
   * the blob was newly written.
   */
  putStream(
    digest: Digest,
    size: number,
    stream: ReadableStream<Uint8Array>,
    options?: PutStreamOptions,
  ): Promise<boolean>;
  /**
   * A pass-through of `stream` whose bytes are also written to the cache. The blob is committed when the
   * stream ends cleanly with the expected digest and size; on mismatch the returned stream errors with
   * DIGEST_MISMATCH and nothing is kept; on cancel or a source error nothing is kept. A failure to write the
   * cache (disk full) does not disturb the pass-through: the blob is simply not cached.
   */
  teeInto(digest: Digest, size: number, stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array>;
  /** Removes one blob; false when it was not there. Call it holding the store lock. */
  remove(digest: Digest): Promise<boolean>;
  /** Removes blobs not in `referenced` and stale temp files. Call it holding the store lock. */
  gc(referenced: ReadonlySet<Digest>, options?: BlobGcOptions): Promise<BlobGcResult>;
}

/** Options for {@linkcode BlobCache.putStream}. */
export interface PutStreamOptions {
  /**
   * Called once the temp file exists, before any byte is written, with a function that opens a reader of the
   * blob as it is being written (see {@linkcode BlobFollower}), so a consumer can overlap its work with the
   * download instead of waiting for it, and the write's progress for a reader in another thread (a Worker reads
   * the temp file itself, as far as `watch` says it is written). Not called when the blob is already cached.
   */
  readonly onWriting?: (follow: BlobFollower, watch: BlobWatch) => void;
}

/**
 * Opens a stream of a blob's bytes from the start while it is still being written: it waits for more bytes
 * as they arrive and ends only after the whole blob was verified (size and sha256) and committed. When the
 * write fails (digest mismatch, network, disk) the stream errors with that failure, so a consumer never sees
 * a clean end of unverified bytes; it must still treat what it made from them as unverified until then.
 */
export type BlobFollower = () => ReadableStream<Uint8Array>;

function mismatch(digest: Digest, detail: string): DropzoneError {
  return new DropzoneError("DIGEST_MISMATCH", `Content of blob "${digest}" does not match: ${detail}`, {
    hint:
      "The registry or a proxy served different bytes; run the command again, and report it if it persists",
  });
}

/** Incremental writer for one blob: hashes, counts, writes a temp file, and commits or discards it. */
interface BlobWriter {
  /** Feeds bytes; throws DIGEST_MISMATCH early when more than `size` bytes arrive. */
  update(chunk: Uint8Array): Promise<void>;
  /** Verifies and renames into place; throws DIGEST_MISMATCH (after discarding) when wrong. */
  commit(): Promise<void>;
  /** Drops the temp file; followers fail with `reason`. */
  discard(reason?: unknown): Promise<void>;
  /** A reader of the bytes written so far and to come (see BlobFollower). */
  readonly follow: BlobFollower;
  /** The same progress for a follower in another thread, which reads the temp file itself. */
  readonly watch: BlobWatch;
}

/**
 * How far a writer got, for followers: bytes in the temp file (`written`), bytes received (`received`), the
 * received bytes not yet in the file (`held`, in order, starting at `written`), and how the write ended.
 */
interface WriteProgress {
  written: number;
  received: number;
  held: Uint8Array[];
  state: "writing" | "committed" | "failed";
  error: unknown;
  /** Resolves the current wait of every follower (replaced after each wake-up). */
  wake: () => void;
  changed: Promise<void>;
}

function newProgress(): WriteProgress {
  const progress: WriteProgress = {
    written: 0,
    received: 0,
    held: [],
    state: "writing",
    error: undefined,
    wake: () => {},
    changed: Promise.resolve(),
  };
  rearm(progress);
  return progress;
}

function rearm(progress: WriteProgress): void {
  progress.changed = new Promise((resolve) => {
    progress.wake = resolve;
  });
}

function notify(progress: WriteProgress): void {
  const wake = progress.wake;
  rearm(progress);
  wake();
}

/**
 * Received bytes are written to the temp file in batches of about this size: one write per network chunk (~60
 * KiB) cost more main-thread time than hashing the bytes. Followers read held bytes from memory meanwhile.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Held bytes are written after this long without a batch filling up (a slow or paused download). */
const IDLE_FLUSH_MS = 20;

/** The held bytes at `pos` (which must be in [written, received)), as a view of one held chunk. */
function heldAt(progress: WriteProgress, pos: number): Uint8Array {
  let offset = progress.written;
  for (const chunk of progress.held) {
    if (pos < offset + chunk.byteLength) return chunk.subarray(pos - offset);
    offset += chunk.byteLength;
  }
  throw new Error(`blob writer holds no byte at ${pos} (received ${progress.received})`);
}

/**
 * A follower of one write: reads bytes already in the temp file through its own descriptor (still valid after
 * the commit's rename) and bytes still held by the writer from memory, never past what was received, and closes
 * only once the writer committed every byte.
 */
function followWrite(
  paths: { readonly tmp: string; readonly final: string },
  size: number,
  progress: WriteProgress,
): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let pos = 0;
  let filePos = 0;
  const close = () => {
    file?.close();
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    async start() {
      try {
        file = await Deno.open(progress.state === "committed" ? paths.final : paths.tmp, { read: true });
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        // The commit renamed the temp file in between, or the write failed and removed it.
        while (progress.state === "writing") await progress.changed;
        if (progress.state === "failed") throw progress.error;
        file = await Deno.open(paths.final, { read: true });
      }
    },
    async pull(controller) {
      while (true) {
        if (progress.state === "failed") {
          close();
          throw progress.error;
        }
        if (pos < progress.written) {
          if (filePos !== pos) await file!.seek(pos, Deno.SeekMode.Start);
          const buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, progress.written - pos));
          const n = await file!.read(buf);
          if (n === null || n === 0) {
            throw new Error(`blob temp file ended at ${pos} of ${progress.written} bytes`);
          }
          pos += n;
          filePos = pos;
          controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
          return;
        }
        if (pos < progress.received) {
          const view = heldAt(progress, pos);
          pos += view.byteLength;
          controller.enqueue(view);
          return;
        }
        if (progress.state === "committed" && pos >= size) {
          close();
          controller.close();
          return;
        }
        await progress.changed;
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

/** One buffer of `chunks` (the chunk itself when there is one). */
function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** How {@linkcode openWriter} stores and checks a blob. */
interface WriterOptions {
  /**
   * "best-effort" keeps streaming when the cache cannot be written (teeInto: the cache is an optimisation
   * there); "required" fails with the I/O error (disk full, read-only), naming the blob's size, because the
   * caller reads the blob back from the cache (putStream); false stores nothing.
   */
  readonly persist: false | "best-effort" | "required";
  /**
   * False when the source already checks the digest (see isDigestVerified): it errors instead of ending when
   * the bytes hash wrong, so a clean end is the proof and a second sha256 of the same bytes would be waste.
   * Sizes are still counted.
   */
  readonly hash: boolean;
}

/** Opens a writer (see WriterOptions). */
async function openWriter(
  dir: string,
  digest: Digest,
  size: number,
  options: WriterOptions,
): Promise<BlobWriter> {
  const { persist } = options;
  const hex = digestHex(digest);
  const finalPath = join(dir, hex);
  const tmp = join(dir, `${TEMP_PREFIX}${hex}-${randomSuffix()}`);
  const hash = options.hash ? createHash("sha256") : undefined;
  const progress = newProgress();
  const fail = (err: unknown) => {
    if (progress.state !== "writing") return;
    progress.state = "failed";
    progress.error = err;
    progress.held = [];
    notify(progress);
  };
  let count = 0;
  let file: Deno.FsFile | undefined;
  let writeFailed = !persist;
  let cleanup: Disposable | undefined;
  if (persist) {
    try {
      await Deno.mkdir(dir, { recursive: true });
      file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      // An interrupted dz must not leave the partial blob behind (SIGTERM, a second Ctrl-C).
      cleanup = onInterrupt(() => Deno.remove(tmp).catch(() => {}));
    } catch (err) {
      if (persist === "required") throw ioError(`store blob ${digest} in`, dir, err, { needed: size });
      writeFailed = true; // the cache is an optimisation: keep streaming without it
    }
  }
  let failure: unknown;
  let flushing = Promise.resolve();
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  async function dropFile(): Promise<void> {
    clearTimeout(idleTimer);
    if (file !== undefined) {
      file.close();
      file = undefined;
      await Deno.remove(tmp).catch(() => undefined);
    }
    cleanup?.[Symbol.dispose]();
  }
  async function failWith(err: unknown): Promise<never> {
    fail(err);
    await dropFile();
    throw err;
  }
  /** Writes the held bytes to the temp file (followers keep reading them from memory until it is done). */
  async function writeHeld(): Promise<void> {
    const held = progress.held;
    if (writeFailed || file === undefined || held.length === 0) return;
    const chunks = held.length;
    const bytes = progress.received - progress.written;
    try {
      let rest = concat(held.slice(0, chunks), bytes);
      while (rest.length > 0) rest = rest.subarray(await file.write(rest));
    } catch (err) {
      writeFailed = true;
      failure = ioError(`store blob ${digest} in`, dir, err, { needed: size });
      fail(failure);
      await dropFile();
      return;
    }
    // Chunks received during the write were appended after these.
    progress.held = progress.held.slice(chunks);
    progress.written += bytes;
    notify(progress);
  }
  /** Queues a write of the held bytes after any running one; never rejects (see `failure`). */
  function flush(): Promise<void> {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    flushing = flushing.then(writeHeld);
    return flushing;
  }
  /** Throws the write failure when the caller needs the blob stored (putStream). */
  function checkStored(): void {
    if (failure !== undefined && persist === "required") throw failure;
  }
  return {
    async update(chunk) {
      count += chunk.length;
      if (count > size) await failWith(mismatch(digest, `more than the expected ${size} bytes`));
      hash?.update(chunk);
      checkStored();
      if (writeFailed || file === undefined) return;
      progress.held.push(chunk);
      progress.received = count;
      notify(progress);
      if (progress.received - progress.written >= WRITE_BATCH_BYTES) {
        await flush();
        checkStored();
      } else if (idleTimer === undefined) {
        // A download that pauses must not keep its bytes from a follower that reads the file (a Worker).
        idleTimer = setTimeout(() => void flush(), IDLE_FLUSH_MS);
      }
    },
    async commit() {
      const actual = hash === undefined ? digest : `sha256:${hash.digest("hex")}`;
      if (count !== size || actual !== digest) {
        await failWith(
          mismatch(digest, count !== size ? `got ${count} bytes, expected ${size}` : `got ${actual}`),
        );
      }
      await flush();
      checkStored();
      if (writeFailed || file === undefined) return;
      try {
        await file.sync();
        file.close();
        file = undefined;
        await Deno.rename(tmp, finalPath);
        cleanup?.[Symbol.dispose]();
      } catch (err) {
        await dropFile();
        await Deno.remove(tmp).catch(() => undefined);
        const failure = ioError("store blob", finalPath, err);
        fail(failure);
        throw failure;
      }
      await syncDir(dir);
      progress.state = "committed";
      notify(progress);
    },
    async discard(reason) {
      clearTimeout(idleTimer);
      await flushing;
      fail(reason ?? new DropzoneError("IO", `The write of blob "${digest}" stopped before it was complete`));
      await dropFile();
    },
    follow: () => followWrite({ tmp, final: finalPath }, size, progress),
    watch: {
      tmpPath: tmp,
      finalPath,
      size,
      current: () => ({ written: progress.written, state: progress.state }),
      changed: () => progress.changed,
    },
  };
}

/** Opens (lazily; nothing is created until a write) the blob cache rooted at `dir` (`layout.blobs`). */
export function openBlobCache(dir: string): BlobCache {
  function pathOf(digest: Digest): string {
    return join(dir, digestHex(digest));
  }
  async function sizeOf(digest: Digest): Promise<number | undefined> {
    try {
      const info = await Deno.stat(pathOf(digest));
      return info.isFile ? info.size : undefined;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw ioError("read", pathOf(digest), err);
    }
  }
  async function has(digest: Digest): Promise<boolean> {
    return (await sizeOf(digest)) !== undefined;
  }
  return {
    dir,
    pathOf,
    has,
    sizeOf,
    async open(digest) {
      try {
        const file = await Deno.open(pathOf(digest), { read: true });
        return readableOf(file);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          throw new DropzoneError("OFFLINE_MISS", `Blob "${digest}" is not in the cache`);
        }
        throw ioError("read", pathOf(digest), err);
      }
    },
    async putStream(digest, size, stream, options = {}) {
      if (await has(digest)) {
        await stream.cancel();
        return false;
      }
      const writer = await openWriter(dir, digest, size, {
        persist: "required",
        hash: !isDigestVerified(stream, digest, size),
      });
      options.onWriting?.(writer.follow, writer.watch);
      const reader = stream.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          await writer.update(value);
        }
      } catch (err) {
        await writer.discard(err);
        await reader.cancel().catch(() => undefined);
        throw err;
      } finally {
        reader.releaseLock();
      }
      await writer.commit();
      return true;
    },
    teeInto(digest, size, stream) {
      let writer: BlobWriter | undefined;
      const reader = stream.getReader();
      return new ReadableStream<Uint8Array>({
        async start() {
          writer = await openWriter(dir, digest, size, {
            persist: (await has(digest)) ? false : "best-effort",
            hash: !isDigestVerified(stream, digest, size),
          });
        },
        async pull(controller) {
          const w = writer!;
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch (err) {
            await w.discard();
            throw err;
          }
          if (result.done) {
            await w.commit();
            controller.close();
            return;
          }
          try {
            await w.update(result.value);
          } catch (err) {
            await reader.cancel().catch(() => undefined);
            throw err;
          }
          controller.enqueue(result.value);
        },
        async cancel(reason) {
          await writer?.discard();
          await reader.cancel(reason);
        },
      }, { highWaterMark: 0 });
    },
    async remove(digest) {
      try {
        await Deno.remove(pathOf(digest));
        return true;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return false;
        throw ioError("remove", pathOf(digest), err);
      }
    },
    async gc(referenced, options = {}) {
      const { staleTempMs = 15 * 60 * 1000, now = Date.now, dryRun = false } = options;
      const result: BlobGcResult = { bytesFreed: 0, removedBlobs: [], removedTemps: 0 };
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return result;
        throw ioError("read", dir, err);
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        const digest = `sha256:${entry.name}`;
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(path);
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) continue;
          throw ioError("read", path, err);
        }
        if (entry.name.startsWith(TEMP_PREFIX)) {
          const age = now() - (info.mtime?.getTime() ?? 0);
          if (age < staleTempMs) continue;
          if (!dryRun) await Deno.remove(path).catch(() => undefined);
          result.removedTemps++;
          result.bytesFreed += info.size;
        } else if (isDigest(digest) && info.isFile && !referenced.has(digest)) {
          try {
            if (!dryRun) await Deno.remove(path);
          } catch (err) {
            if (err instanceof Deno.errors.NotFound) continue;
            throw ioError("remove", path, err);
          }
          result.removedBlobs.push(digest);
          result.bytesFreed += info.size;
        }
      }
      return result;
    },
  };
}
