/**
 * Plans how a wrapper runs an image's entrypoint natively (I/O: reads the rootfs). All preflight checks
 * happen here, so an install fails before anything is written when the result could not run.
 */
import { join, posix } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { ImageConfig } from "../oci/manifest.ts";
import type { Host } from "../runtime.ts";
import type { BinaryFormat } from "./binary_format.ts";
import { findLoader, libraryDirs, STANDARD_LIBRARY_DIRS } from "./loader.ts";
import {
  imagePath,
  isHostSafe,
  readBinaryFormat,
  resolveCommand,
  type ResolvedCommand,
  RootfsPathError,
  tryResolveInRootfs,
} from "./resolve.ts";

/** An extra binary to expose from the same rootfs (`--bin PATH[:NAME]`). */
export interface ExtraBin {
  /** Rootfs-absolute path, or a bare name searched in the image's PATH. */
  readonly path: string;
  readonly name: string;
}

/** Input of {@linkcode planShim}. */
export interface PlanShimOptions {
  /** Host path of the unpacked rootfs to inspect (may be a staging dir; the wrapper bakes its own ROOT). */
  readonly rootfs: string;
  readonly config: ImageConfig;
  readonly host: Host;
  /** The wrapper name. */
  readonly name: string;
  readonly extraBins?: readonly ExtraBin[];
}

/** A piece of an environment value: literal text, or a rootfs-absolute path rendered as "$ROOT"'/…'. */
export type EnvPart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "root"; readonly path: string };

/** One environment variable the wrapper exports. */
export interface ShimEnvVar {
  readonly name: string;
  readonly value: readonly EnvPart[];
  /** `set` always assigns; `default` assigns only when the user's environment lacks the variable. */
  readonly mode: "set" | "default";
  readonly source: "image" | "hint";
}

/** What argv[0] the program sees (only when the loader supports --argv0). */
export type Argv0 =
  | { readonly kind: "invoked" }
  | { readonly kind: "path"; readonly path: string };

/** Everything needed to render a wrapper. Paths are rootfs-absolute (`/usr/bin/jq`). */
export interface ShimPlan {
  readonly name: string;
  readonly entrypoint: {
    /** The raw argv the image declares (Entrypoint, else Cmd; or the --bin path). */
    readonly argv: readonly string[];
    /** Entrypoint[0] as a rootfs-absolute path (PATH lookup done), before symlinks. */
    readonly path: string;
    /** Real path with all symlinks resolved inside the rootfs. */
    readonly resolved: string;
  };
  readonly kind: "elf-dynamic" | "elf-static" | "macho";
  /** The file the wrapper execs or hands to the loader (the interpreter, for scripts). */
  readonly exec: string;
  /** argv[0] for `--argv0`. */
  readonly argv0: Argv0;
  /** For a `#!` entrypoint: the script and the interpreter's optional argument, placed before bakedArgs. */
  readonly script?: { readonly path: string; readonly interpreterArg?: string };
  /** Rootfs-absolute real path of the dynamic loader (elf-dynamic only). */
  readonly loader?: string;
  /** Rootfs-absolute real library directories (loader --library-path, or dyld fallback on macOS). */
  readonly libraryPath: readonly string[];
  readonly argv0Supported: boolean;
  readonly inhibitCache: boolean;
  /** Always passed: Entrypoint[1:]. */
  readonly bakedArgs: readonly string[];
  /** Passed only when the wrapper gets no arguments (Docker's Cmd semantics). */
  readonly defaultArgs: readonly string[];
  readonly env: readonly ShimEnvVar[];
  readonly extraBins: readonly ShimPlan[];
}

