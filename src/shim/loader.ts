/**
 * The dynamic loader and library search path of a Linux rootfs (I/O). Library directories come from the
 * rootfs's own ld.so.conf (glibc) or ld-musl-<arch>.path (musl), then multiarch and standard directories,
 * each resolved inside the rootfs so that no absolute symlink can send the loader to host libraries.
 */
import { join } from "node:path";
import { RootfsPathError, tryResolveInRootfs } from "./resolve.ts";

/** Which C library a loader belongs to, and the command-line options it accepts. */
export interface LoaderFeatures {
  readonly flavor: "glibc" | "musl" | "unknown";
  /** `--argv0 NAME` (glibc ≥ 2.33; musl since it grew the option). */
  readonly argv0: boolean;
  /** `--inhibit-cache`: glibc only; keeps the host's /etc/ld.so.cache out of the search. */
  readonly inhibitCache: boolean;
}

/** A loader found inside a rootfs. */
export interface Loader extends LoaderFeatures {
  /** PT_INTERP as written, e.g. `/lib64/ld-linux-x86-64.so.2`. */
  readonly interpreter: string;
  /** Rootfs-absolute real path. */
  readonly path: string;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  outer: for (let i = haystack.indexOf(first); i >= 0 && i <= last; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

function contains(bytes: Uint8Array, text: string): boolean {
  return indexOfBytes(bytes, new TextEncoder().encode(text)) >= 0;
}

/**
 * Reads a loader's features from its bytes. glibc's rtld compares whole option strings ("--argv0",
 * "--inhibit-cache"). musl strips the leading "--" and compares the rest ("argv0", "library-path"), so the
 * full "--argv0" never appears in its binary; checked against Debian's musl 1.2.3 ld.so.
 */
export function probeLoaderBytes(bytes: Uint8Array): LoaderFeatures {
  if (contains(bytes, "musl libc")) {
    return { flavor: "musl", argv0: contains(bytes, "argv0"), inhibitCache: false };
  }
  if (
    contains(bytes, "--inhibit-cache") || contains(bytes, "GNU C Library") || contains(bytes, "ld.so.cache")
  ) {
    return {
      flavor: "glibc",
      argv0: contains(bytes, "--argv0"),
      inhibitCache: contains(bytes, "--inhibit-cache"),
    };
  }
  return { flavor: "unknown", argv0: false, inhibitCache: false };
}

/**
 * Finds the loader named by PT_INTERP inside the rootfs. Returns null when it is missing (or is not a
 * regular file); escapes and symlink loops throw RootfsPathError.
 */
export async function findLoader(rootfs: string, interpreter: string): Promise<Loader | null> {
  const entry = await tryResolveInRootfs(rootfs, interpreter);
  if (entry === null || !entry.info.isFile) return null;
  const bytes = await Deno.readFile(join(rootfs, entry.path));
  return { interpreter, path: entry.path, ...probeLoaderBytes(bytes) };
}

/** Debian multiarch triplets by OCI architecture. */
const TRIPLETS: Readonly<Record<string, readonly string[]>> = {
  amd64: ["x86_64-linux-gnu"],
  arm64: ["aarch64-linux-gnu"],
  "386": ["i386-linux-gnu"],
  arm: ["arm-linux-gnueabihf", "arm-linux-gnueabi"],
  ppc64le: ["powerpc64le-linux-gnu"],
  s390x: ["s390x-linux-gnu"],
  riscv64: ["riscv64-linux-gnu"],
  mips64le: ["mips64el-linux-gnuabi64"],
  loong64: ["loongarch64-linux-gnu"],
};

/** musl's name for an architecture, as in `ld-musl-<arch>.path`. */
const MUSL_ARCH: Readonly<Record<string, string>> = {
  amd64: "x86_64",
  arm64: "aarch64",
  "386": "i386",
  arm: "armhf",
  ppc64le: "powerpc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};

/** Standard directories, after the configured and multiarch ones. */
export const STANDARD_LIBRARY_DIRS: readonly string[] = [
  "/lib",
  "/usr/lib",
  "/lib64",
  "/usr/lib64",
  "/usr/local/lib",
];

/** One parsed line of ld.so.conf. */
export type LdConfLine =
  | { readonly kind: "dir"; readonly path: string }
  | { readonly kind: "include"; readonly pattern: string };

/** Parses ld.so.conf text (pure): comments, `include PATTERN`, `hwcap` (ignored), directories. */
export function parseLdSoConf(text: string): LdConfLine[] {
  const out: LdConfLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const hash = raw.indexOf("#");
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line.length === 0) continue;
    const words = line.split(/[ \t]+/);
    if (words[0] === "include") {
      for (const pattern of words.slice(1)) out.push({ kind: "include", pattern });
      continue;
    }
    if (words[0] === "hwcap") continue;
    for (const word of line.split(/[ \t:,]+/)) {
      // libc5-era "dir=TYPE" suffix.
      const path = word.replace(/=.*$/, "");
      if (path.startsWith("/")) out.push({ kind: "dir", path });
    }
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += "[" + body.replace(/\\/g, "\\\\") + "]";
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(re + "$");
}

const GLOB_CHARS = /[*?[]/;

/** Expands a rootfs-absolute glob inside the rootfs, sorted like glob(3). Missing parts match nothing. */
export async function globInRootfs(rootfs: string, pattern: string): Promise<string[]> {
  let paths = ["/"];
  for (const part of pattern.split("/").filter((p) => p.length > 0)) {
    const next: string[] = [];
    for (const dir of paths) {
      const base = dir === "/" ? "" : dir;
      if (!GLOB_CHARS.test(part)) {
        next.push(`${base}/${part}`);
        continue;
      }
      const real = await tryResolveInRootfs(rootfs, dir).catch(() => null);
      if (real === null || !real.info.isDirectory) continue;
      const re = globToRegExp(part);
      const names: string[] = [];
      for await (const e of Deno.readDir(join(rootfs, real.path))) {
        if (!e.name.startsWith(".") && re.test(e.name)) names.push(e.name);
      }
      names.sort();
      for (const name of names) next.push(`${base}/${name}`);
    }
    paths = next;
  }
  return paths;
}

async function readRootfsText(rootfs: string, path: string): Promise<string | null> {
  const entry = await tryResolveInRootfs(rootfs, path).catch(() => null);
  if (entry === null || !entry.info.isFile) return null;
  return await Deno.readTextFile(join(rootfs, entry.path));
}

async function ldSoConfDirs(
  rootfs: string,
  file: string,
  seen: Set<string>,
  depth: number,
): Promise<string[]> {
  if (depth > 8 || seen.has(file)) return [];
  seen.add(file);
  const text = await readRootfsText(rootfs, file);
  if (text === null) return [];
  const out: string[] = [];
  const confDir = file.slice(0, file.lastIndexOf("/")) || "/";
  for (const line of parseLdSoConf(text)) {
    if (line.kind === "dir") {
      out.push(line.path);
      continue;
    }
    // ldconfig resolves a relative include against the including file's directory.
    const pattern = line.pattern.startsWith("/") ? line.pattern : `${confDir}/${line.pattern}`;
    for (const included of await globInRootfs(rootfs, pattern)) {
      out.push(...await ldSoConfDirs(rootfs, included, seen, depth + 1));
    }
  }
  return out;
}

/**
 * The library search path of a rootfs, in order: ld.so.conf (with includes) and musl's path file,
 * multiarch dirs, standard dirs. Each entry is the rootfs-absolute REAL path of an existing directory,
 * deduplicated; directories whose names contain `:` or `;` (the loader's list separators) are skipped.
 */
export async function libraryDirs(rootfs: string, arch: string): Promise<string[]> {
  const candidates: string[] = [];
  candidates.push(...await ldSoConfDirs(rootfs, "/etc/ld.so.conf", new Set(), 0));
  const muslArch = MUSL_ARCH[arch];
  if (muslArch !== undefined) {
    const text = await readRootfsText(rootfs, `/etc/ld-musl-${muslArch}.path`);
    if (text !== null) {
      candidates.push(...text.split(/[\n:]/).map((s) => s.trim()).filter((s) => s.startsWith("/")));
    }
  }
  for (const triplet of TRIPLETS[arch] ?? []) candidates.push(`/lib/${triplet}`, `/usr/lib/${triplet}`);
  candidates.push(...STANDARD_LIBRARY_DIRS);
  const out: string[] = [];
  for (const dir of candidates) {
    let entry;
    try {
      entry = await tryResolveInRootfs(rootfs, dir);
    } catch (err) {
      if (err instanceof RootfsPathError) continue;
      throw err;
    }
    if (entry === null || !entry.info.isDirectory) continue;
    if (/[:;]/.test(entry.path) || out.includes(entry.path)) continue;
    out.push(entry.path);
  }
  return out;
}
