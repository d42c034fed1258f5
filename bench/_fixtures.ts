/**
 * Shared fixtures for the dz benchmarks (scripts, never tests): bulk image generation, signed publishing to a
 * launched docker-registry, fresh dz homes with a test-PKI trusted root, child-process timing with per-line
 * stderr timestamps, and small statistics helpers.
 */
import { type Digest, sha256Digest } from "../src/oci/digest.ts";
import { runDz } from "../tests/support/cli_harness.ts";
import { DZ_RUN_FLAGS } from "../tests/support/cli_harness.ts";
import { httpStore, signImageLegacy } from "../tests/support/cosign_signer.ts";
import { hostBinaryEntries, IDENTITY, ISSUER, OCI_ARCH } from "../tests/support/e2e.ts";
import { buildImage, type BuiltImage, pushIndex, type TarEntry } from "../tests/support/image_builder.ts";
import type { LaunchedRegistry } from "../tests/support/registry_launcher.ts";
import type { TestSigner } from "../tests/support/test_pki.ts";

export const MIB = 1024 * 1024;
export const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------------------
// Deterministic, fast content pools.

/** xorshift32: a tiny seeded PRNG (Math.random is not seedable). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const WORDS = (
  "the of and to in is for on that with as by this be are from or at an it not which have was all can has " +
  "config server client request response error value index table layer image digest signature verify " +
  "install package version release build manifest registry store cache network buffer stream module import " +
  "export function return const let async await promise string number object array true false null default " +
  "user group path file directory mode owner size time date log info warn debug trace metric count total " +
  "alpha beta gamma delta epsilon kernel thread process memory page block inode mount socket handler route"
).split(" ");

/** Pools sliced at varying offsets: random bytes (incompressible) and word-salad text (gzip ≈ 3:1). */
export interface ContentPools {
  readonly random: Uint8Array;
  readonly text: Uint8Array;
}

/** Builds the pools: `randomMiB` of crypto random bytes and `textMiB` of pseudo-English lines. */
export function makePools(randomMiB = 32, textMiB = 8): ContentPools {
  const random = new Uint8Array(randomMiB * MIB);
  for (let off = 0; off < random.length; off += 65_536) {
    crypto.getRandomValues(random.subarray(off, off + 65_536));
  }
  const rnd = prng(42);
  const lines: string[] = [];
  let size = 0;
  let n = 0;
  while (size < textMiB * MIB) {
    const count = 4 + Math.floor(rnd() * 14);
    const words: string[] = [];
    for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
    const line = (n % 7 === 0 ? `${n}\t${(rnd() * 1e6).toFixed(3)}\t` : "") + words.join(" ") + "\n";
    lines.push(line);
    size += line.length;
    n++;
  }
  const text = new TextEncoder().encode(lines.join("")).subarray(0, textMiB * MIB);
  return { random, text };
}

/** `size` bytes of pool content starting at a seed-dependent offset (a view, no copy). */
function slice(pool: Uint8Array, size: number, seed: number): Uint8Array {
  if (size >= pool.length) throw new RangeError(`pool too small for ${size} bytes`);
  const start = Math.floor(prng(seed * 2654435761 + 1)() * (pool.length - size));
  return pool.subarray(start, start + size);
}

