/**
 * Install benchmarks (issue 5), a script, never a test. Everything runs against one launched docker-registry
 * and one offline test PKI; dz always runs as a child process exactly as a user would
 * (`deno run -q <compiled-binary permissions> main.ts …`).
 *
 *   1. cold `dz install` of the bulk image (5 gzip layers, ≈20k files) into a fresh home, vs
 *      `skopeo copy docker://… oci:…` + `umoci unpack --rootless` of the same image;
 *   2. reinstall after `dz remove` with a warm blob cache, vs the cold install;
 *   3. `dz update --check` over 20 installed small signed packages;
 *   4. `dz list` with 100 packages (20 real installs + 80 copies of their version dirs with adjusted names).
 *
 * Standalone: deno run --allow-read --allow-write --allow-net --allow-env --allow-run bench/install_bench.ts
 * [--reps 3] [--small-files 20000] [--large-files 8] [--large-mib 25] [--no-profile]
 * Normally driven by bench/run.ts, which prints the summary table.
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "node:util";
import { runDz } from "../tests/support/cli_harness.ts";
import { hostBinaryEntries } from "../tests/support/e2e.ts";
import { launchRegistry } from "../tests/support/registry_launcher.ts";
import { createTestPki } from "../tests/support/test_pki.ts";
import {
  buildBulkImage,
  buildSmallImage,
  type BulkImage,
  freshHome,
  IDENTITY,
  ISSUER,
  median,
  mib,
  mustSucceed,
  publishSigned,
  removeTreeForce,
  sec,
  timeChild,
  type Timed,
  timeDz,
} from "./_fixtures.ts";

/** Options of {@linkcode runInstallBench}. */
export interface InstallBenchOptions {
  reps?: number;
  smallFiles?: number;
  largeFiles?: number;
  largeMiB?: number;
  /** Run one extra cold install under --cpu-prof when dz misses the 0.5× target. @default {true} */
  profile?: boolean;
  log?: (line: string) => void;
  /** Parent of the temp dir holding homes, skopeo/umoci output and profiles (e.g. /dev/shm). @default {system tmp} */
  workdir?: string;
}

/** One row of the phase breakdown of a cold install (from stderr progress lines, timestamped on arrival). */
export interface Phase {
  readonly label: string;
  readonly ms: number;
}

/** Everything measured. */
export interface InstallBenchResult {
  readonly data: Omit<BulkImage, "image"> & { layerGzipMiB: string[] };
  readonly reps: number;
  readonly dzColdMs: number[];
  readonly dzWarmMs: number[];
  readonly dzRemoveMs: number[];
  readonly skopeoMs: number[];
  readonly umociMs: number[];
  readonly refTotalMs: number[];
  readonly phases: Phase[];
  readonly startupMs: number[];
  readonly updateCheck: { ms: number[]; code: number; note: string };
  readonly list: { ms: number[]; inProcessMs: number[]; packages: number; lines: number };
  readonly profile?: { top: { fn: string; url: string; selfMs: number; pct: number }[]; totalMs: number };
  /** Bare `deno run` of an empty script (the runtime's own floor). */
  readonly emptyScriptMs: number[];
  /** Diagnostic: one cold install with `--allow-sys` added, so Deno.umask() works and per-file chmods go. */
  readonly withAllowSysMs?: number;
}

/** Milestones of a cold install from dz's non-TTY progress lines. */
function phasesOf(t: Timed): Phase[] {
  const out: Phase[] = [];
  const first = (re: RegExp, label: string) => {
    const l = t.lines.find((x) => re.test(x.text));
    if (l) out.push({ label, ms: l.ms });
  };
  const last = (re: RegExp, label: string) => {
    const l = t.lines.findLast((x) => re.test(x.text));
    if (l) out.push({ label, ms: l.ms });
  };
  first(/^Resolved /, "resolved (startup + config + manifest)");
  first(/layer .* downloaded/, "first layer downloaded");
  first(/^Verified signature/, "signature verified");
  last(/layer .* downloaded/, "last layer downloaded");
  for (let i = 1; i <= 5; i++) first(new RegExp(`unpacking layer ${i}/`), `unpack layer ${i} started`);
  first(/^Installed /, "installed (commit + wrapper)");
  out.push({ label: "process exit", ms: t.ms });
  return out.sort((a, b) => a.ms - b.ms);
}

