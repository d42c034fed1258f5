// deno-lint-ignore-file no-control-regex -- these tests inspect the escape sequences dz draws
import assert from "node:assert/strict";
import type { InstallEvent } from "../../src/app/install.ts";
import { createContext } from "../../src/cli/context.ts";
import { installProgress } from "../../src/cli/progress.ts";
import { progressLine, summaryLine, visibleLength } from "../../src/cli/progress_line.ts";
import { fold } from "../../src/cli/render.ts";
import { ociHost, type Runtime } from "../../src/runtime.ts";

const MiB = 1024 * 1024;
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

/** A runtime whose stderr is (or is not) a terminal of `columns`, with a clock the test moves. */
function fakeTerminal(options: { tty: boolean; columns?: number; env?: Record<string, string> }) {
  let stderr = "";
  let t = Date.parse("2026-12-01T12:00:00Z");
  const runtime: Runtime = {
    fetch: () => Promise.reject(new Error("no network")),
    now: () => new Date(t),
    env: (name) => options.env?.[name],
    homeDir: "/nonexistent",
    host: ociHost("linux", "x86_64"),
    stdout: { write: () => {}, isTerminal: false },
    stderr: {
      write: (s) => void (stderr += s),
      isTerminal: options.tty,
      columns: () => options.columns,
    },
    stdinIsTerminal: false,
    readStdin: () => Promise.resolve(""),
    prompt: () => Promise.resolve(null),
  };
  const ctx = createContext(runtime, { verbose: false, quiet: false });
  return {
    progress: installProgress(ctx),
    advance: (ms: number) => void (t += ms),
    get stderr() {
      return stderr;
    },
  };
}

const image = {
  ref: { input: "lab/big", host: "127.0.0.1:5000", repository: "apps/big" },
  digest: `sha256:${"c".repeat(64)}`,
  index: undefined,
  manifest: { layers: [{ digest: A, size: 8 * MiB }, { digest: B, size: 2 * MiB }] },
};

/** Install events for a 10 MiB image (layer A downloaded in 64 KiB chunks over 8 s, B cached), 5 ms apart. */
function* install(advance: (ms: number) => void): Generator<InstallEvent> {
  yield { type: "resolved", image } as unknown as InstallEvent;
  yield { type: "layer-start", digest: B, size: 2 * MiB, cached: true } as InstallEvent;
  yield { type: "layer-done", digest: B } as InstallEvent;
  yield { type: "layer-start", digest: A, size: 8 * MiB, cached: false } as InstallEvent;
  for (let got = 0; got < 8 * MiB; got += 64 * 1024) {
    advance(62.5);
    yield { type: "layer-progress", digest: A, bytes: 64 * 1024 } as InstallEvent;
  }
  yield { type: "layer-done", digest: A } as InstallEvent;
  for (const [index, digest, size] of [[0, A, 8 * MiB], [1, B, 2 * MiB]] as const) {
    yield { type: "unpack", index, total: 2, digest } as InstallEvent;
    for (let got = 0; got < size; got += 256 * 1024) {
      advance(25);
      yield { type: "unpack-progress", digest, bytes: 256 * 1024 } as InstallEvent;
    }
  }
  yield { type: "unpacked", layers: 2 } as InstallEvent;
  yield { type: "committed", digest: image.digest } as InstallEvent;
}

function run(options: Parameters<typeof fakeTerminal>[0]): string {
  const term = fakeTerminal(options);
  for (const e of install(term.advance)) term.progress.onEvent(e);
  term.progress.done();
  return term.stderr;
}

/** The progress lines drawn (each starts with \r; clears are runs of spaces). */
function frames(out: string): string[] {
  return out.split("\r").map((f) => f.replace(/ +$/, "")).filter((f) => /^(Downloading|Unpacking)/.test(f));
}

