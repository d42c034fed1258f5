/**
 * An in-process HTTP proxy on 127.0.0.1 in front of a real registry that injects faults into chosen requests:
 * a connection reset mid-body, a 5xx answer, a stall, or a body shorter than its Content-Length says.
 *
 * ```ts
 * await using proxy = await startFaultProxy(registry.url, (req) => isSigBlob(req) ? "reset" : undefined);
 * // point dz at proxy.host instead of registry.host
 * ```
 */
import { halfThenBreak } from "./broken_body.ts";

/** What to do with one request; undefined passes it through untouched. */
export type Fault = "reset" | "503" | "stall" | "short" | undefined;

/** Picks the fault for a request (URL path and method), called once per request. */
export type FaultPicker = (request: { method: string; path: string; range: string | null }) => Fault;

/** A running proxy. */
export interface FaultProxy extends AsyncDisposable {
  /** 127.0.0.1:port */
  readonly host: string;
  /** Requests that got a fault, as "METHOD path fault". */
  readonly faulted: string[];
  close(): Promise<void>;
}

/** Starts the proxy forwarding to `upstream` (e.g. "http://127.0.0.1:5000"). */
export function startFaultProxy(upstream: string, pick: FaultPicker): Promise<FaultProxy> {
  const faulted: string[] = [];
  let releaseStalls!: () => void;
  const stalls = new Promise<void>((r) => releaseStalls = r);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const fault = pick({ method: req.method, path: url.pathname, range: req.headers.get("range") });
    if (fault) faulted.push(`${req.method} ${url.pathname} ${fault}`);
    if (fault === "503") return new Response("fault proxy: unavailable", { status: 503 });
    const headers = new Headers(req.headers);
    headers.delete("host");
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
    const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body }),
    });
    const outHeaders = new Headers(res.headers);
    if (!fault || req.method === "HEAD") {
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers: outHeaders });
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (fault === "reset") {
      outHeaders.set("content-length", String(bytes.length));
      return new Response(
        halfThenBreak(bytes, new Deno.errors.ConnectionReset("fault proxy: connection reset"), 10),
        { status: res.status, headers: outHeaders },
      );
    }
    if (fault === "short") {
      const half = bytes.slice(0, Math.floor(bytes.length / 2));
      outHeaders.set("content-length", String(half.length));
      return new Response(half, { status: res.status, headers: outHeaders });
    }
    // stall: half the body, then nothing until the proxy closes.
    let sent = false;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(bytes.slice(0, Math.floor(bytes.length / 2)));
            return;
          }
          await stalls;
          controller.close();
        },
      }),
      { status: res.status, headers: outHeaders },
    );
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    releaseStalls();
    await server.shutdown();
  };
  return Promise.resolve({
    host: `127.0.0.1:${server.addr.port}`,
    faulted,
    close,
    [Symbol.asyncDispose]: close,
  });
}