/** Summarises a .cpuprofile: self time per function, top 15. */
async function summariseProfile(dir: string): Promise<InstallBenchResult["profile"]> {
  let file: string | undefined;
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".cpuprofile")) file = `${dir}/${e.name}`;
  if (!file) return undefined;
  const prof = JSON.parse(await Deno.readTextFile(file)) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; url: string; us: number }>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    const n = byId.get(id);
    if (!n) return;
    const url = (n.callFrame.url || "(native)").replace(/^file:\/\/\/work\/main\//, "")
      .replace(/^.*\/npm\/registry\.npmjs\.org\//, "npm:");
    const fn = n.callFrame.functionName || "(anonymous)";
    const key = `${fn}@${url}:${n.callFrame.lineNumber + 1}`;
    const loc = n.callFrame.url ? `${url}:${n.callFrame.lineNumber + 1}` : url;
    const e = self.get(key) ?? { fn, url: loc, us: 0 };
    e.us += dt;
    self.set(key, e);
  });
  const top = [...self.values()].sort((a, b) => b.us - a.us).slice(0, 15).map((e) => ({
    fn: e.fn,
    url: e.url,
    selfMs: e.us / 1000,
    pct: (100 * e.us) / total,
  }));
  return { top, totalMs: total / 1000 };
}

