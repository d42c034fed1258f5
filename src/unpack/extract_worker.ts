/**
 * The Deno Worker entry of {@linkcode ExtractionWorkers}: extracts layer blobs into empty snapshot trees with
 * applyLayer, the same contained unpacker the main thread runs, several jobs at a time (each with its own id,
 * feed and abort), and posts back what each recorded. A followed blob (still downloading) is read only as far as
 * the writer reported.
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

/** One job's state: the followed writer's progress as the main thread forwards it, and its abort. */
interface Job {
  written: number;
  state: WorkerFeed["state"];
  wake: () => void;
  readonly abort: AbortController;
}

const jobs = new Map<number, Job>();

function nextFeed(job: Job): Promise<void> {
  return new Promise((resolve) => job.wake = resolve);
}

/**
 * The bytes of a blob being written at `tmpPath`, as far as the job's feed says they are in the file; ends once
 * the writer committed all `size` bytes, errors when it failed or the job was stopped. The descriptor opened on
 * the temp file stays valid after the commit renames it; a writer that committed before we opened it left the
 * blob at `finalPath`.
 */
function followBlob(job: Job, tmpPath: string, finalPath: string, size: number): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let pos = 0;
  const failed = () => new DropzoneError("IO", "The layer download stopped before it was complete");
  return new ReadableStream<Uint8Array>({
    async start() {
      try {
        file = await Deno.open(tmpPath, { read: true });
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        while (job.state === "writing" && !job.abort.signal.aborted) await nextFeed(job);
        job.abort.signal.throwIfAborted();
        if (job.state === "failed") throw failed();
        file = await Deno.open(finalPath, { read: true });
      }
    },
    async pull(controller) {
      while (true) {
        if (job.abort.signal.aborted) {
          file?.close();
          throw job.abort.signal.reason;
        }
        if (job.state === "failed") {
          file?.close();
          throw failed();
        }
        if (pos < job.written) {
          const buf = new Uint8Array(Math.min(READ_CHUNK_BYTES, job.written - pos));
          const n = await file!.read(buf);
          if (n === null || n === 0) {
            throw new Error(`blob temp file ended at ${pos} of ${job.written} bytes`);
          }
          pos += n;
          controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
          return;
        }
        if (job.state === "committed" && pos >= size) {
          file?.close();
          controller.close();
          return;
        }
        await nextFeed(job);
      }
    },
    cancel() {
      file?.close();
    },
  }, { highWaterMark: 0 });
}

/** Reports the bytes each chunk carries to the main thread (the unpack phase's progress). */
function reportingProgress(id: number, stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        scope.postMessage({ job: id, progress: chunk.byteLength });
        controller.enqueue(chunk);
      },
    }),
  );
}

function failure(id: number, err: unknown): WorkerReply {
  if (err instanceof DropzoneError) {
    return {
      job: id,
      ok: false,
      error: { code: err.code, message: err.message, ...(err.hint !== undefined ? { hint: err.hint } : {}) },
    };
  }
  return { job: id, ok: false, error: { message: err instanceof Error ? err.message : String(err) } };
}

async function extract(request: WorkerRequest, job: Job): Promise<WorkerReply> {
  const id = request.job ?? 0;
  try {
    let blob: ReadableStream<Uint8Array>;
    if (request.follow !== undefined) {
      blob = followBlob(job, request.blobPath, request.follow.finalPath, request.follow.size);
    } else {
      blob = readableOf(await Deno.open(request.blobPath, { read: true }));
    }
    if (request.progress) blob = reportingProgress(id, blob);
    const record = { ops: [] as LayerOp[] };
    const state = await applyLayer(openLayer(blob, request.mediaType), request.tree, {
      record,
      signal: job.abort.signal,
      ...(request.label !== undefined ? { label: request.label } : {}),
      ...(request.limits !== undefined ? { limits: request.limits } : {}),
    });
    return {
      job: id,
      ok: true,
      ops: record.ops,
      entries: state.entries,
      bytes: state.bytes,
      dirs: [...state.dirs],
    };
  } catch (err) {
    return failure(id, err);
  }
}

scope.onmessage = async (event) => {
  const message = event.data;
  if ("stop" in message) {
    const job = jobs.get(message.job);
    job?.abort.abort();
    job?.wake();
    return;
  }
  if ("feed" in message) {
    const job = jobs.get(message.job);
    if (job === undefined) return; // a late report for a job that ended
    job.written = message.written;
    job.state = message.state;
    job.wake();
    return;
  }
  const id = message.job ?? 0;
  const job: Job = { written: 0, state: "writing", wake: () => {}, abort: new AbortController() };
  jobs.set(id, job);
  try {
    scope.postMessage(await extract(message, job));
  } finally {
    jobs.delete(id);
  }
};
