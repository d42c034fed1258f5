/** Blob reads: a digest-checked stream that resumes a broken transfer with Range, and a capped in-memory read. */
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { MAX_MANIFEST_BYTES, repoRequest, type ResourceContext } from "./manifests.ts";
import { errorFromResponse, formatBytes, readCapped, RegistryError } from "./registry_error.ts";
import { isConnectionError } from "./transport.ts";
import type { BlobOptions, RepoRef } from "./types.ts";
import { digestVerifier, verifiedStream } from "./verify_stream.ts";

/** Streams a blob; the stream errors with DIGEST_MISMATCH unless the bytes hash to `digest`. */
export async function getBlob(
  ctx: ResourceContext,
  repo: RepoRef,
  digest: Digest,
  opts: BlobOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const { size, signal, onProgress } = opts;
  const what = `blob ${digest} from registry "${repo.registry}"`;
  const request = {
    ...repoRequest(repo),
    path: `/v2/${repo.repository}/blobs/${digest}`,
    ...(signal ? { signal } : {}),
  };
  const res = await ctx.http.send(request);
  if (res.status !== 200 || !res.body) {
    throw await errorFromResponse(res, { registry: repo.registry, action: `fetch blob ${digest}` });
  }
  let reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  let received = 0;
  let resumes = 0;
  // A transfer fault (connection lost, a stalled body, a body shorter than the descriptor says) is resumed
  // with Range up to `retries` times, then reported as REGISTRY_UNREACHABLE (exit 1). Only bytes that
  // arrive and hash wrong, or more bytes than the descriptor says, are a trust failure (digestVerifier).
  const lost = (detail: string, cause?: unknown) =>
    new RegistryError("REGISTRY_UNREACHABLE", `Cannot download ${what}: ${detail}`, {
      hint: "Check the network and try again",
      retryable: true,
      ...(cause === undefined ? {} : { cause }),
    });
  /** Opens a Range resume at `received`; an error to report, or undefined when `reader` was replaced. */
  async function resume(): Promise<unknown> {
    resumes++;
    const again = await ctx.http.send({ ...request, headers: { Range: `bytes=${received}-` } }).catch((e) =>
      e
    );
    if (again instanceof Error) return again;
    const resumed = again as Response;
    if (resumed.status === 206 && resumed.body) {
      const start = /^bytes (\d+)-/.exec(resumed.headers.get("content-range") ?? "")?.[1];
      if (start !== undefined && Number(start) !== received) {
        await resumed.body.cancel();
        return new DropzoneError(
          "REGISTRY_PROTOCOL",
          `Registry "${repo.registry}" resumed ${digest} at the wrong offset`,
        );
      }
      reader = resumed.body.getReader();
      return undefined;
    }
    if (resumed.status === 200 && resumed.body) {
      reader = resumed.body.pipeThrough(skipBytes(received)).getReader();
      return undefined;
    }
    return await errorFromResponse(resumed, { registry: repo.registry, action: `resume blob ${digest}` });
  }
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        let fault: unknown;
        try {
          const { done, value } = await reader.read();
          if (!done) {
            received += value.byteLength;
            onProgress?.(value.byteLength);
            controller.enqueue(value);
            return;
          }
          if (size === undefined || received >= size) {
            controller.close();
            return;
          }
          fault = lost(`the registry sent ${formatBytes(received)} of ${formatBytes(size)}`);
        } catch (err) {
          if (!isConnectionError(err) || signal?.aborted) {
            controller.error(err);
            return;
          }
          fault = err instanceof RegistryError
            ? err
            : lost(`connection lost after ${formatBytes(received)}`, err);
        }
        if (resumes >= ctx.retries) {
          controller.error(fault);
          return;
        }
        const failed = await resume();
        if (failed !== undefined) {
          controller.error(failed);
          return;
        }
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
  return size === undefined
    ? source.pipeThrough(digestVerifier(digest, { what }))
    : verifiedStream(source, digest, { what, size });
}

/** Reads a small blob (config, attestation) into memory, refusing one over `maxBytes`. */
export async function getBlobBytes(
  ctx: ResourceContext,
  repo: RepoRef,
  digest: Digest,
  opts: BlobOptions & { maxBytes?: number } = {},
): Promise<Uint8Array> {
  const { maxBytes = MAX_MANIFEST_BYTES, ...rest } = opts;
  if (rest.size !== undefined && rest.size > maxBytes) {
    throw new DropzoneError(
      "REGISTRY_PROTOCOL",
      `Blob ${digest} on registry "${repo.registry}" is ${formatBytes(rest.size)}, over the ${
        formatBytes(maxBytes)
      } limit`,
    );
  }
  const stream = await getBlob(ctx, repo, digest, rest);
  return await readCapped(new Response(stream), maxBytes, repo.registry, `blob ${digest}`);
}

/** Drops the first `count` bytes of a stream (a server that ignored our Range header). */
function skipBytes(count: number): TransformStream<Uint8Array, Uint8Array> {
  let left = count;
  return new TransformStream({
    transform(chunk, controller) {
      if (left >= chunk.byteLength) {
        left -= chunk.byteLength;
        return;
      }
      controller.enqueue(left > 0 ? chunk.subarray(left) : chunk);
      left = 0;
    },
  });
}
