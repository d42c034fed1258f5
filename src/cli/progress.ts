/**
 * Install progress on stderr. On a terminal: one line redrawn at most 10 times a second (carriage return and
 * spaces, no cursor escapes) with percentage, bytes, speed and ETA for the download and bytes for the unpack,
 * then one summary line. Piped, or with TERM=dumb: one plain line per phase. NO_COLOR: no colour. --quiet:
 * nothing.
 */
import { renderChangelog } from "./changelog_render.ts";
import type { InstallEvent } from "../app/install.ts";
import { shortDigest } from "../oci/digest.ts";
import type { CliContext } from "./context.ts";
import { progressLine, type ProgressSnapshot, summaryLine, visibleLength } from "./progress_line.ts";
import { plural, sanitize } from "./render.ts";
import { formatBytesFixed } from "../format.ts";

/** Minimum time between two redraws of the progress line. */
export const REDRAW_INTERVAL_MS = 100;
/** The window over which the download speed is measured. */
const SPEED_WINDOW_MS = 3000;

/** How progress is shown, from the terminal and the environment. */
export interface ProgressMode {
  /** Redraw one line in place (a terminal that is not TERM=dumb). */
  readonly live: boolean;
  readonly color: boolean;
  readonly width: number;
}

/** The progress mode for stderr: live on a terminal unless TERM=dumb; colour unless NO_COLOR or TERM=dumb. */
export function progressMode(ctx: CliContext): ProgressMode {
  const live = ctx.runtime.stderr.isTerminal && !ctx.settings.dumbTerminal;
  return { live, color: live && !ctx.settings.noColor, width: ctx.stderrWidth() ?? 80 };
}

interface Layer {
  size: number;
  got: number;
  cached: boolean;
  done: boolean;
  unpacked: number;
}

