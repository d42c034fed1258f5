/**
 * PATH status and rc-file setup (I/O through injected env and home dir). Rewrites are atomic (temp file in
 * the same directory, then rename) and keep the file's mode; a symlinked rc file is edited at its target.
 */
import { dirname, join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { applyRcBlock, removeRcBlock, renderPathBlock, type Shell } from "./rc.ts";
import { writeFileAtomic } from "../fs.ts";

export type { Shell } from "./rc.ts";

/** Reads an environment variable. */
export type EnvLookup = (name: string) => string | undefined;

const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

/** True when `value` names a supported shell. */
export function isShell(value: string): value is Shell {
  return (SHELLS as readonly string[]).includes(value);
}

/** The user's shell from the basename of $SHELL (a leading "-" of login shells ignored); null if unknown. */
export function detectShell(env: EnvLookup): Shell | null {
  const value = env("SHELL");
  if (!value) return null;
  const base = value.replace(/\/+$/, "").split("/").pop()!.replace(/^-/, "");
  return isShell(base) ? base : null;
}

/**
 * The file dz edits for a shell. bash: ~/.bashrc on Linux (interactive non-login shells read it), and
 * ~/.bash_profile on macOS (Terminal starts login shells). zsh: $ZDOTDIR/.zshrc. fish: a conf.d snippet.
 */
export function rcFileFor(shell: Shell, homeDir: string, env: EnvLookup, os: string): string {
  switch (shell) {
    case "bash":
      return join(homeDir, os === "darwin" ? ".bash_profile" : ".bashrc");
    case "zsh":
      return join(env("ZDOTDIR") || homeDir, ".zshrc");
    case "fish":
      return join(env("XDG_CONFIG_HOME") || join(homeDir, ".config"), "fish", "conf.d", "dz.fish");
  }
}

/** Inputs shared by the path functions. */
export interface PathOptions {
  readonly binDir: string;
  readonly env: EnvLookup;
  readonly homeDir: string;
  readonly os: string;
  /** Overrides $SHELL detection (`--shell`). */
  readonly shell?: Shell;
}

/** What `dz path` reports. */
export interface PathStatus {
  readonly binDir: string;
  readonly onPath: boolean;
  readonly shell: Shell | null;
  readonly rcFile: string | null;
  readonly blockPresent: boolean;
  /** The rc file has a start marker without an end marker. */
  readonly blockMalformed: boolean;
}

/** What setup or unset did. */
export interface PathChange {
  readonly shell: Shell;
  readonly rcFile: string;
  readonly action: "added" | "updated" | "unchanged" | "removed" | "absent";
  readonly changed: boolean;
}

function stripTrailingSlashes(path: string): string {
  const stripped = path.replace(/\/+$/, "");
  return stripped.length === 0 ? "/" : stripped;
}

/** True when `binDir` is an entry of `pathValue` (trailing slashes ignored). */
export function isOnPath(binDir: string, pathValue: string | undefined): boolean {
  if (!pathValue) return false;
  const want = stripTrailingSlashes(binDir);
  return pathValue.split(":").some((entry) => entry.length > 0 && stripTrailingSlashes(entry) === want);
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Follows a symlinked rc file (dotfile managers) so the rename replaces the target, not the link. */
async function editTarget(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return path;
    throw err;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  let mode = 0o644;
  try {
    const info = await Deno.stat(path);
    if (info.mode !== null) mode = info.mode & 0o7777;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, text, { mode, temp: { prefix: ".dz-rc-", suffix: ".tmp" } });
}

function requireShell(options: PathOptions): Shell {
  const shell = options.shell ?? detectShell(options.env);
  if (shell === null) {
    const value = options.env("SHELL");
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      value ? `Cannot configure PATH for shell "${value}"` : "Cannot configure PATH: $SHELL is not set",
      { hint: `Pass --shell bash, --shell zsh or --shell fish, or add "${options.binDir}" to PATH yourself` },
    );
  }
  return shell;
}

function malformedError(rcFile: string): DropzoneError {
  return new DropzoneError(
    "CONFIG_INVALID",
    `Cannot edit "${rcFile}": it has a "# >>> dz PATH >>>" line without its end marker`,
    {
      hint: `Fix or delete the dz PATH block in "${rcFile}" by hand, then run the command again`,
    },
  );
}

/** Reports whether the bin dir is on PATH and whether the shell's rc file carries the dz block. */
export async function pathStatus(options: PathOptions): Promise<PathStatus> {
  const shell = options.shell ?? detectShell(options.env);
  const onPath = isOnPath(options.binDir, options.env("PATH"));
  if (shell === null) {
    return {
      binDir: options.binDir,
      onPath,
      shell,
      rcFile: null,
      blockPresent: false,
      blockMalformed: false,
    };
  }
  const rcFile = rcFileFor(shell, options.homeDir, options.env, options.os);
  const text = await readOptional(rcFile);
  const removal = text === null ? null : removeRcBlock(text);
  return {
    binDir: options.binDir,
    onPath,
    shell,
    rcFile,
    blockPresent: removal?.changed ?? false,
    blockMalformed: removal?.malformed ?? false,
  };
}

/** Adds (or refreshes) the PATH block in the shell's rc file, creating the file if needed. */
export async function pathSetup(options: PathOptions): Promise<PathChange> {
  const shell = requireShell(options);
  const rcFile = rcFileFor(shell, options.homeDir, options.env, options.os);
  const target = await editTarget(rcFile);
  const text = await readOptional(target);
  const edit = applyRcBlock(text ?? "", renderPathBlock(shell, options.binDir));
  if (edit.malformed) throw malformedError(rcFile);
  if (!edit.changed) return { shell, rcFile, action: "unchanged", changed: false };
  const existed = text !== null && removeRcBlock(text).changed;
  await writeAtomic(target, edit.text);
  return { shell, rcFile, action: existed ? "updated" : "added", changed: true };
}

/**
 * Removes the PATH block from the shell's rc file. The fish snippet file is dz's own, so it is deleted
 * once empty.
 */
export async function pathUnset(options: PathOptions): Promise<PathChange> {
  const shell = requireShell(options);
  const rcFile = rcFileFor(shell, options.homeDir, options.env, options.os);
  const target = await editTarget(rcFile);
  const text = await readOptional(target);
  if (text === null) return { shell, rcFile, action: "absent", changed: false };
  const edit = removeRcBlock(text);
  if (edit.malformed) throw malformedError(rcFile);
  if (!edit.changed) return { shell, rcFile, action: "absent", changed: false };
  if (shell === "fish" && edit.text.trim().length === 0) await Deno.remove(target);
  else await writeAtomic(target, edit.text);
  return { shell, rcFile, action: "removed", changed: true };
}
