/**
 * Installed package names for shell completion (`dz __complete packages`, run on every TAB), read with plain
 * synchronous Deno calls and no imports: no `node:` module, whose compatibility layer costs more to start than
 * the whole scan.
 */

const DIGEST_DIR = /^sha256-[0-9a-f]{64}$/;

/**
 * The packages whose `current` names a version directory holding a metadata.json for this package and digest,
 * sorted. Unlike `dz list` it does not validate the whole receipt or look at the rootfs, and it never throws:
 * a package it cannot read is left out, a missing or unreadable `packages` directory gives no names.
 * Read-only and lock-free: `current` and metadata.json are only ever replaced by renames.
 */
export function completablePackageNames(packagesDir: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(packagesDir)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch {
    return [];
  }
  return names.filter((name) => {
    try {
      const target = Deno.readLinkSync(`${packagesDir}/${name}/current`).split("/").pop() ?? "";
      if (!DIGEST_DIR.test(target)) return false;
      const meta = JSON.parse(Deno.readTextFileSync(`${packagesDir}/${name}/${target}/metadata.json`));
      return meta?.name === name && meta?.digest === target.replace("-", ":");
    } catch {
      return false;
    }
  }).sort();
}

/**
 * The dz home's `packages` directory without node:path: `$DROPZONE_HOME/packages`, else
 * `~/.dropzone/packages`. The kernel resolves it to the same directory as layout.ts's normalised join.
 */
export function packagesDirOf(env: (name: string) => string | undefined, homeDir: string): string {
  const explicit = env("DROPZONE_HOME");
  if (explicit) return `${explicit}/packages`;
  return homeDir === "" ? ".dropzone/packages" : `${homeDir}/.dropzone/packages`;
}
