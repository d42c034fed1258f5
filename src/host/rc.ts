/**
 * The dz PATH block in shell rc files (pure). Edits touch only the block: everything else in the file is
 * kept byte for byte, including CRLF line ends and a missing trailing newline, so setup followed by unset
 * restores the original file exactly.
 */

/** First line of the block. */
export const RC_START = "# >>> dz PATH >>>";
/** Last line of the block. */
export const RC_END = "# <<< dz PATH <<<";

/** Shells dz can configure. */
export type Shell = "bash" | "zsh" | "fish";

/** Result of an rc edit. */
export interface RcEdit {
  readonly text: string;
  readonly changed: boolean;
  /** A start marker without an end marker: the text is returned unchanged rather than guessed at. */
  readonly malformed: boolean;
}

/** Quotes for POSIX sh, bash and zsh. */
function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes for fish: inside '…' only \' and \\ are escapes. */
function fishQuote(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/**
 * The block (markers included, "\n"-separated, no trailing newline) that puts `binDir` first on PATH
 * unless it is already there, so sourcing the rc file twice does not add it twice.
 */
export function renderPathBlock(shell: Shell, binDir: string): string {
  if (shell === "fish") {
    const dir = fishQuote(binDir);
    return [RC_START, `if not contains -- ${dir} $PATH`, `    set -gx PATH ${dir} $PATH`, "end", RC_END].join(
      "\n",
    );
  }
  const dir = shQuote(binDir);
  return [
    RC_START,
    `case ":\${PATH}:" in`,
    `  *:${dir}:*) ;;`,
    `  *) export PATH=${dir}"\${PATH:+:\${PATH}}" ;;`,
    "esac",
    RC_END,
  ].join("\n");
}

interface Located {
  /** Offset of the start marker line. */
  readonly start: number;
  /** Offset just past the end marker's text (before its line end), or -1 when there is no end marker. */
  readonly end: number;
}

function locateBlock(text: string): Located | null {
  let start = -1;
  let offset = 0;
  while (offset <= text.length) {
    const nl = text.indexOf("\n", offset);
    const lineEnd = nl < 0 ? text.length : nl;
    const line = text.slice(offset, lineEnd).replace(/\r$/, "").trimEnd();
    if (start < 0 && line === RC_START) start = offset;
    else if (start >= 0 && line === RC_END) {
      const contentEnd = text[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd;
      return { start, end: contentEnd };
    }
    if (nl < 0) break;
    offset = nl + 1;
  }
  return start >= 0 ? { start, end: -1 } : null;
}

function lineEnding(text: string): string {
  return text.includes("\r\n") ? "\r\n" : "\n";
}

/**
 * Adds `block` to `text`, or replaces an existing block in place. A new block is appended after a blank
 * line (or directly, without a trailing newline, when the file has none), which `removeRcBlock` undoes.
 */
export function applyRcBlock(text: string, block: string): RcEdit {
  const eol = lineEnding(text);
  const body = block.split(/\r?\n/).join(eol);
  const found = locateBlock(text);
  if (found !== null) {
    if (found.end < 0) return { text, changed: false, malformed: true };
    const next = text.slice(0, found.start) + body + text.slice(found.end);
    return { text: next, changed: next !== text, malformed: false };
  }
  let next: string;
  if (text.length === 0) next = body + eol;
  else if (text.endsWith("\n")) next = text + eol + body + eol;
  else next = text + eol + body;
  return { text: next, changed: true, malformed: false };
}

/** Removes the block (and the separator `applyRcBlock` added). Unchanged when absent or malformed. */
export function removeRcBlock(text: string): RcEdit {
  const found = locateBlock(text);
  if (found === null) return { text, changed: false, malformed: false };
  if (found.end < 0) return { text, changed: false, malformed: true };
  const eol = lineEnding(text);
  let before = text.slice(0, found.start);
  let after = text.slice(found.end);
  if (after.startsWith(eol)) {
    after = after.slice(eol.length);
    // Drop the blank separator line, if there is one.
    if (before === eol || before.endsWith(eol + eol)) before = before.slice(0, -eol.length);
  } else if (after.startsWith("\n")) {
    after = after.slice(1);
  } else if (before.endsWith(eol)) {
    // The block was the unterminated last line: remove the line end that introduced it.
    before = before.slice(0, -eol.length);
  }
  return { text: before + after, changed: true, malformed: false };
}
