/**
 * Issue 12's start-up rows alone, in about a minute: medians of `deno eval 0` (the floor), `dz --version`,
 * `dz list` with 100 installed packages and `dz __complete packages`, interleaved in one series, under
 * `deno run` with the compiled binary's permission flags. With `--baseline DIR` a second checkout (e.g. a
 * `git worktree` of main) is timed in the same series, so a change and its baseline see the same load.
 *
 *   deno run -A bench/startup_bench.ts [--runs 30] [--baseline ../main]
 *   deno run -A bench/snapshot_bench.ts --startup-only [--startup-runs 30]
 *
 * A script, never a test.
 */
// deno-lint-ignore-file no-console
import { storeLayout } from "../src/store/layout.ts";
import { DZ_RUN_FLAGS, runDz } from "../tests/support/cli_harness.ts";
import { installVersion } from "../tests/support/store_fixtures.ts";
import {
  hostDenoDir,
  MAIN_TS,
  median,
  mustSucceed,
  removeTreeForce,
  timeChild,
  type Timed,
} from "./_fixtures.ts";

/** The issue's targets (ms). */
export const STARTUP_TARGETS = { version: 70, list: 120, complete: 80 } as const;

type Command = keyof typeof STARTUP_TARGETS;

const COMMANDS: ReadonlyArray<{ key: Command; argv: string[]; lines: number }> = [
  { key: "version", argv: ["--version"], lines: 1 },
  { key: "list", argv: ["list"], lines: 101 },
  { key: "complete", argv: ["__complete", "packages"], lines: 100 },
];

/** Medians (ms) of one checkout. */
export interface CheckoutStartup {
  readonly label: string;
  readonly main: string;
  readonly version: number;
  readonly list: number;
  readonly complete: number;
}

/** One interleaved series. */
export interface StartupBenchResult {
  readonly runs: number;
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly evalZero: number;
  /** This checkout first, then the baselines. */
  readonly checkouts: CheckoutStartup[];
}

async function loadAverage(): Promise<string> {
  const out = await new Deno.Command("cat", { args: ["/proc/loadavg"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split(" ").slice(0, 3).join(" ");
}

async function timeMain(main: string, argv: string[], home: string): Promise<Timed> {
  const env = { DROPZONE_HOME: home, NO_COLOR: "1", HOME: `${home}-user`, DENO_DIR: await hostDenoDir() };
  return await timeChild(Deno.execPath(), ["run", "-q", ...DZ_RUN_FLAGS, main, ...argv], { env });
}

/** Runs the series; the temp home is removed before it returns. */
export async function runStartupBench(options: {
  runs?: number;
  baselines?: ReadonlyArray<{ label: string; main: string }>;
  log?: (line: string) => void;
} = {}): Promise<StartupBenchResult> {
  const runs = options.runs ?? 30;
  const log = options.log ?? ((l: string) => console.error(l));
  const checkouts = [{ label: "this checkout", main: MAIN_TS }, ...(options.baselines ?? [])];
  const root = await Deno.makeTempDir({ prefix: "dz-startup-bench-" });
  const home = `${root}/home`;
  try {
    await Deno.mkdir(home);
    await runDz(["list"], { home });
    for (let i = 0; i < 100; i++) {
      await installVersion(storeLayout(home), `tool${String(i).padStart(3, "0")}`, "1");
    }
    // Warm deno's module cache of every checkout, and check that each prints what is timed.
    for (const c of checkouts) {
      for (const cmd of COMMANDS) {
        const t = mustSucceed(`${c.label}: dz ${cmd.argv.join(" ")}`, await timeMain(c.main, cmd.argv, home));
        const lines = t.stdout.trimEnd().split("\n").length;
        if (lines !== cmd.lines) {
          throw new Error(`${c.label}: dz ${cmd.argv.join(" ")} printed ${lines} lines`);
        }
      }
    }
    const loadBefore = await loadAverage();
    log(`start-up series: ${runs} runs, load average ${loadBefore}`);
    const floor: number[] = [];
    const series = checkouts.map(() => ({
      version: [] as number[],
      list: [] as number[],
      complete: [] as number[],
    }));
    for (let i = 0; i < runs; i++) {
      floor.push(mustSucceed("deno eval 0", await timeChild(Deno.execPath(), ["eval", "0"])).ms);
      for (const [j, c] of checkouts.entries()) {
        for (const cmd of COMMANDS) {
          series[j]![cmd.key].push(mustSucceed(c.label, await timeMain(c.main, cmd.argv, home)).ms);
        }
      }
    }
    return {
      runs,
      loadBefore,
      loadAfter: await loadAverage(),
      evalZero: median(floor),
      checkouts: checkouts.map((c, j) => ({
        label: c.label,
        main: c.main,
        version: median(series[j]!.version),
        list: median(series[j]!.list),
        complete: median(series[j]!.complete),
      })),
    };
  } finally {
    await removeTreeForce(root);
  }
}

/** One row per command: target, floor, each checkout's median, and whether this checkout meets the target. */
export function renderStartupBench(r: StartupBenchResult): string {
  const headers = ["command (median of " + r.runs + ")", "target", ...r.checkouts.map((c) => c.label), ""];
  const rows = COMMANDS.map((cmd) => {
    const mine = r.checkouts[0]![cmd.key];
    return [
      `dz ${cmd.argv.join(" ")}${cmd.key === "list" ? " (100 packages)" : ""}`,
      `≤ ${STARTUP_TARGETS[cmd.key]} ms`,
      ...r.checkouts.map((c) => `${c[cmd.key].toFixed(0)} ms (+${(c[cmd.key] - r.evalZero).toFixed(0)})`),
      mine <= STARTUP_TARGETS[cmd.key] ? "met" : "MISSED",
    ];
  });
  rows.unshift(["deno eval 0 (floor)", "", ...r.checkouts.map(() => `${r.evalZero.toFixed(0)} ms`), ""]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [
    `dz start-up: load average before ${r.loadBefore}, after ${r.loadAfter}; (+N) is above the floor`,
    ...r.checkouts.slice(1).map((c) => `${c.label}: ${c.main}`),
    line(headers),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string" }, baseline: { type: "string", multiple: true } },
  });
  const r = await runStartupBench({
    ...(values.runs ? { runs: Number(values.runs) } : {}),
    baselines: (values.baseline ?? []).map((dir) => ({
      label: `baseline ${dir.split("/").filter(Boolean).pop()}`,
      main: `${dir.startsWith("/") ? "" : `${Deno.cwd()}/`}${dir.replace(/\/+$/, "")}/main.ts`,
    })),
  });
  console.log(renderStartupBench(r));
}