/** Variables a wrapper never takes from an image: they describe the host session or the loader. */
const NEVER_FROM_IMAGE = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "PWD",
  "OLDPWD",
  "TERM",
  "HOSTNAME",
  "TMPDIR",
  "SHLVL",
  "_",
  // The wrapper's own variable.
  "ROOT",
]);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a `--bin PATH[:NAME]` spec; NAME defaults to the basename of PATH. */
export function parseBinSpec(spec: string): ExtraBin {
  const colon = spec.lastIndexOf(":");
  const path = colon >= 0 ? spec.slice(0, colon) : spec;
  const name = colon >= 0 ? spec.slice(colon + 1) : posix.basename(path);
  if (path.length === 0 || name.length === 0 || name.includes("/") || name === "." || name === "..") {
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot use --bin "${spec}": expected PATH[:NAME]`, {
      hint:
        `Pass a path inside the image, optionally followed by ":" and a command name, e.g. --bin /usr/bin/tool:tool`,
    });
  }
  return { path, name };
}

function normalizeArch(arch: string): string {
  return arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
}

function platformError(name: string, what: string, built: string, host: Host): DropzoneError {
  const hostPlatform = `${host.os}/${host.arch}`;
  return new DropzoneError(
    "ENTRYPOINT",
    `Cannot install "${name}": ${what} is built for ${built}, not for ${hostPlatform}`,
    { hint: `Use an image built for ${hostPlatform}` },
  );
}

function entrypointError(name: string, message: string, hint: string, cause?: unknown): DropzoneError {
  return new DropzoneError("ENTRYPOINT", `Cannot install "${name}": ${message}`, {
    hint,
    ...(cause === undefined ? {} : { cause }),
  });
}

async function lookup(
  rootfs: string,
  command: string,
  searchPath: string,
  workingDir: string,
  name: string,
  what: string,
): Promise<ResolvedCommand | null> {
  try {
    return await resolveCommand(rootfs, command, searchPath, workingDir);
  } catch (err) {
    if (err instanceof RootfsPathError) {
      throw entrypointError(
        name,
        `${what} "${command}" cannot be resolved: ${err.message}`,
        `Use an image whose ${what} stays inside the image`,
        err,
      );
    }
    throw err;
  }
}

interface Program {
  readonly command: ResolvedCommand;
  readonly format: Exclude<BinaryFormat, { kind: "script" | "truncated" | "unknown" }>;
}

function checkFormat(
  name: string,
  what: string,
  path: string,
  format: BinaryFormat,
  host: Host,
): asserts format is Program["format"] {
  if (format.kind === "elf") {
    if (format.os !== host.os) {
      throw platformError(name, `${what} "${path}"`, `${format.os}/${format.arch}`, host);
    }
    if (format.arch !== host.arch) {
      throw platformError(name, `${what} "${path}"`, `${format.os}/${format.arch}`, host);
    }
    return;
  }
  if (format.kind === "macho") {
    if (host.os !== "darwin") {
      throw platformError(name, `${what} "${path}"`, `darwin/${format.arches.join(",")}`, host);
    }
    if (!format.arches.includes(host.arch)) {
      throw platformError(name, `${what} "${path}"`, `darwin/${format.arches.join(",")}`, host);
    }
    return;
  }
  throw entrypointError(
    name,
    `${what} "${path}" is not an ELF or Mach-O executable or a #! script`,
    "Use an image whose entrypoint is a native program (not a -dev or data-only variant), or choose one with --bin PATH",
  );
}

/** Rewrites an image Env value: absolute paths (or path lists) that exist in the rootfs become "$ROOT"/…. */
async function rewriteEnvValue(
  rootfs: string,
  value: string,
): Promise<{ parts: EnvPart[]; intoRootfs: boolean }> {
  const parts: EnvPart[] = [];
  let intoRootfs = false;
  const items = value.split(":");
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (i > 0) parts.push({ kind: "text", text: ":" });
    if (item.startsWith("/") && item !== "/") {
      const entry = await tryResolveInRootfs(rootfs, item).catch(() => null);
      if (entry !== null) {
        intoRootfs = true;
        parts.push({ kind: "root", path: item.endsWith("/") ? entry.path + "/" : entry.path });
        continue;
      }
    }
    if (item.length > 0) parts.push({ kind: "text", text: item });
  }
  return { parts: mergeText(parts), intoRootfs };
}

function mergeText(parts: EnvPart[]): EnvPart[] {
  const out: EnvPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (part.kind === "text" && last?.kind === "text") {
      out[out.length - 1] = { kind: "text", text: last.text + part.text };
    } else out.push(part);
  }
  return out;
}

/** Runtime data hints: set only when the image Env did not, and only as defaults. */
const HINTS: readonly { name: string; path: string; dir: boolean }[] = [
  { name: "SSL_CERT_FILE", path: "/etc/ssl/certs/ca-certificates.crt", dir: false },
  { name: "TZDIR", path: "/usr/share/zoneinfo", dir: true },
  { name: "LOCPATH", path: "/usr/lib/locale", dir: true },
];

