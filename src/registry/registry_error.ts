/**
 * Turning registry responses into one-line DropzoneErrors, and keeping secrets out of them: URLs lose their
 * userinfo and query values (pre-signed CDN URLs carry tokens), remote text loses control characters.
 */
import { formatBytes } from "../format.ts";
import { DropzoneError, type DropzoneErrorOptions, type ErrorCode } from "../errors.ts";

/** Options for {@linkcode RegistryError}. */
export interface RegistryErrorOptions extends DropzoneErrorOptions {
  /** The HTTP status that caused it, when there was one. */
  status?: number;
  /** True when the same request may succeed if sent again (connection lost, stall, 429, 5xx). */
  retryable?: boolean;
}

/**
 * A registry failure with its facts attached, so callers decide by type and field, never by message text:
 * `status` (HTTP), `retryable`, and the code. Every RegistryError is about reaching or talking to the
 * registry, never about whether content can be trusted (those are DIGEST_MISMATCH and the signature codes).
 */
export class RegistryError extends DropzoneError {
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(code, message, options);
    this.name = "RegistryError";
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}

/** Codes that say the bytes could not be obtained (as opposed to: they arrived and were wrong). */
const TRANSFER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "REGISTRY_UNREACHABLE",
  "REGISTRY_HTTP",
  "REGISTRY_AUTH",
  "RATE_LIMITED",
  "OFFLINE_MISS",
  "MANIFEST_UNKNOWN",
]);

/**
 * True when `err` means something could not be fetched (network down, reset, stall, truncated body, an HTTP
 * error answer, missing credentials, not cached offline): a failure to look, which must never be reported as
 * a trust verdict about what was not seen.
 */
export function isTransferFailure(err: unknown): boolean {
  return err instanceof DropzoneError && TRANSFER_CODES.has(err.code);
}

/** Error bodies are read up to this many bytes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

const SAFE_QUERY_PARAMS = new Set(["n", "last", "service", "scope", "artifactType", "digest"]);

/** A URL safe to show: no userinfo, query values other than a few harmless ones replaced by "REDACTED". */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return "(invalid URL)";
  }
  u.username = "";
  u.password = "";
  for (const key of [...u.searchParams.keys()]) {
    if (!SAFE_QUERY_PARAMS.has(key)) u.searchParams.set(key, "REDACTED");
  }
  return u.toString();
}

/** Strips control characters and collapses whitespace in remote text, and caps its length. */
export function sanitizeRemoteText(text: string, max = 200): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").replace(/\s+/g, " ").trim();
  return clean.length > max ? clean.slice(0, max - 1) + "…" : clean;
}

/**
 * Reads a response body fully, erroring (REGISTRY_PROTOCOL, naming the registry) once it exceeds `max` bytes.
 * The body is cancelled on overflow so the connection is released.
 */
export async function readCapped(
  res: Response,
  max: number,
  registry: string,
  what = "response",
): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  const tooBig = () =>
    new DropzoneError(
      "REGISTRY_PROTOCOL",
      `Registry "${registry}" sent a ${what} larger than ${formatBytes(max)}`,
      { hint: "Report this to the registry operator; dz refuses oversized documents" },
    );
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw tooBig();
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Parses a JSON response body; REGISTRY_PROTOCOL with `message` when it is not JSON. */
export function parseJsonBody(bytes: Uint8Array, message: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new DropzoneError("REGISTRY_PROTOCOL", message, {
      hint: "Report this to the registry operator",
      cause,
    });
  }
}

export { formatBytes };

/** `errors[].code: message` entries from an OCI error body, or undefined when it is not one. */
export function parseOciErrors(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { errors?: unknown }).errors)) {
    return undefined;
  }
  const parts = (doc as { errors: unknown[] }).errors.slice(0, 3).map((e) => {
    const r = (typeof e === "object" && e !== null ? e : {}) as Record<string, unknown>;
    const code = typeof r.code === "string" ? r.code : "";
    const message = typeof r.message === "string" ? r.message : "";
    return [code, message].filter(Boolean).join(": ");
  }).filter(Boolean);
  return parts.length ? sanitizeRemoteText(parts.join("; ")) : undefined;
}

/** Context for {@linkcode errorFromResponse}. */
export interface ErrorContext {
  /** Canonical registry name, shown in the message. */
  readonly registry: string;
  /** What was being done, e.g. `fetch manifest "app:1.0"`. */
  readonly action: string;
  /** Code for 404. @default {"REGISTRY_HTTP"} */
  readonly notFoundCode?: ErrorCode;
}

/** Maps a non-success response to a DropzoneError, consuming (at most 64 KiB of) its body. */
export async function errorFromResponse(res: Response, context: ErrorContext): Promise<RegistryError> {
  const { registry, action, notFoundCode = "REGISTRY_HTTP" } = context;
  let detail: string | undefined;
  try {
    const bytes = await readCapped(res, MAX_ERROR_BODY_BYTES, registry, "error body");
    detail = parseOciErrors(new TextDecoder().decode(bytes));
  } catch {
    await res.body?.cancel().catch(() => {});
  }
  const suffix = detail ? `: ${detail}` : "";
  const status = res.status;
  if (status === 429) {
    const remaining = res.headers.get("ratelimit-remaining");
    const retryAfter = res.headers.get("retry-after");
    const extra = [
      remaining ? `RateLimit-Remaining: ${sanitizeRemoteText(remaining, 40)}` : "",
      retryAfter ? `retry after ${sanitizeRemoteText(retryAfter, 40)}` : "",
    ].filter(Boolean).join(", ");
    return new RegistryError(
      "RATE_LIMITED",
      `Cannot ${action}: registry "${registry}" is rate limiting requests (429${extra ? `; ${extra}` : ""})`,
      {
        hint: `Wait and try again, or run "dz login ${registry}" for a higher limit`,
        status,
        retryable: true,
      },
    );
  }
  if (status === 401) {
    return new RegistryError(
      "REGISTRY_AUTH",
      `Cannot ${action}: registry "${registry}" requires authentication (401)${suffix}`,
      { hint: `Run "dz login ${registry}"`, status },
    );
  }
  if (status === 403) {
    return new RegistryError(
      "REGISTRY_AUTH",
      `Cannot ${action}: registry "${registry}" denied access (403)${suffix}`,
      {
        hint:
          `Check that your account on "${registry}" may pull this repository, or run "dz login ${registry}"`,
        status,
      },
    );
  }
  if (status === 404) {
    return new RegistryError(
      notFoundCode,
      `Cannot ${action}: not found on registry "${registry}" (404)${suffix}`,
      { hint: "Check the repository name and tag", status },
    );
  }
  return new RegistryError(
    "REGISTRY_HTTP",
    `Cannot ${action}: registry "${registry}" answered ${status}${suffix}`,
    {
      hint: status >= 500
        ? "The registry has a problem; try again later"
        : "Check the reference and your dz version",
      status,
      retryable: status >= 500 || status === 408,
    },
  );
}
