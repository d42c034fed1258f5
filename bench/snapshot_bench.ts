/**
 * The layer-snapshot benchmark (issue 12): two image profiles built here (our own tar writer and OCI layout,
 * pushed to a launched docker-registry, signed), and in one run, side by side: dz cold install vs `skopeo copy`
 * + `umoci unpack --rootless`, reinstall after `dz remove`, an update that changes one small layer of five, a
 * second package sharing four layers, disk use, the physical floor (parallel `curl | gzip -dc | tar -x` into
 * separate dirs), peak RSS of a cold install, and start-up medians against `deno eval 0`. A script, never a test.
 */
// deno-lint-ignore-file no-console
import { join } from "node:path";
import { MEDIA_TYPES } from "../src/oci/media_types.ts";
import { storeLayout } from "../src/store/layout.ts";
import { runDz } from "../tests/support/cli_harness.ts";
import { buildImage, type BuiltImage, type TarEntry } from "../tests/support/image_builder.ts";
import { type LaunchedRegistry, launchRegistry } from "../tests/support/registry_launcher.ts";
import { createTestPki } from "../tests/support/test_pki.ts";
import { installVersion } from "../tests/support/store_fixtures.ts";
import {
  buildBulkImage,
  type BulkSpec,
  freshHome,
  hostDenoDir,
  IDENTITY,
  ISSUER,
  MAIN_TS,
  median,
  mib,
  mustSucceed,
  publishSigned,
  removeTreeForce,
  sec,
  timeChild,
  timeDz,
} from "./_fixtures.ts";
import { DZ_RUN_FLAGS } from "../tests/support/cli_harness.ts";

/** One image profile of the issue's table. */
export interface Profile {
  readonly key: string;
  readonly label: string;
  readonly spec: BulkSpec;
}

/** 313 MB in ~510 files, and ~330 MB in 20,000 small files (5 gzip layers each). */
export const PROFILES: readonly Profile[] = [
  { key: "large", label: "510 files", spec: { smallFiles: 500, largeFiles: 10, largeMiB: 30 } },
  { key: "small", label: "20,000 small files", spec: { smallFiles: 20_000, largeFiles: 8, largeMiB: 25 } },
];

/** Measurements of one profile, every list one entry per repetition. */
export interface ProfileResult {
  readonly profile: Profile;
  readonly tarMiB: string;
  readonly gzipMiB: string;
  readonly files: number;
  readonly cold: number[];
  readonly reinstall: number[];
  readonly update: number[];
  readonly second: number[];
  readonly reference: number[];
  readonly floor: number[];
  readonly diskOne: number[];
  readonly diskTwo: number[];
  readonly peakRssKiB: number[];
}

/** Start-up medians (ms) from one interleaved series. */
export interface StartupResult {
  readonly runs: number;
  readonly evalZero: number;
  readonly version: number;
  readonly list: number;
  readonly complete: number;
}

/** The variant of `image` whose first layer holds `entries` (the other four layers are the same blobs). */
async function withFirstLayer(image: BuiltImage, entries: TarEntry[]): Promise<BuiltImage> {
  const probe = await buildImage({ layers: [{ entries }], platform: image.platform });
  const first = probe.layers[0]!;
  const config = {
    ...image.config,
    rootfs: { type: "layers", diff_ids: [first.diffId, ...image.layers.slice(1).map((l) => l.diffId)] },
  };
  return await buildImage({
    layers: [{ entries }],
    rawConfig: { bytes: new TextEncoder().encode(JSON.stringify(config)), mediaType: MEDIA_TYPES.OCI_CONFIG },
    rawLayers: image.layers.slice(1).map((l) => ({ bytes: l.bytes, mediaType: l.mediaType })),
    platform: image.platform,
  });
}

/** Bytes on disk under `home` except the blob cache (hard links counted once, as du does). */
async function diskBytes(home: string): Promise<number> {
  const out = await new Deno.Command("du", {
    args: ["-sb", "--exclude=blobs", home],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).split(/\s/)[0]);
}

/** Cold install under /usr/bin/time: wall ms and peak RSS (KiB) of the dz process. */
async function timedInstallWithRss(argv: string[], home: string): Promise<{ ms: number; rssKiB: number }> {
  const env = { DROPZONE_HOME: home, NO_COLOR: "1", HOME: `${home}-user`, DENO_DIR: await hostDenoDir() };
  const t = mustSucceed(
    "dz install (cold)",
    await timeChild("/usr/bin/time", [
      "-f",
      "DZ_PEAK_RSS_KIB %M",
      Deno.execPath(),
      "run",
      "-q",
      ...DZ_RUN_FLAGS,
      MAIN_TS,
      ...argv,
    ], { env }),
  );
  const rss = Number(t.stderr.match(/DZ_PEAK_RSS_KIB (\d+)/)?.[1] ?? NaN);
  return { ms: t.ms, rssKiB: rss };
}

