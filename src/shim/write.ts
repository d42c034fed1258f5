/** Installs and removes wrapper files in the bin dir (I/O), never touching a file dz did not write. */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { isDzWrapper, readWrapperMeta } from "./wrapper.ts";
import { writeFileAtomic } from "../fs.ts";

/** The first 4 KiB of a regular file, never following a symlink; null when it is missing or not a file. */
export async function readFileHead(path: string): Promise<string | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  if (!info.isFile) return null;
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(4096);
  let filled = 0;
  while (filled < buf.length) {
    const n = await file.read(buf.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return new TextDecoder().decode(buf.subarray(0, filled));
}

/** What is at a wrapper path, with the head of the file when it is a regular file. */
async function existing(path: string): Promise<{ kind: "missing" | "wrapper" | "other"; head: string }> {
  try {
    await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "missing", head: "" };
    throw err;
  }
  const head = await readFileHead(path);
  if (head === null) return { kind: "other", head: "" };
  return { kind: isDzWrapper(head) ? "wrapper" : "other", head };
}

function checkName(name: string): void {
  if (name.length === 0 || name.includes("/") || name === "." || name === ".." || name.includes("\0")) {
    throw new DropzoneError("INVALID_NAME", `Cannot use "${name}" as a command name`, {
      hint: "Choose a name without '/' or NUL characters",
    });
  }
}

/** Options for {@linkcode writeWrapper}. */
export interface WriteWrapperOptions {
  /** Replace a dz wrapper even when its metadata names another package. */
  readonly replaceOtherPackage?: boolean;
}

/**
 * Writes `<binDir>/<name>` atomically (temp file in binDir, mode 0755, rename). Refuses with NAME_CONFLICT
 * when a file that is not a dz wrapper (or a symlink, or a directory) is already there, or when the
 * existing wrapper belongs to another package.
 */
export async function writeWrapper(
  binDir: string,
  name: string,
  text: string,
  options: WriteWrapperOptions = {},
): Promise<void> {
  checkName(name);
  const target = join(binDir, name);
  await Deno.mkdir(binDir, { recursive: true });
  const current = await existing(target);
  if (current.kind === "other") {
    throw new DropzoneError(
      "NAME_CONFLICT",
      `Cannot write "${target}": it exists and was not written by dz`,
      {
        hint: `Remove or rename "${target}", or install under another name with --name`,
      },
    );
  }
  if (current.kind === "wrapper" && !options.replaceOtherPackage) {
    const owner = readWrapperMeta(current.head)?.package;
    const incoming = readWrapperMeta(text)?.package;
    if (owner !== undefined && incoming !== undefined && owner !== incoming) {
      throw new DropzoneError("NAME_CONFLICT", `Cannot write "${target}": it belongs to package "${owner}"`, {
        hint: `Remove "${owner}" first, or install under another name with --name`,
      });
    }
  }
  // The temp name `.<name>.<random>.tmp` is what doctor recognises as a wrapper left by a crash.
  await writeFileAtomic(target, text, {
    mode: 0o755,
    temp: { prefix: `.${name.slice(0, 32).replace(/[^A-Za-z0-9._+-]/g, "_")}.`, suffix: ".tmp" },
  });
}

/**
 * Removes `<binDir>/<name>` when it is a dz wrapper. Missing is a no-op (returns false); a symlink or a
 * foreign file is refused with NAME_CONFLICT and left alone.
 */
export async function removeWrapper(binDir: string, name: string): Promise<boolean> {
  checkName(name);
  const target = join(binDir, name);
  const { kind } = await existing(target);
  if (kind === "missing") return false;
  if (kind === "other") {
    throw new DropzoneError("NAME_CONFLICT", `Cannot remove "${target}": it was not written by dz`, {
      hint: `Remove "${target}" yourself if you no longer need it`,
    });
  }
  try {
    await Deno.remove(target);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  return true;
}
