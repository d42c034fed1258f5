/**
 * The one function that sends registry HTTP requests, and so owns the policy: manual redirects with a hop
 * limit, `Authorization` only to the origin it was meant for (blob redirects to a CDN are normal), no
 * https→http downgrade, no redirect from a public host into private address space (literals, IPv4-mapped
 * IPv6, and names that resolve there), retries with jittered
 * backoff for 429/5xx/connection errors honouring a bounded `Retry-After`, a timeout for the response headers
 * and an idle timeout for the body, a per-host concurrency limit held until the body is consumed, and a
 * `User-Agent`.
 */
import { DropzoneError } from "../errors.ts";
import { canonicalRegistryHost, type HostResolver, resolvesPrivate, resolveWithDns } from "./hosts.ts";
import { redactUrl, RegistryError, sanitizeRemoteText } from "./registry_error.ts";
import { Semaphore } from "../semaphore.ts";

/** Options for {@linkcode createTransport}. */
export interface TransportOptions {
  fetch: typeof fetch;
  userAgent: string;
  /** @default {4} */
  concurrencyPerHost?: number;
  /** Extra attempts after the first for temporary failures. @default {3} */
  retries?: number;
  /** Time to response headers, and the longest pause allowed while reading a body. @default {30000} */
  timeoutMs?: number;
  /** Longest `Retry-After` dz waits for; longer ones fail at once. @default {60000} */
  maxRetryAfterMs?: number;
  /** @default {setTimeout-based} */
  sleep?: (ms: number) => Promise<void>;
  /** @default {Math.random} */
  random?: () => number;
  /** Resolves names for the private-address guard (A and AAAA). @default {Deno.resolveDns} */
  resolveHost?: HostResolver;
}

/** Per-request options for {@linkcode Transport.send}. */
export interface SendOptions {
  /** Canonical registry name, for messages. */
  registry: string;
  /** @default {"GET"} */
  method?: string;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** Sends requests under dz's HTTP policy. */
export interface Transport {
  /**
   * Sends a request and returns the final response of any status (errors only for policy violations and
   * unreachable hosts). The body must be consumed or cancelled: it holds a concurrency slot until then.
   */
  send(url: URL, options: SendOptions): Promise<Response>;
  /**
   * True when `host` is in private address space: a literal (IPv4-mapped IPv6 and `[::]` included) or a name
   * that resolves there. The guard for redirects and token realms from a public registry; cached per host.
   */
  isPrivateHost(host: string): Promise<boolean>;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

const CONNECTION_ERRORS = [
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.ConnectionRefused,
  Deno.errors.UnexpectedEof,
  Deno.errors.BrokenPipe,
  Deno.errors.NotConnected,
  Deno.errors.TimedOut,
  Deno.errors.Http,
];

/**
 * True for errors that mean the connection failed (worth a retry or a Range resume), not an abort: fetch's
 * TypeError (Deno reports refused, reset and closed connections that way), Deno's connection errors, and a
 * RegistryError marked retryable (a stalled body). Decided by type, never by message text.
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof RegistryError) return err.retryable && err.status === undefined;
  if (err instanceof DropzoneError || err instanceof DOMException) return false;
  return err instanceof TypeError || CONNECTION_ERRORS.some((type) => err instanceof type);
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Deadline {
  readonly controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ms: number;
  timedOut = false;
  constructor(ms: number) {
    this.#ms = ms;
    this.reset();
  }
  reset(): void {
    this.clear();
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException("timed out", "TimeoutError"));
    }, this.#ms);
  }
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Creates a {@linkcode Transport}. */
export function createTransport(options: TransportOptions): Transport {
  const {
    fetch,
    userAgent,
    concurrencyPerHost = 4,
    retries = 3,
    timeoutMs = 30_000,
    maxRetryAfterMs = 60_000,
    sleep = defaultSleep,
    random = Math.random,
    resolveHost = resolveWithDns,
  } = options;
  // One lookup per host and process: the guard runs on redirects only, but a registry redirects every blob.
  const privateHosts = new Map<string, Promise<boolean>>();
  const isPrivate = (host: string) => {
    const key = canonicalRegistryHost(host);
    let p = privateHosts.get(key);
    if (!p) privateHosts.set(key, p = resolvesPrivate(host, resolveHost));
    return p;
  };
  const limits = new Map<string, Semaphore>();
  const limitFor = (host: string) => {
    let s = limits.get(host);
    if (!s) limits.set(host, s = new Semaphore(concurrencyPerHost));
    return s;
  };

  const unreachable = (registry: string, url: URL, detail: string, cause: unknown) =>
    new RegistryError(
      "REGISTRY_UNREACHABLE",
      `Cannot reach registry "${registry}" (${redactUrl(url)}): ${detail}`,
      { hint: "Check the network and the registry address, then try again", cause, retryable: true },
    );

  /** One attempt including redirects. Returns the response and the deadline guarding its body. */
  async function attempt(
    url: URL,
    options: SendOptions,
  ): Promise<{ res: Response; deadline: Deadline; url: URL }> {
    const { registry, signal } = options;
    let method = options.method ?? "GET";
    let body = options.body;
    const headers = new Headers(options.headers);
    headers.set("User-Agent", userAgent);
    const origin = url.origin;
    let current = url;
    for (let hop = 0;; hop++) {
      const deadline = new Deadline(timeoutMs);
      const combined = signal
        ? AbortSignal.any([signal, deadline.controller.signal])
        : deadline.controller.signal;
      let res: Response;
      try {
        res = await fetch(current, {
          method,
          headers,
          redirect: "manual",
          signal: combined,
          ...(body === undefined ? {} : { body: body as BodyInit }),
        });
      } catch (err) {
        deadline.clear();
        if (signal?.aborted) throw signal.reason;
        if (deadline.timedOut) {
          throw unreachable(registry, current, `no response within ${timeoutMs / 1000} s`, err);
        }
        throw err;
      }
      if (!REDIRECT_STATUSES.has(res.status) || !res.headers.has("location")) {
        return { res, deadline, url: current };
      }
      deadline.clear();
      await res.body?.cancel();
      if (hop + 1 > MAX_REDIRECTS) {
        throw new DropzoneError(
          "REGISTRY_PROTOCOL",
          `Registry "${registry}" redirected more than ${MAX_REDIRECTS} times (${redactUrl(url)})`,
          { hint: "The registry is misconfigured (redirect loop); report it to its operator" },
        );
      }
      let next: URL;
      try {
        next = new URL(res.headers.get("location")!, current);
      } catch (cause) {
        throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${registry}" sent an invalid redirect`, {
          cause,
        });
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${registry}" redirected to a non-HTTP URL`);
      }
      if (current.protocol === "https:" && next.protocol === "http:") {
        throw new DropzoneError(
          "REGISTRY_PROTOCOL",
          `Registry "${registry}" redirected from https to plain http (${redactUrl(next)}); refused`,
          { hint: "Report this to the registry operator" },
        );
      }
      if (next.origin !== origin && !(await isPrivate(url.host)) && await isPrivate(next.host)) {
        throw new DropzoneError(
          "REGISTRY_PROTOCOL",
          `Registry "${registry}" redirected to a private address (${redactUrl(next)}); refused`,
        );
      }
      if (next.origin !== origin) {
        // Credentials belong to the registry's origin only; once dropped they are never re-added.
        headers.delete("authorization");
        headers.delete("cookie");
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        headers.delete("content-type");
      }
      current = next;
    }
  }