/** The physical floor: every blob fetched and extracted at once, `curl | gzip -dc | tar -x`, one dir each. */
async function floor(registry: LaunchedRegistry, repo: string, digests: readonly string[], dir: string) {
  await Deno.mkdir(dir, { recursive: true });
  const script =
    digests.map((d, i) =>
      `mkdir -p ${dir}/l${i} && curl -sf http://${registry.host}/v2/${repo}/blobs/${d} | gzip -dc | tar -x -C ${dir}/l${i} &`
    ).join("\n") + "\nwait\n";
  return mustSucceed("floor", await timeChild("bash", ["-c", script])).ms;
}

/** Reads /proc/loadavg (via cat: Deno reads some /proc files as empty). */
export async function loadAverage(): Promise<string> {
  const out = await new Deno.Command("cat", { args: ["/proc/loadavg"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split(" ").slice(0, 3).join(" ");
}

/** Runs one profile: `reps` interleaved repetitions of every measurement. */
async function runProfile(input: {
  profile: Profile;
  reps: number;
  root: string;
  registry: LaunchedRegistry;
  signer: Awaited<ReturnType<Awaited<ReturnType<typeof createTestPki>>["keyless"]>>;
  trustedRootPath: string;
  log: (line: string) => void;
}): Promise<ProfileResult> {
  const { profile, reps, root, registry, signer, trustedRootPath, log } = input;
  log(`building the ${profile.label} image…`);
  const bulk = await buildBulkImage({ ...profile.spec, name: profile.key });
  const ns = `b${profile.key}`;
  await publishSigned(registry, signer, `${ns}/app`, "1.0.0", bulk.image);
  const marker = (text: string): TarEntry[] => [
    ...bulk.firstLayer,
    { type: "file", path: `etc/${profile.key}/variant`, content: text },
  ];
  await publishSigned(registry, signer, `${ns}/app`, "1.1.0", await withFirstLayer(bulk.image, marker("v2")));
  await publishSigned(
    registry,
    signer,
    `${ns}/other`,
    "1.0.0",
    await withFirstLayer(bulk.image, marker("o")),
  );
  const digests = bulk.image.layers.map((l) => l.digest);
  const result: ProfileResult = {
    profile,
    tarMiB: mib(bulk.tarBytes),
    gzipMiB: mib(bulk.gzipBytes),
    files: bulk.files,
    cold: [],
    reinstall: [],
    update: [],
    second: [],
    reference: [],
    floor: [],
    diskOne: [],
    diskTwo: [],
    peakRssKiB: [],
  };
  bulk.image.layers.length = 0;
  bulk.image.blobs.clear();
  for (let rep = 0; rep < reps; rep++) {
    const home = await freshHome(root, `${profile.key}-${rep}`, registry, ns, trustedRootPath);
    const cold = await timedInstallWithRss(["install", "lab/app:1.0.0"], home);
    result.cold.push(cold.ms);
    result.peakRssKiB.push(cold.rssKiB);
    result.diskOne.push(await diskBytes(home));
    mustSucceed("dz remove", await timeDz(["remove", "app", "--yes"], home));
    result.reinstall.push(mustSucceed("reinstall", await timeDz(["install", "lab/app:1.0.0"], home)).ms);
    result.second.push(mustSucceed("second package", await timeDz(["install", "lab/other:1.0.0"], home)).ms);
    result.diskTwo.push(await diskBytes(home));
    result.update.push(mustSucceed("update", await timeDz(["update", "app", "--yes"], home)).ms);
    await assertInstalledTag(home, "app", "1.1.0");
    await removeTreeForce(home);
    await removeTreeForce(`${home}-user`);

    const work = `${root}/ref-${profile.key}-${rep}`;
    await Deno.mkdir(work);
    const sk = mustSucceed(
      "skopeo copy",
      await timeChild("skopeo", [
        "copy",
        "--src-tls-verify=false",
        `docker://${registry.host}/${ns}/app:1.0.0`,
        `oci:${work}/x:1`,
      ]),
    );
    const um = mustSucceed(
      "umoci unpack",
      await timeChild("umoci", ["unpack", "--rootless", "--image", `${work}/x:1`, `${work}/bundle`]),
    );
    result.reference.push(sk.ms + um.ms);
    await removeTreeForce(work);
    result.floor.push(await floor(registry, `${ns}/app`, digests, `${root}/floor-${profile.key}-${rep}`));
    await removeTreeForce(`${root}/floor-${profile.key}-${rep}`);
    log(
      `  ${profile.key} rep ${rep + 1}: cold ${sec(cold.ms)} s (${
        (cold.rssKiB / 1024).toFixed(0)
      } MiB RSS), ` +
        `reinstall ${sec(result.reinstall[rep]!)} s, second ${sec(result.second[rep]!)} s, update ` +
        `${sec(result.update[rep]!)} s; skopeo+umoci ${sec(sk.ms + um.ms)} s; floor ${
          sec(result.floor[rep]!)
        } s`,
    );
  }
  return result;
}

/** Fails the run when an update measured nothing: the package must now be on `tag`. */
async function assertInstalledTag(home: string, name: string, tag: string): Promise<void> {
  const listed = mustSucceed("dz list --json", await timeDz(["list", "--json"], home));
  const rows = JSON.parse(listed.stdout) as { name: string; tag: string | null }[];
  const row = rows.find((r) => r.name === name);
  if (row?.tag !== tag) {
    throw new Error(`after "dz update ${name}" it is on ${row?.tag ?? "nothing"}, not ${tag}`);
  }
}

/** Start-up: `deno eval 0`, `dz --version`, `dz list` (100 packages), `dz __complete packages`, interleaved. */
async function runStartup(root: string, runs: number): Promise<StartupResult> {
  const home = `${root}/startup`;
  await Deno.mkdir(home);
  await runDz(["list"], { home });
  for (let i = 0; i < 100; i++) {
    await installVersion(storeLayout(home), `tool${String(i).padStart(3, "0")}`, "1");
  }
  const series: Record<"evalZero" | "version" | "list" | "complete", number[]> = {
    evalZero: [],
    version: [],
    list: [],
    complete: [],
  };
  for (let i = 0; i < runs; i++) {
    series.evalZero.push(mustSucceed("deno eval 0", await timeChild(Deno.execPath(), ["eval", "0"])).ms);
    series.version.push(mustSucceed("dz --version", await timeDz(["--version"], home)).ms);
    const list = mustSucceed("dz list", await timeDz(["list"], home));
    if (list.stdout.trim().split("\n").length !== 101) throw new Error("dz list did not list 100 packages");
    series.list.push(list.ms);
    series.complete.push(mustSucceed("dz __complete", await timeDz(["__complete", "packages"], home)).ms);
  }
  await removeTreeForce(home);
  return {
    runs,
    evalZero: median(series.evalZero),
    version: median(series.version),
    list: median(series.list),
    complete: median(series.complete),
  };
}

/** Everything of one benchmark run. */
export interface SnapshotBenchResult {
  readonly reps: number;
  readonly workdir: string;
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly profiles: ProfileResult[];
  readonly startup: StartupResult;
}

/** Runs the whole benchmark; every registry and temp dir is removed before it returns. */
export async function runSnapshotBench(options: {
  reps?: number;
  workdir?: string;
  startupRuns?: number;
  /** Tiny images, to check the script itself quickly. */
  smoke?: boolean;
  log?: (line: string) => void;
}): Promise<SnapshotBenchResult> {
  const log = options.log ?? ((l: string) => console.error(l));
  const reps = options.reps ?? 3;
  const loadBefore = await loadAverage();
  const root = await Deno.makeTempDir({
    prefix: "dz-snapshot-bench-",
    ...(options.workdir ? { dir: options.workdir } : {}),
  });
  try {
    await using registry = await launchRegistry();
    const pki = await createTestPki();
    const trustedRootPath = join(root, "trusted_root.json");
    await Deno.writeTextFile(trustedRootPath, pki.trustedRootText);
    const signer = await pki.keyless({ identity: IDENTITY, issuer: ISSUER });
    // Warm deno's module cache before anything is timed.
    const warm = await freshHome(root, "warm", registry, "x", trustedRootPath);
    mustSucceed("dz --version", await timeDz(["--version"], warm));
    mustSucceed("dz list", await timeDz(["list"], warm));
    const profiles: ProfileResult[] = [];
    const profiles_ = options.smoke
      ? PROFILES.map((p) => ({ ...p, spec: { smallFiles: 200, largeFiles: 2, largeMiB: 1 } }))
      : PROFILES;
    for (const profile of profiles_) {
      profiles.push(await runProfile({ profile, reps, root, registry, signer, trustedRootPath, log }));
    }
    log("start-up series…");
    const startup = await runStartup(root, options.startupRuns ?? 30);
    return {
      reps,
      workdir: options.workdir ?? "system tmp",
      loadBefore,
      loadAfter: await loadAverage(),
      profiles,
      startup,
    };
  } finally {
    await removeTreeForce(root);
  }
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The issue's target table: one row per target, ratios of medians measured side by side. */
export function renderSnapshotBench(r: SnapshotBenchResult): string {
  const rows: string[][] = [];
  const ratio = (a: number[], b: number[]) => median(a) / median(b);
  const row = (work: string, to: string, value: number, target: number | undefined, detail: string) =>
    rows.push([
      work,
      to,
      `${value.toFixed(2)}×`,
      target === undefined ? "report" : `≤ ${target}`,
      target === undefined ? "" : value <= target ? "met" : "MISSED",
      detail,
    ]);
  for (const p of r.profiles) {
    const what = `${p.profile.label} (${p.tarMiB} MiB tar, ${p.gzipMiB} MiB gzip, 5 layers)`;
    row(
      `cold install, ${what}`,
      "skopeo copy + umoci unpack",
      ratio(p.cold, p.reference),
      0.5,
      `dz ${sec(median(p.cold))} s vs ${sec(median(p.reference))} s`,
    );
    row(
      `reinstall after dz remove, ${p.profile.key}`,
      "dz cold install",
      ratio(p.reinstall, p.cold),
      0.2,
      `${sec(median(p.reinstall))} s`,
    );
    row(
      `update, 4 of 5 layers unchanged, ${p.profile.key}`,
      "dz cold install",
      ratio(p.update, p.cold),
      0.25,
      `${sec(median(p.update))} s`,
    );
    row(
      `second package sharing 4 layers, ${p.profile.key}`,
      "dz cold install of the first",
      ratio(p.second, p.cold),
      0.25,
      `${sec(median(p.second))} s`,
    );
    row(
      `disk after the second package, ${p.profile.key}`,
      "one install",
      ratio(p.diskTwo, p.diskOne),
      1.1,
      `${mib(median(p.diskTwo))} vs ${mib(median(p.diskOne))} MiB (excl. blob cache)`,
    );
    row(
      `physical floor (parallel curl | gzip -dc | tar -x), ${p.profile.key}`,
      "dz cold install",
      ratio(p.floor, p.cold),
      undefined,
      `floor ${sec(median(p.floor))} s`,
    );
    const rss = median(p.peakRssKiB) / 1024;
    rows.push([
      `peak RSS of the cold install, ${p.profile.key}`,
      "300 MiB",
      `${rss.toFixed(0)} MiB`,
      "< 300 MiB",
      rss < 300 ? "met" : "MISSED",
      "",
    ]);
  }
  const s = r.startup;
  for (
    const [label, value, target] of [
      ["dz --version", s.version, 70],
      ["dz list, 100 packages", s.list, 120],
      ["dz __complete packages", s.complete, 80],
    ] as const
  ) {
    rows.push([
      `${label} (median of ${s.runs})`,
      `deno eval 0: ${s.evalZero.toFixed(0)} ms`,
      `${value.toFixed(0)} ms`,
      `≤ ${target} ms`,
      value <= target ? "met" : "MISSED",
      `${(value - s.evalZero).toFixed(0)} ms above the floor`,
    ]);
  }
  return [
    `dz layer-snapshot benchmark: ${r.reps} repetitions (medians), workdir ${r.workdir}`,
    `load average before: ${r.loadBefore}; after: ${r.loadAfter}`,
    table(["work", "ratio to", "figure", "target", "", "detail"], rows),
  ].join("\n");
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string" },
      workdir: { type: "string" },
      "startup-runs": { type: "string" },
      smoke: { type: "boolean" },
      // Only the start-up rows (bench/startup_bench.ts), in about a minute.
      "startup-only": { type: "boolean" },
    },
  });
  if (values["startup-only"]) {
    const { renderStartupBench, runStartupBench } = await import("./startup_bench.ts");
    const runs = values["startup-runs"] ? { runs: Number(values["startup-runs"]) } : {};
    console.log(renderStartupBench(await runStartupBench(runs)));
    Deno.exit(0);
  }
  const r = await runSnapshotBench({
    ...(values.reps ? { reps: Number(values.reps) } : {}),
    ...(values.workdir ? { workdir: values.workdir } : {}),
    ...(values["startup-runs"] ? { startupRuns: Number(values["startup-runs"]) } : {}),
    smoke: values.smoke === true,
  });
  console.log(renderSnapshotBench(r));
}
