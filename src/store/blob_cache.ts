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
import { ioError, randomSuffix, readableOf, syncDir, TEMP_PREFIX } from "../fs.ts";

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
   * Called once the temp file exists, before any byte is written, with the write's progress, so a consumer can
   * overlap its work with the download instead of waiting for it: it may read the temp file as far as
   * `watch.current().written` says, and the blob is verified (size and sha256) only once the state is
   * "committed"; "failed" means the bytes were wrong or incomplete, so whatever was made from them must be
   * discarded. Not called when the blob is already cached.
   */
  readonly onWriting?: (watch: BlobWatch) => void;
}

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
  /** Drops the temp file; the watch reports "failed". */
  discard(): Promise<void>;
  /** The write's progress (see PutStreamOptions.onWriting). */
  readonly watch: BlobWatch;
}

/** How far a writer got: bytes in the temp file, and how the write ended. */
interface WriteProgress {
  written: number;
  state: "writing" | "committed" | "failed";
  /** Resolves the current wait of every watcher (replaced after each wake-up). */
  wake: () => void;
  changed: Promise<void>;
}

function newProgress(): WriteProgress {
  const progress: WriteProgress = {
    written: 0,
    state: "writing",
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
  /** Reports the write failed (the caller gets the reason from putStream; a watcher only needs the state). */
  const fail = () => {
    if (progress.state !== "writing") return;
    progress.state = "failed";
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
  async function dropFile(): Promise<void> {
    if (file !== undefined) {
      file.close();
      file = undefined;
      await Deno.remove(tmp).catch(() => undefined);
    }
    cleanup?.[Symbol.dispose]();
  }
  async function failWith(err: unknown): Promise<never> {
    fail();
    await dropFile();
    throw err;
  }
  return {
    async update(chunk) {
      count += chunk.length;
      if (count > size) await failWith(mismatch(digest, `more than the expected ${size} bytes`));
      hash?.update(chunk);
      if (writeFailed || file === undefined) return;
      // One write per network chunk, reported at once: batching them to 1 MiB saved main-thread time only
      // while extraction shared that thread; with extraction in a worker it measured no faster and held
      // ~25 MiB more at peak.
      try {
        let rest = chunk;
        while (rest.length > 0) rest = rest.subarray(await file.write(rest));
        progress.written = count;
        notify(progress);
      } catch (err) {
        writeFailed = true;
        const failure = ioError(`store blob ${digest} in`, dir, err, { needed: size });
        fail();
        await dropFile();
        if (persist === "required") throw failure;
      }
    },
    async commit() {
      const actual = hash === undefined ? digest : `sha256:${hash.digest("hex")}`;
      if (count !== size || actual !== digest) {
        await failWith(
          mismatch(digest, count !== size ? `got ${count} bytes, expected ${size}` : `got ${actual}`),
        );
      }
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
        fail();
        throw failure;
      }
      await syncDir(dir);
      progress.state = "committed";
      notify(progress);
    },
    async discard() {
      fail();
      await dropFile();
    },
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
      options.onWriting?.(writer.watch);
      const reader = stream.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          await writer.update(value);
        }
      } catch (err) {
        await writer.discard();
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