/** Returns an event handler that renders install progress, and a function to finish the display. */
export function installProgress(ctx: CliContext): { onEvent: (e: InstallEvent) => void; done: () => void } {
  if (ctx.options.quiet) return { onEvent: () => {}, done: () => {} };
  const mode = progressMode(ctx);
  const now = () => ctx.runtime.now().getTime();
  const write = (s: string) => ctx.runtime.stderr.write(s);
  const layers = new Map<string, Layer>();
  let total = 0;
  let layerCount = 0;
  let unpackIndex = 0;
  let phase: ProgressSnapshot["phase"] = "download";
  let drawnWidth = 0;
  let lastDraw = -Infinity;
  let downloadStart: number | undefined;
  let downloadEnd: number | undefined;
  let unpackStart: number | undefined;
  let announcedDownload = false;
  let announcedUnpack = false;
  let summarised = false;
  const samples: { t: number; bytes: number }[] = [];
  const composed: string[] = [];
  /** Layers whose composition started: everything composed before them is complete. */
  const markComposed = (digest: string) => {
    for (const d of composed) {
      const l = layers.get(d);
      if (l) l.unpacked = Math.max(l.unpacked, l.size);
    }
    composed.push(digest);
  };

  const downloaded = () =>
    [...layers.values()].reduce((s, l) => s + (l.cached ? 0 : Math.min(l.got, l.size)), 0);
  const doneBytes = () =>
    [...layers.values()].reduce((s, l) => s + (l.done ? l.size : Math.min(l.got, l.size)), 0);
  const unpackedBytes = () => [...layers.values()].reduce((s, l) => s + Math.min(l.unpacked, l.size), 0);

  const speed = (): number | undefined => {
    const t = now();
    while (samples.length > 1 && t - samples[0]!.t > SPEED_WINDOW_MS) samples.shift();
    const first = samples[0];
    const last = samples[samples.length - 1];
    if (!first || !last || last.t - first.t < 200) return undefined;
    return ((last.bytes - first.bytes) / (last.t - first.t)) * 1000;
  };

  const clear = () => {
    if (drawnWidth > 0) write("\r" + " ".repeat(drawnWidth) + "\r");
    drawnWidth = 0;
  };

  const draw = () => {
    if (!mode.live || total === 0) return;
    const t = now();
    if (t - lastDraw < REDRAW_INTERVAL_MS) return;
    lastDraw = t;
    const snapshot: ProgressSnapshot = phase === "download"
      ? { phase, done: doneBytes(), total, speed: speed(), unpackIndex, layers: layerCount }
      : { phase, done: unpackedBytes(), total, speed: undefined, unpackIndex, layers: layerCount };
    const line = progressLine(snapshot, { width: mode.width, color: mode.color });
    const visible = visibleLength(line);
    // Spaces over what is left of a longer previous line instead of an erase-line escape.
    write("\r" + line + " ".repeat(Math.max(0, drawnWidth - visible)));
    drawnWidth = Math.max(visible, 1);
  };

  /** Log lines interrupt the progress line: clear it, print, and let the next event redraw. */
  const log = (message: string) => {
    clear();
    ctx.log.info(message);
    lastDraw = -Infinity;
  };

  const summarise = () => {
    if (summarised || unpackStart === undefined) return;
    summarised = true;
    clear();
    const end = now();
    ctx.log.info(summaryLine({
      layers: layerCount,
      totalBytes: total,
      downloadedBytes: downloaded(),
      downloadMs: downloadStart !== undefined ? (downloadEnd ?? end) - downloadStart : 0,
      unpackMs: end - unpackStart,
    }, mode.live ? mode.width : Infinity));
  };

  return {
    onEvent(e) {
      switch (e.type) {
        case "resolved": {
          const img = e.image;
          const at = img.index ? ` (index ${shortDigest(img.index.digest)})` : "";
          log(
            `Resolved ${img.ref.input} → ${img.ref.host}/${img.ref.repository}@${
              shortDigest(img.digest)
            }${at}`,
          );
          // The total is known before the first byte: the manifest lists every layer's size.
          layerCount = img.manifest.layers.length;
          total = img.manifest.layers.reduce((s, l) => s + l.size, 0);
          break;
        }
        case "verified": {
          const s = e.verification.signature!;
          if (s.proof === "provenance") {
            log(
              `Verified SLSA provenance: ${s.identity}${s.issuer ? ` (issuer ${s.issuer})` : ""}` +
                `\n  builder ${sanitize(s.provenance?.builderId ?? "(not stated)")}, source ${
                  sanitize(s.provenance?.sourceRepo ?? "(not stated)")
                }`,
            );
          } else log(`Verified signature: ${s.identity}${s.issuer ? ` (issuer ${s.issuer})` : ""}`);
          draw();
          break;
        }
        case "unsigned":
          clear();
          ctx.log.warn("installing WITHOUT signature verification (--allow-unsigned)");
          break;
        case "layer-start": {
          layers.set(e.digest, { size: e.size, got: 0, cached: e.cached, done: false, unpacked: 0 });
          if (!e.cached && downloadStart === undefined) {
            downloadStart = now();
            samples.push({ t: downloadStart, bytes: 0 });
          }
          if (!mode.live && !announcedDownload && total > 0) {
            announcedDownload = true;
            ctx.log.info(`Downloading ${plural(layerCount, "layer")}, ${formatBytesFixed(total)}`);
          }
          draw();
          break;
        }
        case "layer-progress": {
          const l = layers.get(e.digest);
          if (l) l.got += e.bytes;
          samples.push({ t: now(), bytes: downloaded() });
          draw();
          break;
        }
        case "layer-done": {
          const l = layers.get(e.digest);
          if (l) l.done = true;
          if ([...layers.values()].every((x) => x.done) && layers.size === layerCount) downloadEnd ??= now();
          draw();
          break;
        }
        case "unpack":
          unpackIndex = e.index + 1;
          // Composing layer i means the layers before it are in the rootfs (also when their snapshot was reused).
          markComposed(e.digest);
          unpackStart ??= now();
          // Unpacking shows once every layer is downloaded; until then the download is the slower part.
          if (downloadEnd !== undefined || [...layers.values()].every((x) => x.done)) phase = "unpack";
          if (!mode.live && !announcedUnpack) {
            announcedUnpack = true;
            ctx.log.info(`Unpacking ${plural(layerCount, "layer")}`);
          }
          draw();
          break;
        case "unpack-progress": {
          const l = layers.get(e.digest);
          if (l) l.unpacked += e.bytes;
          if (downloadEnd !== undefined) phase = "unpack";
          draw();
          break;
        }
        case "unpacked":
          for (const l of layers.values()) l.unpacked = Math.max(l.unpacked, l.size);
          summarise();
          break;
        case "committed":
          clear();
          break;
        case "changelog":
          log(
            [`Changes ${shortDigest(e.from)} → ${shortDigest(e.to)}:`, ...renderChangelog(e.changelog)].join(
              "\n  ",
            ),
          );
          break;
      }
    },
    done: clear,
  };
}
