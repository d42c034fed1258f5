/**
 * Renders the POSIX sh wrapper that runs a planned entrypoint (pure). Every path suffix and argument is
 * single-quoted; the only expansions are "$ROOT", "$0", "$@" and the user's own variables in defaults.
 *
 * Shape (dynamic ELF):
 *   ROOT='<packages>/<name>/current/rootfs'
 *   set -- "$ROOT"'/lib/ld.so' --inhibit-cache --library-path "$ROOT"'/lib:'"$ROOT"'/usr/lib' \
 *     --argv0 "$0" "$ROOT"'/usr/bin/x' 'baked' "$@"
 *   VAR="$ROOT"'/etc/…'; export VAR
 *   exec "$@"
 * The argv is assembled with `set --` so that ROOT can be restored before exec: a user who exported ROOT
 * must not see it replaced in the program's environment.
 */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { EnvPart, ShimPlan } from "./plan.ts";

/** Line 2 of every wrapper; `isDzWrapper` looks for it. */
export const WRAPPER_MARKER = "# dz-wrapper v1";

/** Options for {@linkcode renderWrapper}. */
export interface RenderWrapperOptions {
  /** Absolute packages dir (`<home>/packages`); ROOT becomes `<packagesDir>/<package>/current/rootfs`. */
  readonly packagesDir: string;
  /** The package name (directory under packagesDir). For extra binaries this is the main package name. */
  readonly name: string;
  readonly digest: string;
}

/** Quotes a string for POSIX sh: `'…'` with each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `"$ROOT"'<path>'`: the rootfs path, expanded once, followed by a quoted suffix. */
function rootPath(path: string): string {
  return `"$ROOT"${shellQuote(path)}`;
}

function renderEnvValue(parts: readonly EnvPart[]): string {
  if (parts.length === 0) return "''";
  return parts.map((p) => (p.kind === "root" ? rootPath(p.path) : shellQuote(p.text))).join("");
}

/** A colon list of rootfs dirs as one shell word. */
function rootList(dirs: readonly string[]): string {
  return dirs.map((d, i) => rootPath(i < dirs.length - 1 ? `${d}:` : d)).join("");
}

/** Escapes text for the metadata comment: JSON string escaping removes newlines and control characters. */
function commentValue(value: string): string {
  return JSON.stringify(value).replace(
    /[\u2028\u2029\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function argvWords(plan: ShimPlan): string[] {
  const words: string[] = [];
  if (plan.kind === "elf-dynamic") {
    words.push(rootPath(plan.loader!));
    if (plan.inhibitCache) words.push("--inhibit-cache");
    words.push(`--library-path ${plan.libraryPath.length > 0 ? rootList(plan.libraryPath) : "''"}`);
    if (plan.argv0Supported) {
      words.push(`--argv0 ${plan.argv0.kind === "invoked" ? `"$0"` : rootPath(plan.argv0.path)}`);
    }
  }
  words.push(rootPath(plan.exec));
  if (plan.script) {
    if (plan.script.interpreterArg !== undefined) words.push(shellQuote(plan.script.interpreterArg));
    words.push(rootPath(plan.script.path));
  }
  for (const arg of plan.bakedArgs) words.push(shellQuote(arg));
  words.push(`"$@"`);
  return words;
}

/** Renders the wrapper script for a plan (the main entrypoint or one of `plan.extraBins`). */
export function renderWrapper(plan: ShimPlan, options: RenderWrapperOptions): string {
  const root = join(options.packagesDir, options.name, "current", "rootfs");
  if (!root.startsWith("/")) throw new TypeError(`packagesDir must be absolute: ${options.packagesDir}`);
  if (plan.kind === "elf-dynamic" && /[:;]/.test(root)) {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Cannot install "${plan.name}": the path "${root}" contains ":" or ";"`,
      {
        hint:
          "Set DROPZONE_HOME to a directory whose path has no ':' or ';' (the dynamic loader splits on them)",
      },
    );
  }
  const lines: string[] = [
    "#!/bin/sh",
    WRAPPER_MARKER,
    `# name=${commentValue(plan.name)} package=${commentValue(options.name)} digest=${
      commentValue(options.digest)
    }`,
    "dz_root_set=${ROOT+x} dz_root_saved=${ROOT-}",
    `ROOT=${shellQuote(root)}`,
  ];
  if (plan.defaultArgs.length > 0) {
    lines.push(`if [ "$#" -eq 0 ]; then set -- ${plan.defaultArgs.map(shellQuote).join(" ")}; fi`);
  }
  lines.push(`set -- ${argvWords(plan).join(" \\\n  ")}`);
  for (const v of plan.env) {
    const assign = `${v.name}=${renderEnvValue(v.value)}; export ${v.name}`;
    lines.push(v.mode === "set" ? assign : `if [ -z "\${${v.name}+x}" ]; then ${assign}; fi`);
  }
  if (plan.kind === "macho" && plan.libraryPath.length > 0) {
    // dyld's fallback list replaces its defaults when set, so keep them (or the user's value) after ours.
    lines.push(
      `DYLD_FALLBACK_LIBRARY_PATH=${plan.libraryPath.map((d) => rootPath(`${d}:`)).join("")}` +
        `"\${DYLD_FALLBACK_LIBRARY_PATH:-/usr/local/lib:/usr/lib}"; export DYLD_FALLBACK_LIBRARY_PATH`,
    );
  }
  lines.push(`if [ -n "$dz_root_set" ]; then ROOT=$dz_root_saved; else unset ROOT; fi`);
  lines.push(`exec "$@"`);
  return lines.join("\n") + "\n";
}

/** True when `text` is a dz wrapper: the marker appears within its first 3 lines. */
export function isDzWrapper(text: string): boolean {
  return text.split("\n", 3).some((line) => line.replace(/\r$/, "") === WRAPPER_MARKER);
}

/** The metadata comment of a dz wrapper. */
export interface WrapperMeta {
  readonly name: string;
  readonly package: string;
  readonly digest: string;
}

/** Reads the metadata line written by {@linkcode renderWrapper}; null when absent or unreadable. */
export function readWrapperMeta(text: string): WrapperMeta | null {
  if (!isDzWrapper(text)) return null;
  const line = text.split("\n", 4).find((l) => l.startsWith("# name="));
  const m = line?.match(
    /^# name=("(?:[^"\\]|\\.)*") package=("(?:[^"\\]|\\.)*") digest=("(?:[^"\\]|\\.)*")\r?$/,
  );
  if (!m) return null;
  try {
    return { name: JSON.parse(m[1]!), package: JSON.parse(m[2]!), digest: JSON.parse(m[3]!) };
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}
