/**
 * A scripted AuthedTransport for the registry resource modules (manifests, blobs, lists, referrers): each request
 * is answered by a handler, every request is recorded, and no socket is opened.
 */
import type { ResourceContext } from "../../src/registry/manifests.ts";
import type { AuthedRequest, AuthedTransport } from "../../src/registry/with_auth.ts";

/** Answers one request; throwing simulates a connection failure. */
export type Handler = (req: AuthedRequest, n: number) => Response | Promise<Response>;

/** A transport that answers with `handler` and keeps every request in `requests`. */
export interface ScriptedTransport extends AuthedTransport {
  readonly requests: AuthedRequest[];
}

/** The origin every scripted registry lives on. */
export const SCRIPTED_ORIGIN = "https://registry.test";

/** Creates a {@linkcode ScriptedTransport}. */
export function scriptedTransport(handler: Handler): ScriptedTransport {
  const requests: AuthedRequest[] = [];
  return {
    requests,
    send(req) {
      requests.push(req);
      return Promise.resolve(handler(req, requests.length - 1));
    },
    originFor: () => SCRIPTED_ORIGIN,
  };
}

/** A ResourceContext over a scripted transport (4 MiB manifests, `retries` resumes). */
export function scriptedContext(
  handler: Handler,
  options: { maxManifestBytes?: number; retries?: number } = {},
): ResourceContext & { http: ScriptedTransport } {
  return {
    http: scriptedTransport(handler),
    maxManifestBytes: options.maxManifestBytes ?? 4 * 1024 * 1024,
    retries: options.retries ?? 3,
  };
}

/** A JSON response with `status` (200) and extra headers. */
export function jsonResponse(
  body: unknown,
  init: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { "content-type": "application/json", ...init.headers },
  });
}

/** A body stream that sends `chunks` and then fails as a dropped connection does (a TypeError). */
export function brokenBody(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.error(new TypeError("error reading a body from connection: connection reset"));
    },
  });
}
