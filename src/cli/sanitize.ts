/**
 * Terminal safety for human output. Tag and repository names, archive fields, certificate identities and server
 * error text come from remotes; printed raw, an escape sequence in them could write the clipboard (OSC 52),
 * retitle the window, move the cursor over earlier lines, or reorder text (bidi overrides). The CLI's sinks
 * (stdout and stderr writers in context.ts and mod.ts) pass everything through {@linkcode sanitizeTerminal}.
 */

// C0 controls except TAB and LF, DEL, C1 controls (8-bit CSI/OSC/DCS/ST among them), bidirectional formatting
// (embeddings, overrides, isolates, marks) and the line/paragraph separators terminals render as line breaks.
// deno-lint-ignore no-control-regex
const UNSAFE = new RegExp(
  "[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]",
  "g",
);

/**
 * Makes text safe to print on a terminal: every control character (ESC included, so no CSI, OSC, DCS or other
 * sequence survives) and every bidi/format character becomes a visible `\uNNNN`. TAB, LF and all printable
 * Unicode are kept. Idempotent, pure.
 *
 * The escape is JSON's: JSON.stringify already escapes C0 controls, so applied to JSON text this leaves valid
 * JSON that parses to exactly the same values (`--json` stays exact), with nothing a terminal would interpret.
 */
export function sanitizeTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
