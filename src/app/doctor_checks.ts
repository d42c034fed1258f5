/**
 * Doctor's checks of the installed state and its surroundings: damaged root file systems, config validity,
 * auth.json permissions and whether bin/ is on PATH.
 */
import { DropzoneError } from "../errors.ts";
import { regularFileMode } from "../file_ops.ts";
import { pathStatus } from "../host/path.ts";
import { type Config, loadConfig } from "../store/config.ts";
import type { StoreLayout } from "../store/layout.ts";
import { rootfsProblem } from "../store/package_state.ts";
import { listPackages } from "../store/packages.ts";
import type { DoctorDeps, Finding } from "./doctor_findings.ts";
import { missingBlobs } from "./repair.ts";

/** Installed versions whose rootfs or entrypoint was deleted, with what is wrong and whether the cache can fix it. */
export async function inspectRootfs(layout: StoreLayout): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const v of await listPackages(layout)) {
    const problem = await rootfsProblem(layout, v.metadata);
    if (problem === null) continue;
    const missing = await missingBlobs(layout, v.metadata);
    // An artifact's file is not a rootfs layer: re-unpacking it as one would be wrong; a reinstall restores it.
    const artifact = v.metadata.kind === "artifact";
    findings.push({
      kind: "damaged-rootfs",
      severity: "error",
      subject: v.name,
      path: v.rootfs,
      message: `package "${v.name}": ${problem}; ` +
        (artifact
          ? `reinstall it with "dz install ${v.metadata.ref}"`
          : missing.length === 0
          ? "dz doctor --fix unpacks it again from the blob cache"
          : `${missing.length} of its blobs are no longer cached: reinstall it with "dz install ${v.metadata.ref}"`),
      fixable: missing.length === 0 && !artifact,
    });
  }
  return findings;
}

/** The config, or the config-invalid finding that says why it cannot be loaded (never a crash). */
export async function inspectConfig(layout: StoreLayout): Promise<{ findings: Finding[]; config?: Config }> {
  try {
    const loaded = await loadConfig(layout.configFile);
    return { findings: [], config: loaded.config };
  } catch (err) {
    if (!(err instanceof DropzoneError)) throw err;
    return {
      findings: [{
        kind: "config-invalid",
        severity: "error",
        subject: layout.configFile,
        path: layout.configFile,
        message: err.message + (err.hint ? ` (${err.hint})` : ""),
        fixable: false,
      }],
    };
  }
}

/** The auth.json permission finding for a file mode, or null when it is 0600-or-stricter. Pure. */
export function authPermissionFinding(path: string, mode: number | undefined): Finding | null {
  if (mode === undefined || (mode & 0o077) === 0) return null;
  return {
    kind: "auth-permissions",
    severity: "warning",
    subject: path,
    path,
    message: `${path} holds credentials but has mode ${(mode & 0o777).toString(8).padStart(4, "0")}; ` +
      `it must be 0600`,
    fixable: true,
  };
}

/** The auth.json finding for the file as it is now, or null when it is absent or 0600-or-stricter. */
export async function inspectAuth(layout: StoreLayout): Promise<Finding | null> {
  return authPermissionFinding(layout.authFile, await regularFileMode(layout.authFile));
}

/** The warning that bin/ is not on PATH, or null when it is. */
export async function inspectPath(
  deps: Pick<DoctorDeps, "layout" | "env" | "homeDir" | "os">,
): Promise<Finding | null> {
  const { layout } = deps;
  const status = await pathStatus({ binDir: layout.bin, env: deps.env, homeDir: deps.homeDir, os: deps.os });
  if (status.onPath) return null;
  return {
    kind: "path",
    severity: "warning",
    subject: layout.bin,
    message: `${layout.bin} is not on PATH` +
      (status.blockPresent
        ? ` (the block in ${status.rcFile} applies to new shells)`
        : `; run "dz path setup"`),
    fixable: false,
  };
}
