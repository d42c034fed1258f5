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

/** Options for {@linkcode table}. */
export interface TableOptions {
  /** Terminal width (lines stay below it); undefined (piped output) renders every cell in full. */
  width?: number | undefined;
  /**
   * Columns that may be truncated (with "…") to fit `width`, most expendable first. The last column is always
   * cut to what is left, so no line is ever wider than `width`.
   */
  shrink?: readonly number[];
}

/** The narrowest a shrinkable column gets (its header, or this many characters). */
const MIN_COLUMN = 8;

/** `text` cut to `width` characters, ending in "…" when it was cut. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 0) return "";
  return chars.slice(0, width - 1).join("") + "…";
}

/** Renders an aligned table with a header row; two spaces between columns; fits `width` when given. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const clean = rows.map((r) => headers.map((_, i) => sanitize(r[i] ?? "")));
  const len = (s: string) => [...s].length;
  const widths = headers.map((h, i) => Math.max(len(h), ...clean.map((r) => len(r[i]!))));
  // A line never reaches the terminal's last column (where some terminals wrap).
  const width = options.width === undefined ? undefined : Math.max(1, options.width - 1);
  if (width !== undefined) {
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    for (const col of options.shrink ?? []) {
      const excess = total() - width;
      if (excess <= 0) break;
      const floor = Math.max(len(headers[col] ?? ""), MIN_COLUMN);
      widths[col] = Math.max(floor, widths[col]! - excess);
    }
    // Whatever is still too wide comes off the last column (never below one character).
    const last = widths.length - 1;
    const excess = total() - width;
    if (excess > 0) widths[last] = Math.max(1, widths[last]! - excess);
  }
  const line = (cells: readonly string[]) => {
    const text = cells.map((c, i) => {
      const cut = truncate(c, widths[i]!);
      return i === cells.length - 1 ? cut : cut.padEnd(widths[i]! + (cut.length - len(cut)));
    }).join("  ").trimEnd();
    // A column wider than the terminal (tiny widths) is still cut: a table line never wraps.
    return width !== undefined ? truncate(text, width) : text;
  };
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

/** "1 update", "2 updates". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * Folds a message at spaces so that no line reaches `width` columns; continuation lines are indented by two
 * spaces. A word longer than a line (a signer URL) is broken after a "/" or "@" (or, failing that, anywhere),
 * never cut short: every character is still shown.
 */
export function fold(text: string, width: number): string {
  const max = Math.max(8, width - 1);
  return text.split("\n").map((whole) => {
    if (whole.length <= max) return whole;
    // A line's own indentation is kept; its continuation lines are indented two more.
    const lead = /^ */.exec(whole)![0].slice(0, max - 4);
    const indent = lead + "  ";
    const line = whole.slice(lead.length);
    const out: string[] = [];
    let current = lead;
    const push = () => {
      out.push(current);
      current = indent;
    };
    for (const word of line.split(" ")) {
      const sep = current === lead || current === indent ? "" : " ";
      if ((current + sep + word).length <= max) {
        current += sep + word;
        continue;
      }
      if (current.trim() !== "" && indent.length + word.length <= max) {
        push();
        current += word;
        continue;
      }
      // The word does not fit on any line: break it, preferably after a "/" or "@".
      let rest = sep ? " " + word : word;
      while ((current + rest).length > max) {
        const room = max - current.length;
        const slice = rest.slice(0, room);
        const cut = Math.max(slice.lastIndexOf("/"), slice.lastIndexOf("@"));
        const at = cut > 0 ? cut + 1 : room;
        if (at <= 0) {
          push();
          continue;
        }
        current += rest.slice(0, at);
        rest = rest.slice(at).replace(/^ /, "");
        push();
      }
      current += rest;
    }
    if (current.trim() !== "") out.push(current);
    return out.join("\n");
  }).join("\n");
}
