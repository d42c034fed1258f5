/**
 * Terminal safety for human output. Tag and repository names, archive fields, certificate identities and server
 * error text come from remotes; printed raw, an escape sequence in them could write the clipboard (OSC 52),
 * retitle the window, move the cursor over earlier lines, or reorder text (bidi overrides). The CLI's sinks
 * (stdout and stderr writers in context.ts and mod.ts) pass everything through {@linkcode sanitizeTerminal};
 * `--json` output is made terminal-safe by {@linkcode terminalSafeJson} without changing any value.
 */

// C0 controls except TAB and LF, DEL, and C1 controls (8-bit CSI/OSC/DCS/ST among them).
// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// Bidirectional formatting (embeddings, overrides, isolates, marks) and the line/paragraph separators, which
// terminals render as line breaks.
const INVISIBLE_FORMAT = /[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, "0");
}

/**
 * Makes text safe to print on a terminal: every control character (ESC included, so no CSI, OSC, DCS or other
 * sequence survives) becomes a visible `\xNN`, and bidi/format characters a visible `\uNNNN`. TAB, LF and all
 * printable Unicode are kept. Idempotent, pure.
 */
export function sanitizeTerminal(text: string): string {
  return text
    .replace(CONTROLS, (c) => `\\x${hex(c, 2)}`)
    .replace(INVISIBLE_FORMAT, (c) => `\\u${hex(c, 4)}`);
}

/**
 * JSON text with the characters {@linkcode sanitizeTerminal} would rewrite written as `\uNNNN` escapes instead:
 * it parses to exactly the same value, and contains no byte a terminal would interpret. (JSON.stringify escapes
 * C0 controls itself, but emits DEL, C1 and bidi characters raw.) Such characters can only occur inside JSON
 * strings, where the escape is equivalent. Pure.
 */
export function terminalSafeJson(jsonText: string): string {
  return jsonText.replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${hex(c, 4)}`,
  );
}