async function planEnv(rootfs: string, imageEnv: readonly string[]): Promise<ShimEnvVar[]> {
  const out: ShimEnvVar[] = [];
  const declared = new Set<string>();
  for (const entry of imageEnv) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    declared.add(name);
    if (
      !ENV_NAME.test(name) || NEVER_FROM_IMAGE.has(name) || name.startsWith("LD_") || name.startsWith("DYLD_")
    ) {
      continue;
    }
    const { parts, intoRootfs } = await rewriteEnvValue(rootfs, entry.slice(eq + 1));
    // Paths into the rootfs belong to the bundled program and must win; plain values (LANG=…) are defaults
    // the user's own environment may override.
    out.push({ name, value: parts, mode: intoRootfs ? "set" : "default", source: "image" });
  }
  for (const hint of HINTS) {
    if (declared.has(hint.name)) continue;
    const entry = await tryResolveInRootfs(rootfs, hint.path).catch(() => null);
    if (entry === null || entry.info.isDirectory !== hint.dir) continue;
    out.push({
      name: hint.name,
      value: [{ kind: "root", path: entry.path }],
      mode: "default",
      source: "hint",
    });
  }
  return out;
}

/** What planTarget needs: the image and the command to find in it; args and env go into the plan as given. */
interface TargetInput extends Pick<ShimPlan, "bakedArgs" | "defaultArgs" | "env"> {
  readonly rootfs: string;
  readonly config: ImageConfig;
  readonly host: Host;
  readonly name: string;
  readonly argv: readonly string[];
  readonly what: string;
}

async function planTarget(input: TargetInput): Promise<ShimPlan> {
  const { rootfs, host, name, what } = input;
  const searchPath = imagePath(input.config.config.Env);
  const workingDir = input.config.config.WorkingDir || "/";
  const command = input.argv[0]!;
  const found = await lookup(rootfs, command, searchPath, workingDir, name, what);
  if (found === null) {
    throw entrypointError(
      name,
      `${what} "${command}" does not exist in the image`,
      "Use an image that contains it, or choose another program with --bin PATH",
    );
  }
  let format = await readBinaryFormat(join(rootfs, found.resolved));
  let program = found;
  let script: ShimPlan["script"];
  if (format.kind === "script") {
    let interpreter = format.interpreter;
    let interpreterArg = format.arg;
    // `#!/usr/bin/env tool`: look tool up in the image's PATH ourselves; env would search the host's.
    if (posix.basename(interpreter) === "env" && interpreterArg && !interpreterArg.startsWith("-")) {
      interpreter = interpreterArg.split(/[ \t]+/)[0]!;
      interpreterArg = interpreterArg.slice(interpreter.length).trim() || undefined;
    }
    const interp = await lookup(rootfs, interpreter, searchPath, workingDir, name, "script interpreter");
    if (interp === null) {
      throw entrypointError(
        name,
        `${what} "${found.path}" is a script for "${interpreter}", which does not exist in the image`,
        "Use an image that ships the script's interpreter, or choose a native program with --bin PATH",
      );
    }
    const scriptPath = await isHostSafe(rootfs, found.path, found.resolved) ? found.path : found.resolved;
    script = { path: scriptPath, ...(interpreterArg ? { interpreterArg } : {}) };
    program = interp;
    format = await readBinaryFormat(join(rootfs, interp.resolved));
    if (format.kind === "script") {
      throw entrypointError(
        name,
        `script interpreter "${interp.path}" is itself a script`,
        "Use an image whose entrypoint is a native program, or choose one with --bin PATH",
      );
    }
  }
  checkFormat(name, script ? "script interpreter" : what, program.path, format, host);

  const hostSafe = await isHostSafe(rootfs, program.path, program.resolved);
  const original = hostSafe ? program.path : program.resolved;
  // argv[0]: the name the user typed when it matches the program (multi-call binaries dispatch on it);
  // otherwise the program's own path, as a container runtime would pass it.
  const argv0: Argv0 = !script && posix.basename(name) === posix.basename(program.path)
    ? { kind: "invoked" }
    : { kind: "path", path: original };
  const base = {
    name,
    entrypoint: { argv: [...input.argv], path: found.path, resolved: found.resolved },
    argv0,
    ...(script ? { script } : {}),
    bakedArgs: [...input.bakedArgs],
    defaultArgs: [...input.defaultArgs],
    env: input.env,
    extraBins: [],
  };

  if (format.kind === "macho") {
    const libs: string[] = [];
    for (const dir of STANDARD_LIBRARY_DIRS) {
      const entry = await tryResolveInRootfs(rootfs, dir).catch(() => null);
      if (entry?.info.isDirectory && !libs.includes(entry.path) && !entry.path.includes(":")) {
        libs.push(entry.path);
      }
    }
    return {
      ...base,
      kind: "macho",
      exec: original,
      libraryPath: libs,
      argv0Supported: false,
      inhibitCache: false,
    };
  }
  if (!format.dynamic) {
    // Exec'd directly, so the kernel sets argv[0] to this path: keep the original (symlink) name when the
    // host kernel resolves it to the same file.
    return {
      ...base,
      kind: "elf-static",
      exec: original,
      libraryPath: [],
      argv0Supported: false,
      inhibitCache: false,
    };
  }
  let loader;
  try {
    loader = await findLoader(rootfs, format.interpreter!);
  } catch (err) {
    if (!(err instanceof RootfsPathError)) throw err;
    loader = null;
  }
  if (loader === null) {
    throw entrypointError(
      name,
      `dynamic loader "${format.interpreter}" of "${program.path}" does not exist in the image`,
      "Use an image that ships its C library (not a distroless -static base), or a statically linked build",
    );
  }
  const libs = await libraryDirs(rootfs, format.arch);
  return {
    ...base,
    kind: "elf-dynamic",
    // With --argv0 the loader gets the real file, so $ORIGIN in RPATH/RUNPATH resolves as it does under
    // a kernel exec (where /proc/self/exe is the resolved file). Without it, argv[0] is this path, so keep
    // the original name for multi-call binaries.
    exec: loader.argv0 ? program.resolved : original,
    loader: loader.path,
    libraryPath: libs,
    argv0Supported: loader.argv0,
    inhibitCache: loader.inhibitCache,
  };
}