  function wrap(
    res: Response,
    deadline: Deadline,
    release: () => void,
    finalUrl: URL,
    registry: string,
  ): Response {
    if (!res.body) {
      deadline.clear();
      release();
      return res;
    }
    const reader = res.body.getReader();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      deadline.clear();
      release();
    };
    // Idle timeout while reading the body: each read waits at most timeoutMs for data. Enforced here rather
    // than through the fetch's abort signal, which does not reliably interrupt a body read that is already
    // waiting (a stall mid-body then hung forever); and only while dz waits, so a slow consumer is no stall.
    deadline.clear();
    const stalled = () =>
      new RegistryError(
        "REGISTRY_UNREACHABLE",
        `Registry "${registry}" stalled: no data for ${timeoutMs / 1000} s (${redactUrl(finalUrl)})`,
        { hint: "Check the network and try again", retryable: true },
      );
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<"stalled">((resolve) =>
          timer = setTimeout(() => resolve("stalled"), timeoutMs)
        );
        try {
          const result = await Promise.race([reader.read(), idle]);
          if (result === "stalled") {
            finish();
            // Drop the connection: the pending read and the socket go with it.
            deadline.controller.abort(new DOMException("stalled", "TimeoutError"));
            reader.cancel().catch(() => {});
            controller.error(stalled());
            return;
          }
          if (result.done) {
            finish();
            controller.close();
            return;
          }
          controller.enqueue(result.value);
        } catch (err) {
          finish();
          controller.error(err);
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel(reason) {
        finish();
        await reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    const out = new Response(stream, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    Object.defineProperty(out, "url", { value: finalUrl.toString() });
    return out;
  }

  return {
    isPrivateHost: isPrivate,
    async send(url, sendOptions) {
      const { registry, signal } = sendOptions;
      // The permit stays held until the response body is consumed or cancelled (see wrap), not just the send.
      const permit = await limitFor(canonicalRegistryHost(url.host)).acquire();
      const release = permit.release;
      let handedOver = false;
      try {
        for (let n = 0;; n++) {
          const last = n >= retries;
          let result;
          try {
            result = await attempt(url, sendOptions);
          } catch (err) {
            if (err instanceof DropzoneError || signal?.aborted || !isConnectionError(err)) throw err;
            if (last) {
              throw unreachable(
                registry,
                url,
                sanitizeRemoteText(err instanceof Error ? err.message : String(err)),
                err,
              );
            }
            await sleep(backoff(n));
            continue;
          }
          const { res, deadline } = result;
          if (RETRY_STATUSES.has(res.status) && !last) {
            const retryAfter = parseRetryAfter(res.headers.get("retry-after"), Date.now());
            if (retryAfter === undefined || retryAfter <= maxRetryAfterMs) {
              deadline.clear();
              await res.body?.cancel();
              await sleep(retryAfter ?? backoff(n));
              continue;
            }
          }
          handedOver = true;
          return wrap(res, deadline, release, result.url, registry);
        }
      } finally {
        if (!handedOver) release();
      }
    },
  };

  function backoff(attemptIndex: number): number {
    const base = Math.min(5_000, 250 * 2 ** attemptIndex);
    return Math.round(base * (0.5 + random()));
  }
}