/** Runs scenarios 1–4. Stops the registry and removes every temp dir before returning or throwing. */
export async function runInstallBench(options: InstallBenchOptions = {}): Promise<InstallBenchResult> {
  const log = options.log ?? ((l: string) => console.error(l));
  const reps = options.reps ?? 3;
  const root = await Deno.makeTempDir({
    prefix: "dz-install-bench-",
    ...(options.workdir ? { dir: options.workdir } : {}),
  });
  try {
    await using registry = await launchRegistry();
    const pki = await createTestPki();
    const trustedRootPath = `${root}/trusted_root.json`;
    await Deno.writeTextFile(trustedRootPath, pki.trustedRootText);
    const signer = await pki.keyless({ identity: IDENTITY, issuer: ISSUER });

    // ---- data
    log("building the bulk image…");
    const bulk = await buildBulkImage({
      ...(options.smallFiles !== undefined ? { smallFiles: options.smallFiles } : {}),
      ...(options.largeFiles !== undefined ? { largeFiles: options.largeFiles } : {}),
      ...(options.largeMiB !== undefined ? { largeMiB: options.largeMiB } : {}),
    });
    const { image, ...dataInfo } = bulk;
    log(
      `  ${dataInfo.files} files, ${dataInfo.dirs} dirs, ${mib(dataInfo.tarBytes)} MiB tar → ` +
        `${mib(dataInfo.gzipBytes)} MiB gzip in ${sec(dataInfo.buildMs)} s`,
    );
    await publishSigned(registry, signer, "bench/app", "1", image);
    // Drop the in-memory copy before timing (≈ 900 MiB of tar + gzip buffers).
    const layerGzipMiB = image.layers.map((l) => mib(l.bytes.length));
    image.layers.length = 0;
    image.blobs.clear();

    // ---- warm deno's module cache and measure bare process startup
    const warm = await freshHome(root, "warmup", registry, "bench", trustedRootPath);
    mustSucceed("dz --version", await timeDz(["--version"], warm));
    const emptyScript = `${root}/empty.ts`;
    await Deno.writeTextFile(emptyScript, "\n");
    const emptyScriptMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      emptyScriptMs.push(
        mustSucceed("deno run empty.ts", await timeChild(Deno.execPath(), ["run", "-q", emptyScript])).ms,
      );
    }
    const startupMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      startupMs.push(mustSucceed("dz --version", await timeDz(["--version"], warm)).ms);
    }

    // ---- 1 + 2: cold install, remove, warm reinstall; skopeo + umoci — interleaved
    const dzColdMs: number[] = [];
    const dzWarmMs: number[] = [];
    const dzRemoveMs: number[] = [];
    const skopeoMs: number[] = [];
    const umociMs: number[] = [];
    const refTotalMs: number[] = [];
    let phases: Phase[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const home = await freshHome(root, `home-${rep}`, registry, "bench", trustedRootPath);
      const cold = mustSucceed("dz install (cold)", await timeDz(["install", "lab/app:1"], home));
      dzColdMs.push(cold.ms);
      if (rep === 0) phases = phasesOf(cold);
      if (rep === 0) {
        const run = await timeChild(`${home}/bin/app`, ["--version"], { env: { LD_LIBRARY_PATH: "" } });
        if (run.code !== 0 || !run.stdout.includes("ls")) {
          throw new Error(`installed wrapper did not run: ${run.code} ${run.stdout} ${run.stderr}`);
        }
      }
      const rm = mustSucceed("dz remove", await timeDz(["remove", "app", "--yes"], home));
      dzRemoveMs.push(rm.ms);
      const again = mustSucceed("dz install (warm cache)", await timeDz(["install", "lab/app:1"], home));
      dzWarmMs.push(again.ms);
      log(`  rep ${rep + 1}: dz cold ${sec(cold.ms)} s, remove ${sec(rm.ms)} s, warm ${sec(again.ms)} s`);
      await removeTreeForce(home);

      const work = `${root}/ref-${rep}`;
      await Deno.mkdir(work);
      const sk = mustSucceed(
        "skopeo copy",
        await timeChild("skopeo", [
          "copy",
          "--src-tls-verify=false",
          `docker://${registry.host}/bench/app:1`,
          `oci:${work}/x:1`,
        ]),
      );
      const um = mustSucceed(
        "umoci unpack",
        await timeChild("umoci", ["unpack", "--rootless", "--image", `${work}/x:1`, `${work}/bundle`]),
      );
      skopeoMs.push(sk.ms);
      umociMs.push(um.ms);
      refTotalMs.push(sk.ms + um.ms);
      log(`  rep ${rep + 1}: skopeo ${sec(sk.ms)} s + umoci ${sec(um.ms)} s`);
      await removeTreeForce(work);
    }

    // ---- profile one more cold install when the target is missed
    let profile: InstallBenchResult["profile"];
    let withAllowSysMs: number | undefined;
    if ((options.profile ?? true) && median(dzColdMs) > 0.5 * median(refTotalMs)) {
      log("dz misses the 0.5× target: profiling one more cold install with --cpu-prof…");
      const home = await freshHome(root, "profiled", registry, "bench", trustedRootPath);
      const profDir = `${root}/prof`;
      await Deno.mkdir(profDir);
      mustSucceed(
        "dz install (profiled)",
        await timeDz(["install", "lab/app:1"], home, ["--cpu-prof", `--cpu-prof-dir=${profDir}`]),
      );
      profile = await summariseProfile(profDir);
      await removeTreeForce(home);
      log("diagnostic: one cold install with --allow-sys (Deno.umask() then works: no chmod per file)…");
      const sysHome = await freshHome(root, "allow-sys", registry, "bench", trustedRootPath);
      withAllowSysMs = mustSucceed(
        "dz install (--allow-sys)",
        await timeDz(["install", "lab/app:1"], sysHome, ["--allow-sys"]),
      ).ms;
      await removeTreeForce(sysHome);
    }

    // ---- 3: 20 small signed packages, then `dz update --check`
    log("publishing and installing 20 small signed packages…");
    const base = await hostBinaryEntries("/usr/bin/echo", "echo");
    const many = await freshHome(root, "many", registry, "tools", trustedRootPath);
    for (let i = 0; i < 20; i++) {
      const name = `tool${String(i).padStart(2, "0")}`;
      await publishSigned(
        registry,
        signer,
        `tools/${name}`,
        "1.0",
        await buildSmallImage(base, `${name} 1.0\n`),
      );
      // Setup only (not timed): in-process to save 20 process start-ups.
      const r = await runDz(["install", `lab/${name}:1.0`], { home: many });
      if (r.code !== 0) throw new Error(`setup install ${name} failed: ${r.stderr}`);
    }
    const updateMs: number[] = [];
    let updateCode = 0;
    let updateNote = "";
    for (let i = 0; i < 3; i++) {
      const t = await timeDz(["update", "--check"], many);
      updateCode = t.code;
      if (t.code !== 0 && t.code !== 100) {
        updateNote = t.stderr.split("\n").find((l) => l.trim()) ?? `exit ${t.code}`;
        break;
      }
      updateMs.push(t.ms);
      updateNote = t.code === 100 ? "updates reported (exit 100)" : "all current (exit 0)";
    }

    // ---- 4: 100 packages, `dz list`
    const added = await cloneToHundred(`${many}/packages`);
    const listMs: number[] = [];
    let listLines = 0;
    for (let i = 0; i < 5; i++) {
      const t = mustSucceed("dz list", await timeDz(["list"], many));
      listMs.push(t.ms);
      listLines = t.stdout.trim().split("\n").length;
    }
    const inProcessMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await runDz(["list"], { home: many });
      inProcessMs.push(performance.now() - t0);
      if (r.code !== 0) throw new Error(`in-process list failed: ${r.stderr}`);
    }
    await removeTreeForce(many);
    await removeTreeForce(warm);

    return {
      data: { ...dataInfo, layerGzipMiB },
      reps,
      dzColdMs,
      dzWarmMs,
      dzRemoveMs,
      skopeoMs,
      umociMs,
      refTotalMs,
      phases,
      startupMs,
      updateCheck: { ms: updateMs, code: updateCode, note: updateNote },
      list: { ms: listMs, inProcessMs, packages: 20 + added, lines: listLines },
      ...(profile ? { profile } : {}),
      emptyScriptMs,
      ...(withAllowSysMs !== undefined ? { withAllowSysMs } : {}),
    };
  } finally {
    await removeTreeForce(root);
  }
}

