/**
 * Builds the four release binaries with `deno compile` and writes SHA256SUMS.
 *
 *   deno task compile [--target <triple>]... [--out dist]
 *
 * `deno compile` downloads its runtime (denort) for each target from dl.deno.land. Where that host cannot be
 * reached this script says so and exits non-zero; CI does not depend on it. The permission flags are fixed at
 * compile time and are the same ones `deno task dz` and the tests use (RUN_FLAGS, with the V8 flags).
 */
import meta from "../deno.json" with { type: "json" };

/** The four supported targets. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

/** Permissions baked into the binary (see README "Security model"); no prompts. */
export const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  // docker-credential-* helpers and `dz run` spawn processes.
  "--allow-run",
  "--no-prompt",
];

/**
 * V8 flags baked into the binary. A 2 MiB young-generation semi-space (V8's default grows to 16 MiB per isolate,
 * and dz runs two: the CLI and the extraction worker) cut the peak RSS of a 300 MB install from 323 to 218 MiB
 * (20,000 files) and from 229 to 185 MiB (510 files), at the same wall time (bench/, README Benchmarks).
 */
export const V8_FLAGS = ["--v8-flags=--max-semi-space-size=2"];

/** Every runtime flag of the binary: `deno task dz`, the tests' `deno run` and `deno compile` use these. */
export const RUN_FLAGS: readonly string[] = [...PERMISSIONS, ...V8_FLAGS];

/** Modules started with `new Worker(...)` (tests/cli/permissions_test.ts checks the list is complete). */
export const WORKER_ENTRIES: readonly string[] = ["src/unpack/extract_worker.ts"];

/** The `deno compile` arguments for one target. Pure, so tests can check the flags. */
export function compileArgs(target: string, outDir: string): string[] {
  const os = target.includes("apple") ? "macos" : "linux";
  const arch = target.startsWith("aarch64") ? "arm64" : "x86_64";
  return [
    "compile",
    ...RUN_FLAGS,
    "--frozen",
    "--no-check=remote",
    // Never embed a stray node_modules: dz resolves npm packages from the Deno cache.
    "--node-modules-dir=none",
    // Worker entry points are loaded by URL at run time, so the module graph of main.ts does not include them.
    ...WORKER_ENTRIES.flatMap((entry) => ["--include", entry]),
    "--target",
    target,
    "--output",
    `${outDir}/dz-${meta.version}-${os}-${arch}`,
    "main.ts",
  ];
}

async function sha256Hex(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function main(args: string[]): Promise<number> {
  let outDir = "dist";
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") outDir = args[++i] ?? outDir;
    else if (args[i] === "--target") targets.push(args[++i] ?? "");
    else {
      Deno.stderr.writeSync(new TextEncoder().encode(`compile: unknown argument ${args[i]}\n`));
      return 2;
    }
  }
  const chosen = targets.length > 0 ? targets : [...TARGETS];
  for (const t of chosen) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      Deno.stderr.writeSync(new TextEncoder().encode(`compile: unsupported target ${t}\n`));
      return 2;
    }
  }
  await Deno.mkdir(outDir, { recursive: true });
  const sums: string[] = [];
  for (const target of chosen) {
    const argv = compileArgs(target, outDir);
    const output = argv[argv.indexOf("--output") + 1]!;
    const res = await new Deno.Command(Deno.execPath(), { args: argv, stdout: "inherit", stderr: "piped" })
      .output();
    const err = new TextDecoder().decode(res.stderr);
    Deno.stderr.writeSync(res.stderr);
    if (!res.success) {
      const offline = /dl\.deno\.land|denort|error sending request|dns error|Failed fetching/i.test(err);
      Deno.stderr.writeSync(new TextEncoder().encode(
        offline
          ? `compile: cannot download the Deno runtime (denort) for ${target} from dl.deno.land.\n` +
            "compile: run this where dl.deno.land is reachable (the release workflow does), or set DENORT_BIN.\n"
          : `compile: deno compile failed for ${target}\n`,
      ));
      return 1;
    }
    const name = output.slice(outDir.length + 1) + (target.includes("windows") ? ".exe" : "");
    sums.push(`${await sha256Hex(`${outDir}/${name}`)}  ${name}`);
  }
  await Deno.writeTextFile(`${outDir}/SHA256SUMS`, sums.join("\n") + "\n");
  Deno.stdout.writeSync(
    new TextEncoder().encode(`compile: wrote ${sums.length} binaries and SHA256SUMS to ${outDir}\n`),
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