Deno.test("on a terminal: total up front, percentage, bytes, speed and ETA, unpack movement, ≤ 10 redraws/s", () => {
  const out = run({ tty: true, columns: 100 });
  const drawn = frames(out);
  const download = drawn.filter((f) => f.startsWith("Downloading"));
  const unpack = drawn.filter((f) => f.startsWith("Unpacking"));
  assert.ok(download.length >= 10, out);
  // The total is the sum of the layer sizes from the first frame on; the cached layer counts as done.
  for (const f of download) assert.match(f, / \/ 10\.0 MiB/);
  assert.match(download.at(-1)!, /^Downloading\s+(9\d|100)%/);
  assert.ok(
    download.some((f) => /\d+%.* \/ 10\.0 MiB {2}1\.0 MiB\/s {2}ETA \d+s$/.test(f)),
    download.join("\n"),
  );
  // The unpack phase moves: its byte count grows, layer by layer.
  assert.ok(unpack.length >= 3, out);
  assert.match(unpack[0]!, /^Unpacking 1\/2/);
  assert.match(unpack.at(-1)!, /^Unpacking 2\/2/);
  const unpackedBytes = unpack.map((f) => Number(/ ([\d.]+) MiB \//.exec(f)?.[1]));
  assert.ok(unpackedBytes.every((v, i) => i === 0 || v >= unpackedBytes[i - 1]!), unpackedBytes.join(" "));
  assert.ok(unpackedBytes.at(-1)! > unpackedBytes[0]!);
  // 8 s of download and 1 s of unpack: at most 10 frames a second.
  assert.ok(drawn.length <= 9 * 10 + 1, `${drawn.length} frames`);
  // One summary line, at the end.
  const lines = out.split("\n").map((l) => l.split("\r").at(-1)!.trim()).filter(Boolean);
  assert.match(
    lines.at(-1)!,
    /^Downloaded 8\.0 MiB in 8\.0s \(1\.0 MiB\/s\), 2\.0 MiB from the cache; unpacked 2 layers in 1\.0s$/,
  );
  assert.equal(out.match(/Downloaded /g)?.length, 1);
  // Colour only; no cursor movement or erase escapes.
  assert.match(out, /\x1b\[36m/);
  assert.doesNotMatch(out.replace(/\x1b\[[0-9;]*m/g, ""), /\x1b/);
});

Deno.test("at 60 columns no line reaches the last column; narrower, the progress and summary lines still fit", () => {
  for (const columns of [100, 60]) {
    const out = run({ tty: true, columns });
    for (const f of out.split(/[\r\n]/)) {
      assert.ok(visibleLength(f) < columns, `${columns}: ${JSON.stringify(f)}`);
    }
  }
  for (const columns of [40, 20]) {
    const out = run({ tty: true, columns });
    const summary = out.split("\n").map((l) => l.split("\r").at(-1)!).filter((l) =>
      /^(Downloaded|Cached)/.test(l)
    );
    assert.equal(summary.length, 1);
    for (const f of [...frames(out), ...summary]) {
      assert.ok(visibleLength(f) < columns, `${columns}: ${JSON.stringify(f)}`);
    }
    assert.ok(frames(out).length > 0);
  }
  const at60 = frames(run({ tty: true, columns: 60 }));
  assert.ok(at60.some((f) => /%.*MiB\/s/.test(f)), "speed still shown at 60 columns");
});

Deno.test("NO_COLOR: no escape sequences at all; TERM=dumb and pipes: one plain line per phase", () => {
  const noColor = run({ tty: true, columns: 80, env: { NO_COLOR: "1" } });
  assert.doesNotMatch(noColor, /\x1b/);
  assert.ok(frames(noColor).length > 0, "still redrawn in place");
  for (const options of [{ tty: true, columns: 80, env: { TERM: "dumb" } }, { tty: false }]) {
    const out = run(options);
    assert.doesNotMatch(out, /\x1b|\r/);
    const lines = out.trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => l.split(" ")[0]), [
      "Resolved",
      "Downloading",
      "Unpacking",
      "Downloaded",
    ]);
    assert.equal(lines[1], "Downloading 2 layers, 10.0 MiB");
  }
});

Deno.test("progressLine drops ETA, speed and bytes before it wraps; summaryLine names cached bytes", () => {
  const p = {
    phase: "download" as const,
    done: 5 * MiB,
    total: 10 * MiB,
    speed: MiB,
    unpackIndex: 0,
    layers: 2,
  };
  assert.equal(progressLine(p, { width: 30, color: false }), "Downloading   50%  █████░░░░░");
  assert.equal(progressLine(p, { width: 25, color: false }), "Downloading   50%");
  assert.match(
    progressLine(p, { width: 100, color: false }),
    /^Downloading +50% {2}█+░+ {2}5\.0 MiB \/ 10\.0 MiB {2}1\.0 MiB\/s {2}ETA 5s$/,
  );
  assert.equal(progressLine(p, { width: 5, color: false }), "Down");
  assert.equal(
    summaryLine({ layers: 1, totalBytes: MiB, downloadedBytes: 0, downloadMs: 0, unpackMs: 300 }),
    "All 1.0 MiB from the cache; unpacked 1 layer in 0.3s",
  );
});

Deno.test("fold breaks long messages at spaces, then long words after / or @, and keeps every character", () => {
  const identity = "https://github.com/dz-test/tools/.github/workflows/release.yml@refs/heads/main";
  const text = `Verified signature: ${identity} (issuer https://token.actions.githubusercontent.com)`;
  for (const width of [60, 40, 24]) {
    const lines = fold(text, width).split("\n");
    for (const l of lines) assert.ok(l.length < width, `${width}: ${JSON.stringify(l)}`);
    assert.equal(lines.join("").replaceAll(" ", ""), text.replaceAll(" ", ""));
  }
  assert.equal(fold("short", 60), "short");
  assert.equal(
    fold(`  Signed by: ${identity}`, 60),
    `  Signed by: https://github.com/dz-test/tools/.github/\n    workflows/release.yml@refs/heads/main`,
  );
});
