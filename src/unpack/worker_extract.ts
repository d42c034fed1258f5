/**
 * Extraction of layers in Deno Workers (extract_worker.ts): a pool of workers, each running the same applyLayer
 * into the snapshot staging trees it is given, several layers at a time, from a verified blob file or from a blob
 * file still being written (it follows the writer's progress, which this thread forwards). On two cores this lets
 * decompression, tar parsing and hashing run beside the downloads instead of on the thread that receives them
 * (README "Benchmarks"). Abort and interrupt stop a job (its in-flight writes settle) before the caller removes
 * its tree.
 */
import { DropzoneError, type ErrorCode } from "../errors.ts";
import { onInterrupt } from "../interrupt.ts";
import type { LayerLimits, LayerOp } from "./rules.ts";

/**
 * What the worker gets: the layer blob and the empty tree to extract into. `blobPath` is a verified blob, or,
 * with `follow`, the temp file of a blob still being written; then the worker reads only what the writer
 * reported (see {@linkcode WorkerFeed}) and ends only once the writer committed it under `follow.finalPath`.
 * `job` tells the jobs of one worker apart (the pool numbers them).
 */
export interface WorkerRequest {
  readonly job?: number;
  readonly blobPath: string;
  readonly mediaType: string;
  readonly tree: string;
  readonly label?: string;
  readonly limits?: Partial<LayerLimits>;
  readonly follow?: { readonly finalPath: string; readonly size: number };
  /** Post {@linkcode WorkerProgress} messages as the blob is read. */
  readonly progress?: boolean;
}

/** How far the writer of a followed blob got: bytes in the file, and whether it committed or failed. */
export interface WorkerFeed {
  readonly feed: true;
  readonly job: number;
  readonly written: number;
  readonly state: "writing" | "committed" | "failed";
}

/** Asks the worker to stop a job: it aborts the extraction, lets in-flight writes settle and replies. */
export interface WorkerStop {
  readonly stop: true;
  readonly job: number;
}

/** Bytes of the blob a job read since its last progress message. */
export interface WorkerProgress {
  readonly job: number;
  readonly progress: number;
}

/** What the worker posts back at the end of a job: the layer record, or the error it stopped with. */
export type WorkerReply =
  | {
    readonly job: number;
    readonly ok: true;
    readonly ops: LayerOp[];
    readonly entries: number;
    readonly bytes: number;
    /** Directories the tree holds (relative), for sealing. */
    readonly dirs: string[];
  }
  | {
    readonly job: number;
    readonly ok: false;
    readonly error: { code?: ErrorCode; message: string; hint?: string };
  };

/** The worker's record of one extracted layer. */
export type WorkerRecord = Omit<Extract<WorkerReply, { ok: true }>, "ok" | "job">;

/**
 * A blob being written, as the pool follows it (the blob cache's writer provides one): its progress now, and a
 * promise that settles at the next change.
 */
export interface BlobWatch {
  /** The temp file being written. */
  readonly tmpPath: string;
  /** Where the blob is once committed. */
  readonly finalPath: string;
  readonly size: number;
  current(): { readonly written: number; readonly state: WorkerFeed["state"] };
  changed(): Promise<void>;
}

/** Options for {@linkcode ExtractionWorkers.extract}. */
export interface WorkerExtractOptions {
  readonly signal?: AbortSignal;
  /** With a request that follows a blob: the writer to follow. */
  readonly watch?: BlobWatch;
  /** Called with the bytes of the blob read, as they are read. */
  readonly onProgress?: (bytes: number) => void;
}

function revive(error: Extract<WorkerReply, { ok: false }>["error"]): DropzoneError {
  if (error.code !== undefined) {
    return new DropzoneError(error.code, error.message, error.hint !== undefined ? { hint: error.hint } : {});
  }
  return new DropzoneError("IO", `Cannot extract a layer: ${error.message}`, {
    hint: "Check free disk space and permissions of the dz home",
  });
}

/** How long a stopped job gets to let its file operations settle before its worker is terminated. */
const STOP_WAIT_MS = 300;

/** A job in a worker, as this thread tracks it. */
interface JobHandle {
  onProgress?: (bytes: number) => void;
  /** Called once with the job's reply, or with an error when its worker died. */
  done(reply: WorkerReply | Error): void;
}

/** A started worker and its jobs. */
interface PooledWorker {
  readonly worker: Worker;
  readonly jobs: Map<number, JobHandle>;
}

/**
 * Up to `size` workers, each extracting several layers at once, kept until {@linkcode close} (a worker's start
 * costs a module load, about 90 ms on an idle machine, and a live Worker keeps the process running). A new job
 * goes to the least busy worker. One worker per core beyond the first measured best: each isolate lets tens of
 * MiB of garbage buffers pile up before it collects them, so a second worker on two cores added ~90 MiB of peak
 * RSS and no speed.
 */
