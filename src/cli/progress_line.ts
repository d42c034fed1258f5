/**
 * The text of install progress (pure): the redrawn terminal line, fitted to a width, and the final summary.
 * Times are milliseconds; sizes are bytes.
 */
import { formatBytesFixed } from "../format.ts";

/** What the progress line shows. */
export interface ProgressSnapshot {
  readonly phase: "download" | "unpack";
  /** Bytes done in this phase (downloaded or cached; or read by the unpacker). */
  readonly done: number;
  /** Bytes in this phase: the sum of the image's layer sizes, known once the image is resolved. */
  readonly total: number;
  /** Download speed in bytes per second over the recent window, or undefined before there is one. */
  readonly speed: number | undefined;
  /** Layers started unpacking / layers in the image. */
  readonly unpackIndex: number;
  readonly layers: number;
}

/** How the line may be drawn. */
export interface LineStyle {
  /** Columns available; the line never reaches the last column (some terminals wrap there). */
  readonly width: number;
  /** SGR colour for the bar (off for NO_COLOR). */
  readonly color: boolean;
}

/** "3s", "1m05s", "2h10m"; "--" when unknown. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return "--";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "0.4s" below ten seconds, else as {@linkcode formatDuration}. */
export function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms);
}

function bar(fraction: number, width: number, color: boolean): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  const full = "█".repeat(filled);
  const empty = "░".repeat(width - filled);
  return color ? `\x1b[36m${full}\x1b[2m${empty}\x1b[0m` : full + empty;
}

/** Visible length: SGR colour sequences take no columns. */
export function visibleLength(text: string): number {
  // deno-lint-ignore no-control-regex
  return [...text.replace(/\x1b\[[0-9;]*m/g, "")].length;
}

/**
 * The progress line, at most `width - 1` columns: label, percentage, bar, bytes, speed and ETA; when the
 * width is short the bar shrinks first, then speed, ETA and the byte counts are dropped, never wrapped.
 */
export function progressLine(p: ProgressSnapshot, style: LineStyle): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const label = p.phase === "download" ? "Downloading" : `Unpacking ${p.unpackIndex}/${p.layers}`;
  const bytes = `${formatBytesFixed(Math.min(p.done, p.total))} / ${formatBytesFixed(p.total)}`;
  const eta = p.phase === "download" && p.speed !== undefined && p.speed > 0
    ? `ETA ${formatDuration(((p.total - p.done) / p.speed) * 1000)}`
    : p.phase === "download"
    ? "ETA --"
    : "";
  const speed = p.phase === "download" ? (p.speed !== undefined ? `${formatBytesFixed(p.speed)}/s` : "") : "";
  const max = Math.max(1, style.width - 1);
  // The numbers matter more than the bar: drop ETA, then speed, then bytes until the text fits, and draw a bar
  // (10 to 30 columns) only in the room that is left.
  const optional = [bytes, speed, eta].filter((x) => x !== "");
  for (let keep = optional.length; keep >= 0; keep--) {
    const tail = optional.slice(0, keep);
    const plain = [label, pct, ...tail].join("  ");
    if (plain.length > max) continue;
    const room = max - plain.length - 2;
    if (room < 10) return plain;
    return [label, pct, bar(fraction, Math.min(30, room), style.color), ...tail].join("  ");
  }
  return [...`${label} ${pct}`].slice(0, max).join("");
}

/** What the summary line reports. */
export interface ProgressSummary {
  readonly layers: number;
  readonly totalBytes: number;
  /** Bytes that came over the network (the rest were in the blob cache). */
  readonly downloadedBytes: number;
  readonly downloadMs: number;
  readonly unpackMs: number;
}

/**
 * One line, "Downloaded 27.1 MiB in 3.4s (8.0 MiB/s), 1.2 MiB from the cache; unpacked 3 layers in 1.2s", in
 * the longest form that fits `width` (cached bytes, then speed, then the layer count give way).
 */
export function summaryLine(s: ProgressSummary, width = Infinity): string {
  const cached = s.totalBytes - s.downloadedBytes;
  const layers = `${s.layers} layer${s.layers === 1 ? "" : "s"}`;
  const speed = s.downloadMs > 0 ? ` (${formatBytesFixed((s.downloadedBytes / s.downloadMs) * 1000)}/s)` : "";
  const got = `Downloaded ${formatBytesFixed(s.downloadedBytes)} in ${formatElapsed(s.downloadMs)}`;
  const unpacked = `unpacked ${layers} in ${formatElapsed(s.unpackMs)}`;
  const forms = s.downloadedBytes > 0
    ? [
      `${got}${speed}${cached > 0 ? `, ${formatBytesFixed(cached)} from the cache` : ""}; ${unpacked}`,
      `${got}${speed}; ${unpacked}`,
      `${got}; ${unpacked}`,
      `${got}; unpacked in ${formatElapsed(s.unpackMs)}`,
    ]
    : [`All ${formatBytesFixed(s.totalBytes)} from the cache; ${unpacked}`, `Cached; ${unpacked}`];
  const max = width - 1;
  return forms.find((f) => f.length <= max) ?? [...forms.at(-1)!].slice(0, Math.max(1, max)).join("");
}