/**
 * Plans the wrapper for an image: picks the entrypoint (Entrypoint, else Cmd), resolves it and its loader
 * inside the rootfs, gathers library dirs and environment, and runs every preflight check. Throws
 * DropzoneError ENTRYPOINT (with a hint) when the result could not run on `host`.
 */
export async function planShim(options: PlanShimOptions): Promise<ShimPlan> {
  const { rootfs, config, host, name } = options;
  if (config.os !== undefined && config.os !== "" && config.os !== host.os) {
    throw platformError(name, "the image", `${config.os}/${normalizeArch(config.architecture ?? "?")}`, host);
  }
  if (
    config.architecture !== undefined && config.architecture !== "" &&
    normalizeArch(config.architecture) !== host.arch
  ) {
    throw platformError(
      name,
      "the image",
      `${config.os || host.os}/${normalizeArch(config.architecture)}`,
      host,
    );
  }
  const entrypoint = config.config.Entrypoint ?? [];
  const cmd = config.config.Cmd ?? [];
  let argv: readonly string[];
  let bakedArgs: readonly string[];
  let defaultArgs: readonly string[];
  if (entrypoint.length > 0 && entrypoint[0] !== "") {
    argv = entrypoint;
    bakedArgs = entrypoint.slice(1);
    defaultArgs = cmd;
  } else if (cmd.length > 0 && cmd[0] !== "") {
    argv = cmd;
    bakedArgs = [];
    defaultArgs = cmd.slice(1);
  } else {
    throw entrypointError(
      name,
      "the image declares neither an Entrypoint nor a Cmd",
      "Choose the program to run with --bin PATH[:NAME]",
    );
  }
  const env = await planEnv(rootfs, config.config.Env ?? []);
  const main = await planTarget({
    rootfs,
    config,
    host,
    name,
    argv,
    bakedArgs,
    defaultArgs,
    env,
    what: "entrypoint",
  });
  const extraBins: ShimPlan[] = [];
  for (const extra of options.extraBins ?? []) {
    extraBins.push(
      await planTarget({
        rootfs,
        config,
        host,
        name: extra.name,
        argv: [extra.path],
        bakedArgs: [],
        defaultArgs: [],
        env,
        what: "binary",
      }),
    );
  }
  return { ...main, extraBins };
}
