/**
 * What `dz doctor` reports and works with: finding and change types (the `--json` shape), severity and sorting,
 * the dependencies doctor takes, and how the store's own findings and repairs read as doctor's. Pure.
 */
import type { Config } from "../store/config.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { StoreFinding, StoreRepair } from "../store/recovery.ts";
import type { LoadedTrustedRoot } from "../verify/trusted_root.ts";

/** How bad a finding is. Errors and warnings make `dz doctor` exit 1; info never does. */
export type Severity = "error" | "warning" | "info";

/** Every kind of finding. */
export type FindingKind =
  | "config-invalid"
  | "orphan-wrapper"
  | "foreign-file"
  | "missing-wrapper"
  | "stale-wrapper"
  | "unplannable-wrapper"
  | "bin-leftover"
  | "leftover"
  | "no-current"
  | "broken-current"
  | "incomplete-version"
  | "corrupt-metadata"
  | "damaged-rootfs"
  | "unreferenced-blob"
  | "path"
  | "trusted-root"
  | "auth-permissions"
  | "rate-limit"
  | "mirror-unreachable";

/**
 * One thing doctor found. JSON field of `dz doctor --json`.
 *
 * - `kind`: one of {@linkcode FindingKind}.
 * - `severity`: "error" (something is broken), "warning" (drift or risk), "info" (for your attention only).
 * - `subject`: what it is about: a package name, a wrapper path, a file path or a digest.
 * - `message`: one human-readable sentence.
 * - `fixable`: `dz doctor --fix` repairs it.
 * - `path`: the file or directory concerned, when there is one.
 * - `bytes`: size, for unreferenced blobs.
 */
export interface Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly subject: string;
  readonly message: string;
  readonly fixable: boolean;
  readonly path?: string;
  readonly bytes?: number;
}

/**
 * One change `dz doctor --fix` made. JSON field of `dz doctor --json --fix`.
 *
 * - `kind`: "removed-leftover", "repointed-current", "removed-incomplete-version", "removed-empty-package",
 *   "removed-blob", "reunpacked", "wrote-wrapper", "removed-orphan-wrapper", "removed-bin-leftover",
 *   "refreshed-trusted-root", "chmod-auth".
 * - `subject`: the package, wrapper or path changed.
 * - `message`: one human-readable sentence.
 */
export interface Change {
  readonly kind: string;
  readonly subject: string;
  readonly message: string;
}

/**
 * The `dz doctor --json` document.
 *
 * - `findings`: what is wrong now (after the fixes, with `--fix`), sorted by severity then kind then subject.
 * - `fixed`: the changes `--fix` made (empty without `--fix`).
 * - `healthy`: no finding of severity error or warning remains (the exit code is 0 exactly when true).
 */
export interface DoctorReport {
  readonly findings: Finding[];
  readonly fixed: Change[];
  readonly healthy: boolean;
}

/** What doctor needs from the outside. */
export interface DoctorDeps {
  readonly layout: StoreLayout;
  readonly env: (name: string) => string | undefined;
  readonly homeDir: string;
  readonly os: string;
  readonly now: Date;
  /**
   * Probes registries' pull quotas (see doctor_quota.ts) with the loaded config; skipped when absent or when the
   * config is invalid (doctor must work with a broken config: then there is no client to ask).
   */
  readonly probeQuota?: (config: Config) => Promise<Finding[]>;
  /** Pings every mirror location (see doctor_mirrors.ts) with the loaded config; skipped like the quota probe. */
  readonly probeMirrors?: (config: Config) => Promise<Finding[]>;
  /**
   * Refreshes the public-good trusted root through TUF (`dz doctor --fix`); absent when dz must not go online
   * (DZ_OFFLINE, DZ_NO_TUF).
   */
  readonly refreshTrustedRoot?: () => Promise<LoadedTrustedRoot>;
  /** Creates the dz home before `--fix` takes the store lock in it. */
  readonly ensureHome?: () => Promise<unknown>;
  /** How long `--fix` waits for another dz holding the store lock (see store/lock.ts). */
  readonly lockTimeoutMs?: number;
  /** Told once when `--fix` has to wait for the store lock, with the holder's pid when known. */
  readonly onLockWait?: (holderPid: number | undefined) => void;
  /** Overrides the trusted root loader (tests). */
  readonly loadTrustedRoot?: (
    options: { cacheDir: string; now: Date; offline: true },
  ) => Promise<LoadedTrustedRoot>;
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sorts findings: errors first, then warnings, then info; by kind and subject within. Pure. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) =>
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.kind.localeCompare(b.kind) ||
    a.subject.localeCompare(b.subject)
  );
}

/** True when no error or warning remains. Pure. */
export function isHealthy(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.severity === "info");
}

/** Maps a store finding from `scanStore` to a doctor finding. Pure. */
export function storeFindingToDoctor(f: StoreFinding): Finding {
  switch (f.kind) {
    case "leftover":
      return {
        kind: "leftover",
        severity: "warning",
        subject: f.path,
        path: f.path,
        message: `leftover of an interrupted dz: ${f.path}`,
        fixable: true,
      };
    case "no-current":
      return {
        kind: "no-current",
        severity: "error",
        subject: f.name,
        message: `package "${f.name}" has no current version`,
        fixable: true,
      };
    case "broken-current":
      return {
        kind: "broken-current",
        severity: "error",
        subject: f.name,
        message: `package "${f.name}": current -> ${f.target} is missing or incomplete`,
        fixable: true,
      };
    case "incomplete-version":
      return {
        kind: "incomplete-version",
        severity: "warning",
        subject: f.name,
        path: f.path,
        message: `package "${f.name}": version ${f.digest} is half-written (no metadata.json)`,
        fixable: true,
      };
    case "corrupt-metadata":
      return {
        kind: "corrupt-metadata",
        severity: "error",
        subject: f.name,
        path: f.path,
        message: `package "${f.name}": version ${f.digest} has corrupt metadata: ${f.message}`,
        fixable: false,
      };
    case "unreferenced-blob":
      return {
        kind: "unreferenced-blob",
        severity: "info",
        subject: f.digest,
        bytes: f.size,
        message:
          `cached blob ${f.digest} (${f.size} bytes) is not used by any installed version; "dz gc" frees it`,
        fixable: false,
      };
  }
}

/** Describes a store repair. Pure. */
export function describeRepair(r: StoreRepair): Change {
  switch (r.kind) {
    case "removed-leftover":
      return { kind: r.kind, subject: r.path, message: `removed leftover ${r.path}` };
    case "repointed-current": {
      const which = `${r.digest} (${r.tag ?? "by digest"}, installed ${r.installedAt})`;
      return {
        kind: r.kind,
        subject: r.name,
        message: r.older
          ? `re-pointed "${r.name}" current from ${r.from}, which is damaged, to the EARLIER version ${which}; ` +
            `"dz update ${r.name}" or "dz install" of its reference brings the newer one back`
          : `re-pointed "${r.name}" current (${r.from === null ? "missing" : `was ${r.from}`}) at ${which}`,
      };
    }
    case "removed-incomplete-version":
      return {
        kind: r.kind,
        subject: r.name,
        message: `removed half-written version ${r.digest} of "${r.name}"`,
      };
    case "removed-empty-package":
      return { kind: r.kind, subject: r.name, message: `removed "${r.name}": it had no complete version` };
    case "removed-blob":
      return { kind: r.kind, subject: r.digest, message: `removed unreferenced blob ${r.digest}` };
  }
}
