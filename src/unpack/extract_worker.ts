/**
 * The Deno Worker entry of {@linkcode ExtractionWorkers}: extracts one layer blob at a time into an empty
 * snapshot tree with applyLayer, the same contained unpacker the main thread runs, and posts back what it
 * recorded. A followed blob (still downloading) is read only as far as the writer reported.
 */
import { DropzoneError } from "../errors.ts";
import { READ_CHUNK_BYTES, readableOf } from "../fs.ts";
import { applyLayer } from "./extract.ts";
import { openLayer } from "./layer.ts";
import type { LayerOp } from "./rules.ts";
import type { WorkerFeed, WorkerProgress, WorkerReply, WorkerRequest, WorkerStop } from "./worker_extract.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest | WorkerFeed | WorkerStop>) => void) | null;
  postMessage(message: WorkerReply | WorkerProgress): void;
}

const scope = globalThis as unknown as WorkerScope;

/** The followed writer's progress as the main thread forwards it, and a wake-up for readers waiting on it. */
const feed = {
  written: 0,
  state: "writing" as WorkerFeed["state"],
  wake: () => {},
};

function nextFeed(): Promise<void> {
  return new Promise((resolve) => feed.wake = resolve);
}

/**
 * The bytes of a blob being written at `tmpPath`, as far as the feed says they are in the file; ends once the
 * writer committed all `size` bytes, errors when it failed. The descriptor opened on the temp file stays valid
 * after the commit renames it; a writer that committed before we opened it left the blob at `finalPath`.
 */
function followBlob(tmpPath: string, finalPath: string, size: number): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let pos = 0;
  const failed = () => new DropzoneError("IO", "The layer download stopped before it was complete");
  return new ReadableStream<Uint8Array>({
    async start() {
      try {
        file = await Deno.open(tmpPath, { read: true });
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        while (feed.state === "writing" && !job.signal.aborted) await nextFeed();
        job.signal.throwIfAborted();
        if (feed.state === "failed") throw failed();
        file = await Deno.open(finalPath, { read: true });
      }
    },
    async pull(controller) {
      while (true) {
        if (job.signal.aborted) {
          file?.close();
          throw job.signal.reason;
        }
        if (feed.state === "failed") {
          file?.close();
          throw failed();
        }
        if (pos < feed.written) {
          const buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, feed.written - pos));
          const n = await file!.read(buf);
          if (n === null || n === 0) {
            throw new Error(`blob temp file ended at ${pos} of ${feed.written} bytes`);
          }
          pos += n;
          controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
          return;
        }
        if (feed.state === "committed" && pos >= size) {
          file?.close();
          controller.close();
          return;
        }
        await nextFeed();
      }
    },
    cancel() {
      file?.close();
    },
  }, { highWaterMark: 0 });
}

/** Reports the bytes each chunk carries to the main thread (the unpack phase's progress). */
function reportingProgress(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        scope.postMessage({ progress: chunk.byteLength });
        controller.enqueue(chunk);
      },
    }),
  );
}

/** Aborts the running job on a stop message (applyLayer then lets its in-flight writes settle). */
let job = new AbortController();

async function extract(request: WorkerRequest): Promise<WorkerReply> {
  try {
    let blob: ReadableStream<Uint8Array>;
    if (request.follow !== undefined) {
      blob = followBlob(request.blobPath, request.follow.finalPath, request.follow.size);
    } else {
      blob = readableOf(await Deno.open(request.blobPath, { read: true }));
    }
    if (request.progress) blob = reportingProgress(blob);
    const record = { ops: [] as LayerOp[] };
    const state = await applyLayer(openLayer(blob, request.mediaType), request.tree, {
      record,
      signal: job.signal,
      ...(request.label !== undefined ? { label: request.label } : {}),
      ...(request.limits !== undefined ? { limits: request.limits } : {}),
    });
    return { ok: true, ops: record.ops, entries: state.entries, bytes: state.bytes, dirs: [...state.dirs] };
  } catch (err) {
    if (err instanceof DropzoneError) {
      return {
        ok: false,
        error: {
          code: err.code,
          message: err.message,
          ...(err.hint !== undefined ? { hint: err.hint } : {}),
        },
      };
    }
    return { ok: false, error: { message: err instanceof Error ? err.message : String(err) } };
  }
}

scope.onmessage = async (event) => {
  const message = event.data;
  if ("stop" in message) {
    job.abort();
    feed.wake();
    return;
  }
  if ("feed" in message) {
    feed.written = message.written;
    feed.state = message.state;
    feed.wake();
    return;
  }
  // One job at a time (the pool waits for each reply): a new job starts from a fresh feed.
  feed.written = 0;
  feed.state = "writing";
  job = new AbortController();
  scope.postMessage(await extract(message));
};
