/**
 * Install progress on stderr: one redrawn line with overall bytes and a bar per layer on a terminal, plain
 * lines otherwise, nothing with --quiet.
 */
import { renderChangelog } from "../app/changelog.ts";
import type { InstallEvent } from "../app/install.ts";
import { shortDigest } from "../oci/digest.ts";
import type { CliContext } from "./context.ts";
import { formatBytes, sanitize } from "./render.ts";

/** Returns an event handler that renders install progress, and a function to finish the display. */
export function installProgress(ctx: CliContext): { onEvent: (e: InstallEvent) => void; done: () => void } {
  if (ctx.options.quiet) return { onEvent: () => {}, done: () => {} };
  const tty = ctx.runtime.stderr.isTerminal;
  const layers = new Map<string, { size: number; got: number; cached: boolean; done: boolean }>();
  let drawn = false;
  let lastDraw = 0;
  const write = (s: string) => ctx.runtime.stderr.write(s);
  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const total = [...layers.values()].reduce((s, l) => s + l.size, 0);
    const got = [...layers.values()].reduce((s, l) => s + (l.done ? l.size : l.got), 0);
    const bars = [...layers.values()].map((l) => {
      const f = l.size === 0 || l.done ? 1 : l.got / l.size;
      return f >= 1 ? "█" : f >= 0.5 ? "▓" : f > 0 ? "▒" : "░";
    }).join("");
    write(`\r\x1b[2KPulling [${bars}] ${formatBytes(got)} / ${formatBytes(total)}`);
    drawn = true;
  };
  const clear = () => {
    if (drawn) write("\r\x1b[2K");
    drawn = false;
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case "resolved": {
          const img = e.image;
          const at = img.index ? ` (index ${shortDigest(img.index.digest)})` : "";
          ctx.log.info(
            `Resolved ${img.ref.input} → ${img.ref.host}/${img.ref.repository}@${
              shortDigest(img.digest)
            }${at}`,
          );
          break;
        }
        case "verified": {
          clear();
          const s = e.verification.signature!;
          if (s.proof === "provenance") {
            ctx.log.info(
              `Verified SLSA provenance: ${s.identity}${s.issuer ? ` (issuer ${s.issuer})` : ""}` +
                `\n  builder ${sanitize(s.provenance?.builderId ?? "(not stated)")}, source ${
                  sanitize(s.provenance?.sourceRepo ?? "(not stated)")
                }`,
            );
          } else {
            ctx.log.info(`Verified signature: ${s.identity}${s.issuer ? ` (issuer ${s.issuer})` : ""}`);
          }
          break;
        }
        case "unsigned":
          clear();
          ctx.log.warn("installing WITHOUT signature verification (--allow-unsigned)");
          break;
        case "layer-start":
          layers.set(e.digest, { size: e.size, got: 0, cached: e.cached, done: false });
          if (!tty && e.cached) {
            ctx.log.info(`  layer ${shortDigest(e.digest)} ${formatBytes(e.size)} (cached)`);
          }
          draw();
          break;
        case "layer-progress": {
          const l = layers.get(e.digest);
          if (l) l.got += e.bytes;
          draw();
          break;
        }
        case "layer-done": {
          const l = layers.get(e.digest);
          if (l) {
            l.done = true;
            if (!tty && !l.cached) {
              ctx.log.info(`  layer ${shortDigest(e.digest)} ${formatBytes(l.size)} downloaded`);
            }
          }
          draw(true);
          break;
        }
        case "unpack":
          if (!tty) ctx.log.info(`  unpacking layer ${e.index + 1}/${e.total}`);
          break;
        case "committed":
          clear();
          break;
        case "changelog":
          clear();
          ctx.log.info(
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
