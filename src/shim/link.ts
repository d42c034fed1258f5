/**
 * Binaries installed from OCI artifacts run as they are: `<home>/bin/<name>` is a symlink to the file in the
 * package's current version, with no wrapper. This module checks that such a file can run on the host (format,
 * platform, the host's dynamic loader) and writes, recognises and removes those links (I/O).
 */
import { dirname, join, posix } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { Host } from "../runtime.ts";
import { readBinaryFormat } from "./resolve.ts";

/** How a linked binary runs. */
export interface LinkPlan {
  /** Command name in `<home>/bin`. */
  readonly name: string;
  /** Rootfs-absolute path of the file ("/tool"). */
  readonly path: string;
  readonly kind: "elf-static" | "elf-dynamic" | "macho" | "script";
  /** The host loader (elf-dynamic) or interpreter (script) it needs, when any. */
  readonly interpreter: string | null;
}

function refuse(name: string, message: string, hint: string): DropzoneError {
  return new DropzoneError("ENTRYPOINT", `Cannot install "${name}": ${message}`, { hint });
}

async function hostHas(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Checks the file at `<rootfs><path>` can run on `host` without a wrapper: an ELF or Mach-O for the host's os
 * and arch (a dynamic ELF only when its loader exists on the host) or a `#!` script. Throws ENTRYPOINT.
 */
export async function planLink(
  options: { rootfs: string; path: string; host: Host; name: string },
): Promise<LinkPlan> {
  const { rootfs, path, host, name } = options;
  const format = await readBinaryFormat(join(rootfs, path));
  const built = (os: string, arch: string) => `"${posix.basename(path)}" is built for ${os}/${arch}`;
  const platformHint = `Use the build for ${host.os}/${host.arch} (--file TITLE picks another file)`;
  if (format.kind === "elf") {
    if (format.os !== host.os || format.arch !== host.arch) {
      throw refuse(
        name,
        `${built(format.os, format.arch)}, this host is ${host.os}/${host.arch}`,
        platformHint,
      );
    }
    if (!format.dynamic) return { name, path, kind: "elf-static", interpreter: null };
    const loader = format.interpreter ?? "";
    if (!loader.startsWith("/") || !(await hostHas(loader))) {
      throw refuse(
        name,
        `"${posix.basename(path)}" is dynamically linked and its loader ${
          JSON.stringify(loader)
        } does not exist ` +
          `on this host`,
        "Install the C library it was built against, or use a statically linked build",
      );
    }
    return { name, path, kind: "elf-dynamic", interpreter: loader };
  }
  if (format.kind === "macho") {
    if (host.os !== "darwin" || !format.arches.includes(host.arch)) {
      throw refuse(
        name,
        `${built("darwin", format.arches.join(","))}, this host is ${host.os}/${host.arch}`,
        platformHint,
      );
    }
    return { name, path, kind: "macho", interpreter: null };
  }
  if (format.kind === "script") return { name, path, kind: "script", interpreter: format.interpreter };
  throw refuse(
    name,
    `"${posix.basename(path)}" is not an ELF or Mach-O executable or a #! script`,
    "Pick the executable with --file TITLE",
  );
}

/** The packages dir that belongs to a bin dir (`<home>/bin` → `<home>/packages`). */
export function packagesDirOf(binDir: string): string {
  return join(dirname(binDir), "packages");
}

/** What a link in `<home>/bin` points at: `<home>/packages/<package>/current/rootfs<path>`. Pure. */
export function linkTarget(packagesDir: string, packageName: string, path: string): string {
  return join(packagesDir, packageName, "current", "rootfs", path);
}

/** The package a dz link target names, or null when `target` does not point into `packagesDir`. Pure. */
export function linkOwner(packagesDir: string, target: string): string | null {
  const prefix = packagesDir.replace(/\/+$/, "") + "/";
  if (!target.startsWith(prefix)) return null;
  const [pkg, current, rootfs] = target.slice(prefix.length).split("/");
  return pkg && current === "current" && rootfs === "rootfs" ? pkg : null;
}

/** The target of a symlink at `path`, or null when it is missing or not a symlink. */
export async function readLinkAt(path: string): Promise<string | null> {
  try {
    const info = await Deno.lstat(path);
    return info.isSymlink ? await Deno.readLink(path) : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