/**
 * Brings a packages/ dir with 20 real installs to 100 packages: for each copy, `packages/<name>-cK/` gets a
 * hardlinked copy of the source's version dir (rootfs and image config shared, not duplicated), its own
 * metadata.json with `name` adjusted, a hardlinked history.json, and a relative `current` symlink like dz's. Wrappers in bin/ are not copied.
 */
async function cloneToHundred(packages: string): Promise<number> {
  const sources: string[] = [];
  for await (const e of Deno.readDir(packages)) {
    if (e.isDirectory && !e.name.startsWith(".")) sources.push(e.name);
  }
  sources.sort();
  let added = 0;
  for (let k = 0; sources.length + added < 100; k++) {
    const src = sources[k % sources.length]!;
    const name = `${src}-c${Math.floor(k / sources.length) + 1}`;
    const current = await Deno.readLink(`${packages}/${src}/current`);
    const versionName = current.split("/").pop()!;
    await Deno.mkdir(`${packages}/${name}`);
    const cp = await new Deno.Command("cp", {
      args: ["-al", `${packages}/${src}/${versionName}`, `${packages}/${name}/${versionName}`],
      stderr: "piped",
    }).output();
    if (!cp.success) throw new Error(`cp -al failed: ${new TextDecoder().decode(cp.stderr)}`);
    const metaPath = `${packages}/${name}/${versionName}/metadata.json`;
    const meta = JSON.parse(await Deno.readTextFile(metaPath));
    meta.name = name;
    await Deno.chmod(`${packages}/${name}/${versionName}`, 0o755).catch(() => {});
    await Deno.remove(metaPath); // break the hardlink before writing
    await Deno.writeTextFile(metaPath, JSON.stringify(meta, null, 2) + "\n");
    await Deno.symlink(current, `${packages}/${name}/current`);
    await Deno.link(`${packages}/${src}/history.json`, `${packages}/${name}/history.json`).catch(() => {});
    added++;
  }
  return added;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string" },
      "small-files": { type: "string" },
      "large-files": { type: "string" },
      "large-mib": { type: "string" },
      "no-profile": { type: "boolean" },
    },
  });
  const r = await runInstallBench({
    ...(values.reps ? { reps: Number(values.reps) } : {}),
    ...(values["small-files"] ? { smallFiles: Number(values["small-files"]) } : {}),
    ...(values["large-files"] ? { largeFiles: Number(values["large-files"]) } : {}),
    ...(values["large-mib"] ? { largeMiB: Number(values["large-mib"]) } : {}),
    profile: !values["no-profile"],
  });
  console.log(JSON.stringify(r, null, 2));
}