/** A file of `size` bytes; random, text, or alternating 64 KiB blocks of both ("mixed"). */
export function content(
  pools: ContentPools,
  kind: "random" | "text" | "mixed",
  size: number,
  seed: number,
): Uint8Array {
  if (kind === "random") return slice(pools.random, size, seed);
  if (kind === "text") {
    if (size < pools.text.length) return slice(pools.text, size, seed);
    const out = new Uint8Array(size);
    for (let off = 0, i = 0; off < size; off += 4 * MIB, i++) {
      out.set(slice(pools.text, Math.min(4 * MIB, size - off), seed * 31 + i), off);
    }
    return out;
  }
  const out = new Uint8Array(size);
  for (let off = 0, i = 0; off < size; off += 65_536, i++) {
    const n = Math.min(65_536, size - off);
    out.set(slice(i % 2 ? pools.random : pools.text, n, seed * 131 + i), off);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The bulk image.

/** Shape of the bulk image. */
export interface BulkSpec {
  /** Number of small files, split over two layers. @default {20000} */
  smallFiles?: number;
  /** Number of large files, split over two layers. @default {8} */
  largeFiles?: number;
  /** Size of each large file in MiB. @default {25} */
  largeMiB?: number;
  /** Host binary used as entrypoint. @default {"/usr/bin/ls"} */
  binary?: string;
  /** Wrapper/binary name. @default {"app"} */
  name?: string;
}

/** What the bulk image holds. */
export interface BulkImage {
  readonly image: BuiltImage;
  /** Entries of the first (small, entrypoint) layer, to build variants that change only that layer. */
  readonly firstLayer: TarEntry[];
  readonly files: number;
  readonly dirs: number;
  readonly tarBytes: number;
  readonly gzipBytes: number;
  readonly randomBytes: number;
  readonly textBytes: number;
  readonly smallFiles: number;
  readonly largeFiles: number;
  readonly buildMs: number;
}

const SMALL_EXT = [".txt", ".json", ".md", ".py", ".js", ".so", ".bin", ".png", ".dat", ".pyc"];

/**
 * Five gzip layers: (1) the entrypoint binary with its loader and libraries, (2)+(3) small files of 128 B–32 KiB
 * (log-uniform sizes, 60% text / 40% random) in 100-file directories, (4)+(5) large files (random, text and
 * mixed). Content comes from pools sliced at distinct offsets, so gzip sees realistic (not trivial) ratios.
 */
export async function buildBulkImage(spec: BulkSpec = {}): Promise<BulkImage> {
  const t0 = performance.now();
  const smallCount = spec.smallFiles ?? 20_000;
  const largeCount = spec.largeFiles ?? 8;
  const largeSize = (spec.largeMiB ?? 25) * MIB;
  const name = spec.name ?? "app";
  const pools = makePools();
  const rnd = prng(7);
  let files = 0;
  let dirs = 0;
  let randomBytes = 0;
  let textBytes = 0;

  const base = await hostBinaryEntries(spec.binary ?? "/usr/bin/ls", name);
  const layer1: TarEntry[] = [
    ...base,
    { type: "dir", path: "etc" },
    { type: "dir", path: `etc/${name}` },
    { type: "file", path: `etc/${name}/config.yaml`, content: "mode: bench\nlevel: 3\n" },
  ];
  for (const e of layer1) {
    if (e.type === "file") files++;
    if (e.type === "dir") dirs++;
  }

  const smallLayer = (root: string, first: number, count: number): TarEntry[] => {
    const entries: TarEntry[] = [];
    const parts = root.split("/");
    for (let i = 1; i <= parts.length; i++) entries.push({ type: "dir", path: parts.slice(0, i).join("/") });
    dirs += parts.length;
    for (let i = 0; i < count; i++) {
      const id = first + i;
      if (i % 100 === 0) {
        const d = `${root}/g${Math.floor(i / 1000)}`;
        if (i % 1000 === 0) {
          entries.push({ type: "dir", path: d });
          dirs++;
        }
        entries.push({ type: "dir", path: `${d}/m${Math.floor(i / 100) % 10}` });
        dirs++;
      }
      // Log-uniform 128 B .. 32 KiB (mean ≈ 5.9 KiB).
      const size = Math.floor(128 * Math.pow(256, rnd()));
      const isText = rnd() < 0.6;
      const body = content(pools, isText ? "text" : "random", size, id);
      if (isText) textBytes += size;
      else randomBytes += size;
      const ext = SMALL_EXT[(id * 7) % SMALL_EXT.length]!;
      entries.push({
        type: "file",
        path: `${root}/g${Math.floor(i / 1000)}/m${Math.floor(i / 100) % 10}/f${id}${ext}`,
        content: body,
        mode: ext === ".so" ? 0o755 : 0o644,
      });
      files++;
    }
    return entries;
  };
  const half = Math.floor(smallCount / 2);
  const layer2 = smallLayer(`usr/share/${name}`, 0, half);
  const layer3 = smallLayer(`usr/lib/${name}/modules`, half, smallCount - half);

  const kinds: ("random" | "text" | "mixed")[] = [
    "random",
    "random",
    "text",
    "random",
    "mixed",
    "random",
    "text",
    "random",
  ];
  const largeLayer = (root: string, first: number, count: number): TarEntry[] => {
    const entries: TarEntry[] = [];
    const parts = root.split("/");
    for (let i = 1; i <= parts.length; i++) entries.push({ type: "dir", path: parts.slice(0, i).join("/") });
    dirs += parts.length;
    for (let i = 0; i < count; i++) {
      const id = first + i;
      const kind = kinds[id % kinds.length]!;
      const ext = kind === "text" ? "csv" : kind === "mixed" ? "pak" : "bin";
      entries.push({
        type: "file",
        path: `${root}/blob${id}.${ext}`,
        content: content(pools, kind, largeSize, id),
      });
      if (kind === "random") randomBytes += largeSize;
      else if (kind === "text") textBytes += largeSize;
      else {
        randomBytes += largeSize / 2;
        textBytes += largeSize / 2;
      }
      files++;
    }
    return entries;
  };
  const largeHalf = Math.ceil(largeCount / 2);
  const layer4 = largeLayer(`opt/${name}/data`, 0, largeHalf);
  const layer5 = largeLayer(`opt/${name}/assets`, largeHalf, largeCount - largeHalf);

  const image = await buildImage({
    layers: [layer1, layer2, layer3, layer4, layer5].map((entries) => ({ entries })),
    config: { Entrypoint: [`/usr/bin/${name}`], Env: ["PATH=/usr/bin:/bin"] },
    platform: { os: "linux", architecture: OCI_ARCH },
  });
  return {
    image,
    firstLayer: layer1,
    files,
    dirs,
    tarBytes: image.layers.reduce((n, l) => n + l.tar.length, 0),
    gzipBytes: image.layers.reduce((n, l) => n + l.bytes.length, 0),
    randomBytes,
    textBytes,
    smallFiles: smallCount,
    largeFiles: largeCount,
    buildMs: performance.now() - t0,
  };
}

/** A small echo image (two layers) printing `content`, like tests/support/e2e.ts publish(). */
export async function buildSmallImage(base: TarEntry[], text: string): Promise<BuiltImage> {
  return await buildImage({
    layers: [
      { entries: base },
      { entries: [{ type: "dir", path: "etc" }, { type: "file", path: "etc/release", content: text }] },
    ],
    config: { Entrypoint: ["/usr/bin/echo"], Cmd: [text.trim()], Env: ["PATH=/usr/bin:/bin"] },
    platform: { os: "linux", architecture: OCI_ARCH },
  });
}

/** Pushes `image` as a one-platform index tagged `tag` and signs index and manifest (cosign legacy `.sig`). */
export async function publishSigned(
  registry: LaunchedRegistry,
  signer: TestSigner,
  repository: string,
  tag: string,
  image: BuiltImage,
): Promise<{ indexDigest: Digest; digest: Digest }> {
  const index = await pushIndex(registry, repository, tag, [image]);
  const store = httpStore(registry);
  await signImageLegacy(store, repository, index.digest, signer);
  await signImageLegacy(store, repository, image.digest, signer);
  return { indexDigest: index.digest, digest: image.digest };
}

export { IDENTITY, ISSUER, sha256Digest };

// ---------------------------------------------------------------------------------------------------------
// dz homes and child processes.

/** Creates a fresh dz home under `root` with registry `lab` → `<host>/<namespace>` trusting the test PKI. */
export async function freshHome(
  root: string,
  label: string,
  registry: LaunchedRegistry,
  namespace: string,
  trustedRootPath: string,
): Promise<string> {
  const home = `${root}/${label}`;
  await Deno.mkdir(home, { recursive: true });
  const added = await runDz([
    "add",
    "registry",
    "lab",
    `${registry.host}/${namespace}`,
    "--issuer",
    ISSUER,
    "--identity",
    IDENTITY,
    "--trusted-root",
    trustedRootPath,
  ], { home, env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" } });
  if (added.code !== 0) throw new Error(`dz add registry failed: ${added.stderr}`);
  return home;
}

/** Makes a tree writable again (dz may leave read-only dirs) and removes it. */
export async function removeTreeForce(path: string): Promise<void> {
  await new Deno.Command("chmod", { args: ["-R", "u+rwX", path], stdout: "null", stderr: "null" }).output()
    .catch(() => {});
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/** A timed child process. */
export interface Timed {
  readonly ms: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr lines with the ms since spawn at which they arrived. */
  readonly lines: { ms: number; text: string }[];
}

/** Runs `cmd args` and times it from spawn to exit, timestamping each stderr line as it arrives. */
export async function timeChild(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Timed> {
  const start = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: { ms: number; text: string }[] = [];
  const readErr = (async () => {
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      const now = performance.now() - start;
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push({ ms: now, text: buf.slice(0, nl) });
        buf = buf.slice(nl + 1);
      }
    }
    if (buf) lines.push({ ms: performance.now() - start, text: buf });
  })();
  const stdoutText = new Response(child.stdout).text();
  const status = await child.status;
  const ms = performance.now() - start;
  await readErr;
  return {
    ms,
    code: status.code,
    stdout: await stdoutText,
    stderr: lines.map((l) => l.text).join("\n"),
    lines,
  };
}

let denoDir: Promise<string> | undefined;

/** The DENO_DIR this deno uses, so children with their own HOME still hit the warm module/npm cache. */
export function hostDenoDir(): Promise<string> {
  denoDir ??= (async () => {
    const explicit = Deno.env.get("DENO_DIR");
    if (explicit) return explicit;
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output();
    return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
  })();
  return denoDir;
}

/**
 * Runs dz as a user would: `deno run -q <compiled-binary permissions> main.ts …` with DROPZONE_HOME=home and
 * HOME=home-user (no ~/.docker credentials leak in), DENO_DIR pinned to the warm host cache.
 */
export async function timeDz(argv: string[], home: string, extraDenoFlags: string[] = []): Promise<Timed> {
  const env = { DROPZONE_HOME: home, NO_COLOR: "1", HOME: `${home}-user`, DENO_DIR: await hostDenoDir() };
  return await timeChild(Deno.execPath(), [
    "run",
    "-q",
    ...DZ_RUN_FLAGS,
    ...extraDenoFlags,
    MAIN_TS,
    ...argv,
  ], {
    env,
  });
}

/** Throws with the output when a timed run failed. */
export function mustSucceed(label: string, t: Timed, okCodes: number[] = [0]): Timed {
  if (!okCodes.includes(t.code)) {
    throw new Error(`${label} exited ${t.code}\nstdout: ${t.stdout}\nstderr: ${t.stderr}`);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and formatting.

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seconds with two decimals. */
export const sec = (ms: number): string => (ms / 1000).toFixed(2);

/** MiB with one decimal. */
export const mib = (bytes: number): string => (bytes / MIB).toFixed(1);

/** Output of a command's first line, or "unavailable". */
export async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(out.stdout).split("\n")[0]!.trim() || "unavailable";
  } catch {
    return "unavailable";
  }
}
