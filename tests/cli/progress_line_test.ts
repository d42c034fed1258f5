/** Tests for src/cli/progress_line.ts: durations, the fitted progress line and the summary line (pure). */
import assert from "node:assert/strict";
import {
  formatDuration,
  formatElapsed,
  progressLine,
  type ProgressSnapshot,
  summaryLine,
  visibleLength,
} from "../../src/cli/progress_line.ts";

const MiB = 1024 * 1024;

Deno.test("formatDuration() rounds to seconds and switches to minutes and hours; unknown is --", () => {
  const cases: [number | undefined, string][] = [
    [undefined, "--"],
    [Number.NaN, "--"],
    [Infinity, "--"],
    [-1, "--"],
    [0, "0s"],
    [1_499, "1s"],
    [59_400, "59s"],
    [59_600, "1m00s"],
    [65_000, "1m05s"],
    [3_599_000, "59m59s"],
    [3_600_000, "1h00m"],
    [7_800_000, "2h10m"],
  ];
  for (const [ms, want] of cases) assert.equal(formatDuration(ms), want, String(ms));
});

Deno.test("formatElapsed() shows tenths below ten seconds", () => {
  assert.equal(formatElapsed(400), "0.4s");
  assert.equal(formatElapsed(9_949), "9.9s");
  assert.equal(formatElapsed(10_000), "10s");
  assert.equal(formatElapsed(125_000), "2m05s");
});

Deno.test("visibleLength() ignores SGR colour sequences and counts characters", () => {
  assert.equal(visibleLength("\x1b[36m███\x1b[2m░░\x1b[0m"), 5);
  assert.equal(visibleLength("plain"), 5);
  assert.equal(visibleLength("😀x"), 2);
});

const download: ProgressSnapshot = {
  phase: "download",
  done: 10 * MiB,
  total: 40 * MiB,
  speed: 2 * MiB,
  unpackIndex: 0,
  layers: 3,
};

Deno.test("progressLine() on a wide terminal: label, percentage, bar, bytes, speed and ETA", () => {
  const line = progressLine(download, { width: 120, color: false });
  assert.match(line, /^Downloading {2} 25% {2}[█░]{30} {2}10\.0 MiB \/ 40\.0 MiB {2}2\.0 MiB\/s {2}ETA 15s$/);
  assert.equal((line.match(/█/g) ?? []).length, 8, "a quarter of 30 columns, rounded");
  const colored = progressLine(download, { width: 120, color: true });
  assert.ok(colored.includes("\x1b[36m"), "the bar is coloured");
  assert.equal(visibleLength(colored), line.length, "colour takes no columns");
});

Deno.test("progressLine() drops ETA, then speed, then bytes as the width shrinks, and never reaches the width", () => {
  const widths = [120, 60, 45, 35, 28, 20, 12, 5, 1];
  let previousParts = Infinity;
  for (const width of widths) {
    const line = progressLine(download, { width, color: false });
    assert.ok(visibleLength(line) <= Math.max(1, width - 1), `${width}: ${JSON.stringify(line)}`);
    const parts = ["ETA", "/s", " / "].filter((p) => line.includes(p)).length;
    assert.ok(parts <= previousParts, `${width}: information only goes away as the width shrinks`);
    previousParts = parts;
  }
  const narrow = progressLine(download, { width: 45, color: false });
  assert.ok(narrow.includes("10.0 MiB / 40.0 MiB") && !narrow.includes("ETA"), narrow);
});

Deno.test("progressLine() states: no speed yet, unknown total, unpacking, done beyond the total", () => {
  const noSpeed = progressLine({ ...download, speed: undefined }, { width: 120, color: false });
  assert.match(noSpeed, /ETA --$/);
  assert.ok(!noSpeed.includes("/s"));
  assert.match(progressLine({ ...download, total: 0, done: 0 }, { width: 120, color: false }), /100%/);
  const unpack = progressLine(
    { phase: "unpack", done: 5 * MiB, total: 20 * MiB, speed: 9 * MiB, unpackIndex: 2, layers: 3 },
    { width: 120, color: false },
  );
  assert.match(unpack, /^Unpacking 2\/3 {2} 25% /);
  assert.ok(!unpack.includes("ETA") && !unpack.includes("/s"), "no speed or ETA while unpacking");
  const over = progressLine({ ...download, done: 50 * MiB }, { width: 120, color: false });
  assert.match(over, /100%.*40\.0 MiB \/ 40\.0 MiB/, "never more than 100% or more bytes than the total");
});

Deno.test("summaryLine() names downloaded and cached bytes, speed and layers, in the longest form that fits", () => {
  const s = {
    layers: 3,
    totalBytes: 28 * MiB,
    downloadedBytes: 27 * MiB,
    downloadMs: 3_400,
    unpackMs: 1_200,
  };
  assert.equal(
    summaryLine(s),
    "Downloaded 27.0 MiB in 3.4s (7.9 MiB/s), 1.0 MiB from the cache; unpacked 3 layers in 1.2s",
  );
  assert.equal(summaryLine(s, 70), "Downloaded 27.0 MiB in 3.4s (7.9 MiB/s); unpacked 3 layers in 1.2s");
  assert.equal(summaryLine(s, 56), "Downloaded 27.0 MiB in 3.4s; unpacked 3 layers in 1.2s");
  assert.equal(
    summaryLine(s, 50),
    "Downloaded 27.0 MiB in 3.4s; unpacked in 1.2s",
    "the layer count gives way last",
  );
  assert.equal(
    summaryLine({ ...s, downloadedBytes: 0 }),
    "All 28.0 MiB from the cache; unpacked 3 layers in 1.2s",
  );
  assert.equal(summaryLine({ ...s, downloadedBytes: 0 }, 40), "Cached; unpacked 3 layers in 1.2s");
  assert.equal(
    summaryLine({ ...s, layers: 1, downloadedBytes: s.totalBytes, downloadMs: 0 }),
    "Downloaded 28.0 MiB in 0.0s; unpacked 1 layer in 1.2s",
  );
  for (const width of [200, 60, 40, 20, 5]) {
    assert.ok(summaryLine(s, width).length <= width - 1, String(width));
  }
});
