/**
 * Everything that turns data and errors into text. Errors: `error: <message>` and `hint: <hint>` on stderr,
 * the cause chain only with --verbose; anything that is not a DropzoneError is reported as a bug.
 */
import { DropzoneError, ioFailureHint } from "../errors.ts";
import { sanitizeTerminal } from "./sanitize.ts";

/** Escapes control characters (see sanitize.ts) and removes credentials from text that may come from a remote. */
export function sanitize(text: string): string {
  return sanitizeTerminal(text)
    .replace(/(\/\/)[^/@\s:]+:[^/@\s]+@/g, "$1***@")
    .replace(/([?&](?:token|access_token|password|X-Amz-Signature|sig)=)[^&\s]+/gi, "$1***")
    .replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, "$1 ***");
}

/** Formats an error for stderr. */
export function formatError(err: unknown, options: { verbose: boolean }): string {
  if (err instanceof DropzoneError) {
    let out = `error: ${sanitize(err.message)}\n`;
    if (err.hint) out += `hint: ${sanitize(err.hint)}\n`;
    if (options.verbose) {
      let cause = err.cause;
      while (cause !== undefined) {
        out += `  caused by: ${sanitize(cause instanceof Error ? cause.message : String(cause))}\n`;
        cause = cause instanceof Error ? cause.cause : undefined;
      }
    }
    return out;
  }
  if (err instanceof Deno.errors.NotCapable) {
    return `error: dz was denied a permission it needs: ${sanitize(err.message)}\n` +
      "hint: this is a build defect; report it with the output of `dz --version`\n";
  }
  const message = err instanceof Error ? err.message : String(err);
  const ioHint = ioFailureHint(err);
  if (ioHint !== undefined) return `error: ${sanitize(message)}\nhint: ${ioHint}\n`;
  let out = `error: unexpected failure (this is a bug in dz): ${sanitize(message)}\n`;
  if (options.verbose && err instanceof Error && err.stack) out += sanitize(err.stack) + "\n";
  else out += "hint: run again with --verbose for details, and report it\n";
  return out;
}

/** Renders an aligned table with a header row; two spaces between columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  // Sanitised before measuring, so escaped cells stay aligned.
  const clean = rows.map((r) => r.map((c) => sanitize(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...clean.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...clean.map(line)].join("\n") + "\n";
}

/**
 * Stable JSON for --json output: two-space indent and a trailing newline. Values are exact; characters a
 * terminal would interpret are written as `\uNNNN` escapes, so the stdout sanitiser leaves it unchanged.
 */
export function json(value: unknown): string {
  return sanitizeTerminal(JSON.stringify(value, null, 2)) + "\n";
}

/** Human-readable byte counts (one rule for messages and tables: src/format.ts). */
export { formatBytes } from "../format.ts";

/** "2026-11-22 19:48" in UTC, for tables. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return "-";
  return iso.replace("T", " ").slice(0, 16);
}