export class ExtractionWorkers {
  readonly #size: number;
  readonly #workers: PooledWorker[] = [];
  #nextJob = 1;
  #closed = false;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Starts up to `count` workers now, so their module load overlaps the caller's other work. */
  warm(count: number): void {
    while (!this.#closed && this.#workers.length < Math.min(count, this.#size)) this.#start();
  }

  #start(): PooledWorker {
    // A module load (bundled by `deno compile` with --include), not a file read.
    const worker = new Worker(new URL("./extract_worker.ts", import.meta.url), { type: "module" });
    const pooled: PooledWorker = { worker, jobs: new Map() };
    worker.onmessage = (event: MessageEvent<WorkerReply | WorkerProgress>) => {
      const message = event.data;
      const job = pooled.jobs.get(message.job);
      if (job === undefined) return; // a job this thread already gave up on
      if ("progress" in message) job.onProgress?.(message.progress);
      else {
        pooled.jobs.delete(message.job);
        job.done(message);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#drop(pooled, revive({ message: event.message }));
    };
    this.#workers.push(pooled);
    return pooled;
  }

  /** Terminates a worker; its jobs fail with `error`. */
  #drop(pooled: PooledWorker, error: Error): void {
    pooled.worker.terminate();
    const i = this.#workers.indexOf(pooled);
    if (i >= 0) this.#workers.splice(i, 1);
    const jobs = [...pooled.jobs.values()];
    pooled.jobs.clear();
    for (const job of jobs) job.done(error);
  }

  #pick(): PooledWorker {
    const idle = this.#workers.find((w) => w.jobs.size === 0);
    if (idle !== undefined) return idle;
    if (this.#workers.length < this.#size) return this.#start();
    return this.#workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  /** Extracts `request.blobPath` into `request.tree`; rejects on abort once the job stopped. */
  extract(request: WorkerRequest, options: WorkerExtractOptions = {}): Promise<WorkerRecord> {
    const { signal, watch, onProgress } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(new Error("the extraction workers were closed"));
    const pooled = this.#pick();
    const id = this.#nextJob++;
    let settled = false;
    return new Promise<WorkerRecord>((resolve, reject) => {
      let answered: () => void = () => {};
      const stopped = new Promise<void>((resolve) => answered = resolve);
      const finish = () => {
        settled = true;
        interrupt.release();
        signal?.removeEventListener("abort", onAbort);
        answered();
      };
      pooled.jobs.set(id, {
        ...(onProgress !== undefined ? { onProgress } : {}),
        done: (reply) => {
          if (settled) return answered();
          finish();
          if (reply instanceof Error) reject(reply);
          else if (reply.ok) {
            resolve({ ops: reply.ops, entries: reply.entries, bytes: reply.bytes, dirs: reply.dirs });
          } else reject(revive(reply.error));
        },
      });
      // Stopping asks the worker first, so the job's file operations settle before the caller removes its tree;
      // a worker that does not answer in time is terminated (with any other job it runs).
      let stopping: Promise<void> | undefined;
      const stop = () =>
        stopping ??= (async () => {
          if (settled) return;
          settled = true;
          pooled.worker.postMessage({ stop: true, job: id } satisfies WorkerStop);
          let timer: ReturnType<typeof setTimeout> | undefined;
          const late = new Promise<"late">((resolve) =>
            timer = setTimeout(() => resolve("late"), STOP_WAIT_MS)
          );
          const outcome = await Promise.race([stopped, late]);
          clearTimeout(timer);
          interrupt.release();
          signal?.removeEventListener("abort", onAbort);
          if (outcome === "late") this.#drop(pooled, new DOMException("stopped", "AbortError"));
        })();
      // Registered after the caller's staging cleanup, so an interrupt stops the job before the tree goes.
      const interrupt = onInterrupt(stop);
      const onAbort = async () => {
        await stop();
        reject(signal?.reason ?? new DOMException("aborted", "AbortError"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      pooled.worker.postMessage(
        { ...request, job: id, ...(onProgress ? { progress: true } : {}) } satisfies WorkerRequest,
      );
      if (watch !== undefined) void forward(watch, pooled.worker, id, () => settled);
    });
  }

  /** Terminates every worker (running extractions then never settle: abort them first). */
  close(): void {
    this.#closed = true;
    for (const pooled of this.#workers) pooled.worker.terminate();
    this.#workers.length = 0;
  }
}

/** Posts the writer's progress to the worker at every change until the write ends or the job settled. */
async function forward(watch: BlobWatch, worker: Worker, job: number, settled: () => boolean): Promise<void> {
  let last = -1;
  while (!settled()) {
    const { written, state } = watch.current();
    if (written !== last || state !== "writing") {
      last = written;
      worker.postMessage({ feed: true, job, written, state } satisfies WorkerFeed);
    }
    if (state !== "writing") return;
    await watch.changed();
  }
}

/** Extracts one layer in a worker of its own (stopped afterwards); see {@linkcode ExtractionWorkers.extract}. */
export async function extractInWorker(
  request: WorkerRequest,
  options: WorkerExtractOptions = {},
): Promise<WorkerRecord> {
  const pool = new ExtractionWorkers(1);
  try {
    return await pool.extract(request, options);
  } finally {
    pool.close();
  }
}
