/**
 * `dz verify NAME --files`: compares an installed version's rootfs with the file manifest recorded when it was
 * unpacked (like `rpm -V`): modified, missing and extra regular files. Any difference is a trust failure (exit 3):
 * the files that run are no longer the ones whose image was verified.
 */
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { checkFiles, type FileCheck, isIntact, readFileManifest } from "../store/file_manifest.ts";
import type { StoreLayout } from "../store/layout.ts";
import { readCurrent } from "../store/packages.ts";

/**
 * The `dz verify NAME --files --json` document: `name`, `digest` (the version checked), `checked` (files in the
 * manifest), `modified` ([{path, changes: ("content"|"size"|"mode"|"type")[]}]), `missing` and `extra` (paths
 * relative to the rootfs), `unreadable` (not checked: mode 0000 as non-root), `intact`.
 */
export interface FilesReport extends FileCheck {
  readonly name: string;
  readonly digest: Digest;
  readonly intact: boolean;
}

/** Checks the current version of `name`. NOT_INSTALLED when absent; IO when it has no manifest. */
export async function verifyInstalledFiles(layout: StoreLayout, name: string): Promise<FilesReport> {
  const current = await readCurrent(layout, name);
  if (!current) {
    throw new DropzoneError("NOT_INSTALLED", `"${name}" is not installed`, {
      hint: `Run "dz list" to see installed packages`,
    });
  }
  const files = await readFileManifest(current.dir);
  if (files === undefined) {
    throw new DropzoneError(
      "IO",
      `Cannot check the files of "${name}": it was unpacked by a dz that recorded no file manifest`,
      { hint: `Reinstall it to record one: "dz remove ${name}", then "dz install ${current.metadata.ref}"` },
    );
  }
  const check = await checkFiles(current.rootfs, files);
  return { name, digest: current.digest, ...check, intact: isIntact(check) };
}

/** The error `dz verify --files` exits with when the tree differs (exit 3). */
export function filesModifiedError(report: FilesReport): DropzoneError {
  const n = report.modified.length + report.missing.length + report.extra.length;
  return new DropzoneError(
    "FILES_MODIFIED",
    `${n} file(s) of "${report.name}" differ from what was installed (${report.modified.length} modified, ` +
      `${report.missing.length} missing, ${report.extra.length} extra)`,
    {
      hint:
        `Do not trust them until you know why; "dz remove ${report.name}" and a fresh install restore them`,
    },
  );
}
