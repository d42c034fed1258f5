/**
 * Extraction of one layer in a Deno Worker (extract_worker.ts), an experiment measured against the main-thread
 * path (bench/worker_bench.ts; README "Benchmarks"). The worker runs the same applyLayer into the snapshot
 * staging tree it is given; abort and interrupt terminate it before the caller removes that tree.
 */
import { DropzoneError, type ErrorCode } from "../errors.ts";
import { onInterrupt } from "../interrupt.ts";
import type { LayerLimits, LayerOp } from "./rules.ts";

/** What the worker gets: a blob already verified against its digest, and the empty tree to extract into. */
export interface WorkerRequest {
  readonly blobPath: string;
  readonly mediaType: string;
  readonly tree: string;
  readonly label?: string;
  readonly limits?: Partial<LayerLimits>;
}

/** What the worker posts back: the layer record, or the error it stopped with. */
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

function revive(error: Extract<WorkerReply, { ok: false }>["error"]): DropzoneError {
  if (error.code !== undefined) {
    return new DropzoneError(error.code, error.message, error.hint !== undefined ? { hint: error.hint } : {});
  }
  return new DropzoneError("IO", `Cannot extract a layer: ${error.message}`, {
    hint: "Check free disk space and permissions of the dz home",
  });
}

/** Extracts `request.blobPath` into `request.tree` in a new Worker; rejects on abort (the worker is stopped). */
export function extractInWorker(request: WorkerRequest, signal?: AbortSignal): Promise<WorkerRecord> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  // A module load (bundled by `deno compile`), not a file read.
  const worker = new Worker(new URL("./extract_worker.ts", import.meta.url), { type: "module" });
  // Registered after the caller's staging cleanup, so an interrupt stops the worker before the tree goes.
  const interrupt = onInterrupt(() => Promise.resolve(worker.terminate()));
  return new Promise<WorkerRecord>((resolve, reject) => {
    const finish = () => {
      worker.terminate();
      interrupt.release();
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason ?? new DOMException("aborted", "AbortError"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      finish();
      const reply = event.data;
      if (reply.ok) resolve({ ops: reply.ops, entries: reply.entries, bytes: reply.bytes, dirs: reply.dirs });
      else reject(revive(reply.error));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      finish();
      reject(revive({ message: event.message }));
    };
    worker.postMessage(request);
  });
}
