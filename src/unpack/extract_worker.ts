/**
 * The Deno Worker entry of {@linkcode extractInWorker}: extracts one verified layer blob into an empty snapshot
 * tree with applyLayer, the same contained unpacker the main thread runs, and posts back what it recorded.
 */
import { DropzoneError } from "../errors.ts";
import { readableOf } from "../fs.ts";
import { applyLayer } from "./extract.ts";
import { openLayer } from "./layer.ts";
import type { LayerOp } from "./rules.ts";
import type { WorkerReply, WorkerRequest } from "./worker_extract.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

async function extract(request: WorkerRequest): Promise<WorkerReply> {
  try {
    const file = await Deno.open(request.blobPath, { read: true });
    const record = { ops: [] as LayerOp[] };
    const state = await applyLayer(openLayer(readableOf(file), request.mediaType), request.tree, {
      record,
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
  scope.postMessage(await extract(event.data));
  scope.close();
};
