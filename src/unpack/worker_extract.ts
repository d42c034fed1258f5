/**
 * Extraction of layers in Deno Workers (extract_worker.ts): a pool of workers, each running the same applyLayer
 * into the snapshot staging tree it is given, from a verified blob file or from a blob file still being written
 * (it follows the writer's progress, which this thread forwards). On two cores this lets decompression, tar
 * parsing and hashing run beside the downloads instead of on the thread that receives them (README
 * "Benchmarks"). Abort and interrupt terminate the worker before the caller removes its tree.
 */
import { DropzoneError, type ErrorCode } from "../errors.ts";
import { type CleanupRegistration, onInterrupt } from "../interrupt.ts";
import type { LayerLimits, LayerOp } from "./rules.ts";

/**
 * What the worker gets: the layer blob and the empty tree to extract into. `blobPath` is a verified blob, or,
 * with `follow`, the temp file of a blob still being written; then the worker reads only what the writer
 * reported (see {@linkcode WorkerFeed}) and ends only once the writer committed it under `follow.finalPath`.
 */
export interface WorkerRequest {
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
  readonly written: number;
  readonly state: "writing" | "committed" | "failed";
}

/** Asks the worker to stop its job: it aborts the extraction, lets in-flight writes settle and replies. */
export interface WorkerStop {
  readonly stop: true;
}

/** Bytes of the blob the worker read since its last progress message. */
export interface WorkerProgress {
  readonly progress: number;
}

/** What the worker posts back at the end: the layer record, or the error it stopped with. */
export type WorkerReply =
  | {
    readonly ok: true;
    readonly ops: LayerOp[];
    readonly entries: number;
    readonly bytes: number;
    /** Directories the tree holds (relative), for sealing. */
    readonly dirs: string[];
  }
  | { readonly ok: false; readonly error: { code?: ErrorCode; message: string; hint?: string } };

/** The worker's record of one extracted layer. */
export type WorkerRecord = Omit<Extract<WorkerReply, { ok: true }>, "ok">;

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

/** How long a stopped worker gets to let its file operations settle before it is terminated. */
const STOP_WAIT_MS = 300;

function startWorker(): Worker {
  // A module load (bundled by `deno compile` with --include), not a file read.
  return new Worker(new URL("./extract_worker.ts", import.meta.url), { type: "module" });
}

/**
 * Up to `size` workers, each extracting one layer at a time and kept for the next (a worker's start costs a
 * module load, about 90 ms on an idle machine). Callers bound their own concurrency to `size`; {@linkcode close}
 * terminates every worker (a live Worker keeps the process running).
 */
export class ExtractionWorkers {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Set<Worker>();
  #closed = false;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Starts up to `count` workers now, so their module load overlaps the caller's other work. */
  warm(count: number): void {
    while (!this.#closed && this.#idle.length + this.#busy.size < Math.min(count, this.#size)) {
      this.#idle.push(startWorker());
    }
  }

  /** Extracts `request.blobPath` into `request.tree`; rejects on abort (that worker is stopped). */
  extract(request: WorkerRequest, options: WorkerExtractOptions = {}): Promise<WorkerRecord> {
    const { signal, watch, onProgress } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(new Error("the extraction workers were closed"));
    const worker = this.#idle.pop() ?? startWorker();
    this.#busy.add(worker);
    let settled = false;
    // Registered (below) after the caller's staging cleanup, so an interrupt stops the worker before the tree goes.
    let interrupt: CleanupRegistration | undefined;
    return new Promise<WorkerRecord>((resolve, reject) => {
      const finish = (reuse: boolean) => {
        settled = true;
        interrupt?.release();
        signal?.removeEventListener("abort", onAbort);
        worker.onmessage = null;
        worker.onerror = null;
        this.#busy.delete(worker);
        if (reuse && !this.#closed) this.#idle.push(worker);
        else worker.terminate();
      };
      // Stopping asks the worker first, so its file operations settle before the caller removes the tree; a
      // worker that does not answer in time is terminated.
      let stopping: Promise<void> | undefined;
      const stop = () =>
        stopping ??= (async () => {
          if (settled) return;
          settled = true;
          const answered = new Promise<void>((resolve) => {
            worker.onmessage = (event: MessageEvent<WorkerReply | WorkerProgress>) => {
              if (!("progress" in event.data)) resolve();
            };
            worker.onerror = (event: ErrorEvent) => {
              event.preventDefault();
              resolve();
            };
          });
          worker.postMessage({ stop: true } satisfies WorkerStop);
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([answered, new Promise((resolve) => timer = setTimeout(resolve, STOP_WAIT_MS))]);
          clearTimeout(timer);
          finish(false);
        })();
      interrupt = onInterrupt(stop);
      const onAbort = async () => {
        await stop();
        reject(signal?.reason ?? new DOMException("aborted", "AbortError"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.onmessage = (event: MessageEvent<WorkerReply | WorkerProgress>) => {
        const message = event.data;
        if (settled) return;
        if ("progress" in message) {
          onProgress?.(message.progress);
          return;
        }
        finish(true);
        if (message.ok) {
          resolve({ ops: message.ops, entries: message.entries, bytes: message.bytes, dirs: message.dirs });
        } else reject(revive(message.error));
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        if (settled) return;
        finish(false);
        reject(revive({ message: event.message }));
      };
      worker.postMessage({ ...request, ...(onProgress ? { progress: true } : {}) } satisfies WorkerRequest);
      if (watch !== undefined) void forward(watch, worker, () => settled);
    });
  }

  /** Terminates every worker, idle or busy (busy extractions then never settle: abort them first). */
  close(): void {
    this.#closed = true;
    for (const worker of [...this.#idle, ...this.#busy]) worker.terminate();
    this.#idle.length = 0;
    this.#busy.clear();
  }
}

/** Posts the writer's progress to the worker at every change until the write ends or the job settled. */
async function forward(watch: BlobWatch, worker: Worker, settled: () => boolean): Promise<void> {
  let last = -1;
  while (!settled()) {
    const { written, state } = watch.current();
    if (written !== last || state !== "writing") {
      last = written;
      worker.postMessage({ feed: true, written, state } satisfies WorkerFeed);
    }
    if (state !== "writing") return;
    await watch.changed();
  }
}

/** Extracts one layer in a worker of its own (stopped afterwards); see {@linkcode ExtractionWorkers.extract}. */
export async function extractInWorker(
  request: WorkerRequest,
  signal?: AbortSignal,
): Promise<WorkerRecord> {
  const pool = new ExtractionWorkers(1);
  try {
    return await pool.extract(request, signal !== undefined ? { signal } : {});
  } finally {
    pool.close();
  }
}
