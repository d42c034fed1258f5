/**
 * `dz doctor`: finds drift between the store, the wrappers in `bin/`, the config and the environment, and repairs
 * what is safe to repair. Beyond the Go doctor (anchor §7.3, §11 item 28): it only ever treats files carrying the
 * dz marker as wrappers, detects stale wrapper content, partial and corrupt versions, crash leftovers, config
 * validity, trusted root age and auth.json permissions, and its exit code reflects what remains.
 *
 * `diagnose` only reads. `runDoctor` with `fix` takes the store lock and lets `fix` (doctor_fix.ts) re-read the
 * state itself (findings go stale while waiting for the lock), then diagnoses again. The checks live in
 * doctor_checks.ts, doctor_wrappers.ts, doctor_trust.ts, doctor_quota.ts and doctor_mirrors.ts.
 */
import type { Host } from "../runtime.ts";
import { referencedBlobs } from "../store/blob_reachability.ts";
import { acquireStoreLock } from "../store/lock.ts";
import { scanStore } from "../store/recovery.ts";
import { inspectAuth, inspectConfig, inspectPath, inspectRootfs } from "./doctor_checks.ts";
import {
  type Change,
  type DoctorDeps,
  type DoctorReport,
  type Finding,
  isHealthy,
  sortFindings,
  storeFindingToDoctor,
} from "./doctor_findings.ts";
import { fix } from "./doctor_fix.ts";
import { inspectTrust } from "./doctor_trust.ts";
import { inspectWrappers } from "./doctor_wrappers.ts";

export type { Change, DoctorDeps, DoctorReport, Finding, FindingKind, Severity } from "./doctor_findings.ts";
export { fix } from "./doctor_fix.ts";
// verify_cmd.ts plans wrappers for a package's platform the way doctor does.
export { hostFromPlatform } from "./doctor_wrappers.ts";

/** Reads everything doctor checks and returns the findings, sorted. Never modifies anything. */
export async function diagnose(deps: DoctorDeps, host: Host): Promise<Finding[]> {
  const { layout } = deps;
  const findings: Finding[] = [];
  const cfg = await inspectConfig(layout);
  findings.push(...cfg.findings);
  // scanStore only knows the image blobs; signature artifacts kept for offline re-verification are in use too.
  const referenced = await referencedBlobs(layout);
  findings.push(
    ...(await scanStore(layout))
      .filter((f) => f.kind !== "unreferenced-blob" || !referenced.has(f.digest))
      .map(storeFindingToDoctor),
  );
  findings.push(...await inspectRootfs(layout));
  findings.push(...(await inspectWrappers(layout, host)).findings);
  const path = await inspectPath(deps);
  if (path) findings.push(path);
  findings.push(...await inspectTrust(deps, cfg.config));
  const auth = await inspectAuth(layout);
  if (auth) findings.push(auth);
  // The registry probes need a client, and so a config: with a broken one they are skipped, not crashed.
  if (cfg.config && deps.probeQuota) findings.push(...await deps.probeQuota(cfg.config));
  if (cfg.config && deps.probeMirrors) findings.push(...await deps.probeMirrors(cfg.config));
  return sortFindings(findings);
}

/** Options of {@linkcode runDoctor}. */
export interface RunDoctorOptions {
  /** The host wrappers are planned for. */
  readonly host: Host;
  /** Repair what is fixable, under the store lock, and report the state after the repairs. */
  readonly fix: boolean;
}

/**
 * `dz doctor [--fix]`: diagnoses; with `fix` and something fixable, takes the store lock (waiting for another dz
 * as long as `deps.lockTimeoutMs`, then LOCKED with a hint), repairs and diagnoses again. Healthy exactly when no
 * error or warning remains.
 */
export async function runDoctor(deps: DoctorDeps, options: RunDoctorOptions): Promise<DoctorReport> {
  const { host } = options;
  let fixed: Change[] = [];
  let findings = await diagnose(deps, host);
  if (options.fix && findings.some((f) => f.fixable)) {
    await deps.ensureHome?.();
    {
      // The lock is taken directly (not through the CLI's withStoreLock, which first deletes leftovers) so that
      // leftovers are removed, and reported, by fix().
      await using _lock = await acquireStoreLock(deps.layout.lockFile, {
        ...(deps.lockTimeoutMs === undefined ? {} : { timeoutMs: deps.lockTimeoutMs }),
        ...(deps.onLockWait ? { onWait: deps.onLockWait } : {}),
      });
      fixed = await fix(deps, host);
    }
    findings = await diagnose(deps, host);
  }
  return { findings, fixed, healthy: isHealthy(findings) };
}
