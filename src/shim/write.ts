/** Installs and removes wrapper files in the bin dir (I/O), never touching a file dz did not write. */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { isDzWrapper, readWrapperMeta } from "./wrapper.ts";
import { removeIfExists, writeFileAtomic } from "../fs.ts";
import { linkOwner, packagesDirOf, readLinkAt } from "./link.ts";

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

/** What is at a bin path: a dz wrapper (with its head), a dz link into the packages dir (with its owner). */
async function existing(
  binDir: string,
  path: string,
): Promise<{ kind: "missing" | "wrapper" | "link" | "other"; head: string; owner?: string }> {
  try {
    await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "missing", head: "" };
    throw err;
  }
  const target = await readLinkAt(path);
  if (target !== null) {
    const owner = linkOwner(packagesDirOf(binDir), target);
    return owner === null ? { kind: "other", head: "" } : { kind: "link", head: "", owner };
  }
  const head = await readFileHead(path);
  if (head === null) return { kind: "other", head: "" };
  return { kind: isDzWrapper(head) ? "wrapper" : "other", head };
}

/** What occupies `<binDir>/<name>`: nothing, a dz wrapper or link (with its package when named), or else. */
export async function binSlot(
  binDir: string,
  name: string,
): Promise<{ kind: "missing" | "dz" | "other"; owner: string | null }> {
  const found = await existing(binDir, join(binDir, name));
  if (found.kind === "link") return { kind: "dz", owner: found.owner ?? null };
  if (found.kind === "wrapper") return { kind: "dz", owner: readWrapperMeta(found.head)?.package ?? null };
  return { kind: found.kind, owner: null };
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
 * The path `<binDir>/<name>` once it may be (over)written: throws NAME_CONFLICT when a file dz did not write is
 * there, or a dz wrapper or link of a package other than `incoming` (undefined: any package's may be replaced).
 */
async function claimSlot(binDir: string, name: string, incoming: string | undefined): Promise<string> {
  checkName(name);
  const path = join(binDir, name);
  await Deno.mkdir(binDir, { recursive: true });
  const current = await existing(binDir, path);
  if (current.kind === "other") {
    throw new DropzoneError("NAME_CONFLICT", `Cannot write "${path}": it exists and was not written by dz`, {
      hint: `Remove or rename "${path}", or install under another name with --name`,
    });
  }
  if (current.kind === "missing" || incoming === undefined) return path;
  const owner = current.kind === "link" ? current.owner : readWrapperMeta(current.head)?.package;
  if (owner !== undefined && owner !== incoming) {
    throw new DropzoneError("NAME_CONFLICT", `Cannot write "${path}": it belongs to package "${owner}"`, {
      hint: `Remove "${owner}" first, or install under another name with --name`,
    });
  }
  return path;
}

/** The start of a temp file for `name` in the bin dir: `.<name>.<random>.tmp` is what doctor and purge recognise. */
function tempPrefix(name: string): string {
  return `.${name.slice(0, 32).replace(/[^A-Za-z0-9._+-]/g, "_")}.`;
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
  const incoming = options.replaceOtherPackage ? undefined : readWrapperMeta(text)?.package;
  const target = await claimSlot(binDir, name, incoming);
  await writeFileAtomic(target, text, { mode: 0o755, temp: { prefix: tempPrefix(name), suffix: ".tmp" } });
}

/**
 * Points `<binDir>/<name>` at `target` (a file of package `packageName`) atomically: a temp symlink renamed over
 * it. Refuses with NAME_CONFLICT like {@linkcode writeWrapper}: a foreign file, or a wrapper or link of another
 * package.
 */
export async function writeLink(
  binDir: string,
  name: string,
  target: string,
  packageName: string,
): Promise<void> {
  const path = await claimSlot(binDir, name, packageName);
  const temp = join(binDir, `${tempPrefix(name)}${crypto.randomUUID()}.tmp`);
  try {
    await Deno.symlink(target, temp);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}

/**
 * Removes `<binDir>/<name>` when it is a dz wrapper or a dz link. Missing is a no-op (returns false); any other
 * symlink or a foreign file is refused with NAME_CONFLICT and left alone.
 */
export async function removeWrapper(binDir: string, name: string): Promise<boolean> {
  checkName(name);
  const target = join(binDir, name);
  const { kind } = await existing(binDir, target);
  if (kind === "missing") return false;
  if (kind === "other") {
    throw new DropzoneError("NAME_CONFLICT", `Cannot remove "${target}": it was not written by dz`, {
      hint: `Remove "${target}" yourself if you no longer need it`,
    });
  }
  return await removeIfExists(target);
}

/**
 * Removes every dz wrapper in `binDir` whose marker names `packageName` (for a damaged package whose metadata no
 * longer lists its bins). Returns the names removed.
 */
export async function removeWrappersOf(binDir: string, packageName: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(binDir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return removed;
    throw err;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const head = await readFileHead(join(binDir, entry.name));
    if (head === null || !isDzWrapper(head) || readWrapperMeta(head)?.package !== packageName) continue;
    if (await removeWrapper(binDir, entry.name)) removed.push(entry.name);
  }
  return removed;
}
