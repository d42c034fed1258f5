/**
 * All dz benchmarks in one run (issue 5), printed as a table of figures and ratios with the machine info.
 * A script, never a timed test: `deno task bench` (see deno.json).
 *
 *   deno task bench [--reps 3] [--no-pull] [--no-profile] [--workdir DIR] [--legacy] [--startup-runs 30]
 *
 * --workdir puts dz homes, the blob cache and skopeo/umoci output under DIR (default: system tmp), e.g. a tmpfs
 * mount to take the disk's per-file create cost out of the comparison (Deno refuses /dev/shm without -A).
 *
 * First runs bench/snapshot_bench.ts (issue 12's target table: both image profiles, reuse, floor, start-up) and
 * prints its table; with --legacy also the older bench/install_bench.ts scenarios (cold/warm install vs skopeo+umoci, update --check over 20 packages,
 * list over 100 packages) and, when present, bench/pull_bench.ts as a child process. Every registry and child
 * is stopped and every temp dir removed before it exits.
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { median, sec, timeChild, versionOf } from "./_fixtures.ts";
import { type InstallBenchResult, runInstallBench } from "./install_bench.ts";
import { renderSnapshotBench, runSnapshotBench } from "./snapshot_bench.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string" },
    "no-pull": { type: "boolean" },
    "no-profile": { type: "boolean" },
    workdir: { type: "string" },
    legacy: { type: "boolean" },
    "startup-runs": { type: "string" },
  },
});
const reps = values.reps ? Number(values.reps) : 3;
const started = performance.now();

async function machineInfo(): Promise<[string, string][]> {
  // Deno.readTextFile returns "" for some /proc files here; cat them instead.
  const cat = async (path: string) => {
    const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout);
  };
  const cpu = (await cat("/proc/cpuinfo").catch(() => "")).match(/model name\s*:\s*(.*)/)?.[1];
  const mem = (await cat("/proc/meminfo").catch(() => "")).match(/MemTotal:\s*(\d+)/)?.[1];
  return [
    ["nproc", await versionOf("nproc", [])],
    ["cpu", cpu ?? "unknown"],
    ["memory", mem ? `${(Number(mem) / 1024 / 1024).toFixed(1)} GiB` : "unknown"],
    ["kernel", await versionOf("uname", ["-r"])],
    ["deno", `${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`],
    ["skopeo", await versionOf("skopeo", ["--version"])],
    ["umoci", await versionOf("umoci", ["--version"])],
    ["docker-registry", await versionOf("docker-registry", ["--version"])],
  ];
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const all = (ms: number[]) => ms.map(sec).join(" / ");
const verdict = (ok: boolean) => (ok ? "met" : "MISSED");

function report(r: InstallBenchResult): string {
  const d = r.data;
  const cold = median(r.dzColdMs);
  const warm = median(r.dzWarmMs);
  const skopeo = median(r.skopeoMs);
  const umoci = median(r.umociMs);
  const ref = median(r.refTotalMs);
  const startup = median(r.startupMs);
  const out: string[] = [];
  out.push(
    `Bulk image: 5 gzip layers (${d.layerGzipMiB.join(" + ")} MiB), ${d.files} files + ${d.dirs} dirs; ` +
      `${(d.tarBytes / 1048576).toFixed(1)} MiB tar → ${(d.gzipBytes / 1048576).toFixed(1)} MiB gzip ` +
      `(${(d.randomBytes / 1048576).toFixed(0)} MiB random + ${
        (d.textBytes / 1048576).toFixed(0)
      } MiB text; ` +
      `${d.smallFiles} small files 128 B–32 KiB, ${d.largeFiles} large files); built in ${sec(d.buildMs)} s.`,
  );
  out.push(
    `Repetitions: ${r.reps} (median shown; every dz run is a child process in a fresh DROPZONE_HOME)\n`,
  );
  const rows: string[][] = [
    ["1", "dz install, cold (resolve+verify+pull+unpack)", `${sec(cold)} s`, all(r.dzColdMs), ""],
    ["1", "skopeo copy docker:// → oci:", `${sec(skopeo)} s`, all(r.skopeoMs), ""],
    ["1", "umoci unpack --rootless", `${sec(umoci)} s`, all(r.umociMs), ""],
    ["1", "skopeo + umoci", `${sec(ref)} s`, all(r.refTotalMs), ""],
    [
      "1",
      "ratio dz / (skopeo + umoci)",
      `${(cold / ref).toFixed(2)}×`,
      "",
      `target ≤ 0.50×: ${verdict(cold / ref <= 0.5)}`,
    ],
    ...(r.withAllowSysMs !== undefined
      ? [[
        "1",
        "  diagnostic: dz cold install with --allow-sys added",
        `${sec(r.withAllowSysMs)} s`,
        "1 run",
        `${(r.withAllowSysMs / ref).toFixed(2)}× of skopeo+umoci (umask known → no chmod per file)`,
      ]]
      : []),
    ["2", "dz remove", `${sec(median(r.dzRemoveMs))} s`, all(r.dzRemoveMs), ""],
    ["2", "dz install after remove, warm blob cache", `${sec(warm)} s`, all(r.dzWarmMs), ""],
    ["2", "ratio warm / cold", `${(warm / cold).toFixed(2)}×`, "", ""],
  ];
  if (r.updateCheck.ms.length > 0) {
    const u = median(r.updateCheck.ms);
    rows.push([
      "3",
      "dz update --check, 20 packages",
      `${sec(u)} s`,
      all(r.updateCheck.ms),
      `target < 2 s: ${verdict(u < 2000)}; ${r.updateCheck.note}`,
    ]);
  } else {
    rows.push([
      "3",
      "dz update --check, 20 packages",
      "n/a",
      "",
      `FAILED exit ${r.updateCheck.code}: ${r.updateCheck.note}`,
    ]);
  }
  const l = median(r.list.ms);
  rows.push(
    [
      "4",
      `dz list, ${r.list.packages} packages (${r.list.lines} lines)`,
      `${l.toFixed(0)} ms`,
      r.list.ms.map((m) => m.toFixed(0)).join(" / "),
      `target < 150 ms: ${verdict(l < 150)}`,
    ],
    [
      "4",
      "  of which deno start-up (main.ts --version)",
      `${startup.toFixed(0)} ms`,
      r.startupMs.map((m) => m.toFixed(0)).join(" / "),
      "",
    ],
    [
      "4",
      "  bare `deno run` of an empty script",
      `${median(r.emptyScriptMs).toFixed(0)} ms`,
      r.emptyScriptMs.map((m) => m.toFixed(0)).join(" / "),
      "",
    ],
    [
      "4",
      "  list in-process (no start-up)",
      `${median(r.list.inProcessMs).toFixed(0)} ms`,
      r.list.inProcessMs.map((m) => m.toFixed(0)).join(" / "),
      "",
    ],
  );
  out.push(table(["#", "measurement", "median", "runs", "note"], rows));

  out.push("\nCold install phases (rep 1; ms since spawn when dz printed the progress line):");
  let prev = 0;
  out.push(table(
    ["at", "+delta", "milestone"],
    r.phases.map((p) => {
      const row = [`${(p.ms / 1000).toFixed(2)} s`, `+${((p.ms - prev) / 1000).toFixed(2)} s`, p.label];
      prev = p.ms;
      return row;
    }),
  ));
  if (r.profile) {
    out.push(
      `\nCPU profile of one extra cold install (--cpu-prof, ${
        sec(r.profile.totalMs)
      } s sampled), top self time:`,
    );
    out.push(table(
      ["self", "%", "function", "location"],
      r.profile.top.map((t) => [`${t.selfMs.toFixed(0)} ms`, t.pct.toFixed(1), t.fn, t.url]),
    ));
  }
  return out.join("\n");
}

async function pullBench(): Promise<string> {
  const path = new URL("./pull_bench.ts", import.meta.url).pathname;
  try {
    await Deno.stat(path);
  } catch {
    return "bench/pull_bench.ts not present; skipped.";
  }
  const t = await timeChild(Deno.execPath(), [
    "run",
    "-q",
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-env",
    "--allow-run",
    path,
  ]);
  const lines = t.stdout.trim().split("\n").map((x) => `  ${x}`).join("\n");
  if (t.code !== 0) {
    return `bench/pull_bench.ts failed (exit ${t.code}); output:\n${lines}\n  ${
      t.stderr.trim().split("\n").slice(-5).join("\n  ")
    }`;
  }
  return `bench/pull_bench.ts (child process, ${sec(t.ms)} s incl. data build):\n${lines}`;
}

const info = await machineInfo();
console.error(`dz benchmarks: ${reps} repetitions; progress on stderr, report on stdout`);
const snapshots = await runSnapshotBench({
  reps,
  log: (l) => console.error(l),
  ...(values.workdir ? { workdir: values.workdir } : {}),
  ...(values["startup-runs"] ? { startupRuns: Number(values["startup-runs"]) } : {}),
});
const result = values.legacy
  ? await runInstallBench({
    reps,
    profile: !values["no-profile"],
    log: (l) => console.error(l),
    ...(values.workdir ? { workdir: values.workdir } : {}),
  })
  : undefined;
const pull = values["no-pull"] ? "pull_bench skipped (--no-pull)." : await pullBench();

console.log("=== dz benchmarks (bench/run.ts) ===");
console.log(
  table(["machine", ""], [...info, ["workdir", values.workdir ?? "system tmp (Deno.makeTempDir)"]]),
);
console.log("");
console.log(renderSnapshotBench(snapshots));
if (result !== undefined) {
  console.log("");
  console.log(report(result));
}
console.log("");
console.log(pull);
console.log(`\nTotal wall time of the benchmark run: ${sec(performance.now() - started)} s`);
