/** `dz doctor [--fix] [--json]`. Runs without first-run init: a broken config is a finding, not a crash. */
import {
  diagnose,
  type DoctorDeps,
  type DoctorReport,
  fix,
  isHealthy,
  quotaFindings,
} from "../../app/doctor.ts";
import { renderReport } from "../doctor_render.ts";
import { mirrorFindings } from "../../app/doctor_mirrors.ts";
import { loadConfig } from "../../store/config.ts";
import { loadTrustedRoot } from "../../verify/trusted_root.ts";
import { createClient } from "../services.ts";
import { installedPackages } from "./shared.ts";
import { acquireStoreLock } from "../../store/lock.ts";
import { type CliContext, refuseForeignHome } from "../context.ts";
import { json } from "../render.ts";

/** Options of `dz doctor`. */
export interface DoctorOptions {
  fix?: boolean;
  json?: boolean;
}

function deps(ctx: CliContext): DoctorDeps {
  return {
    layout: ctx.layout,
    env: ctx.runtime.env,
    homeDir: ctx.runtime.homeDir,
    os: ctx.runtime.host.os,
    now: ctx.runtime.now(),
    ...(ctx.settings.offline || ctx.settings.noTuf ? {} : {
      refreshTrustedRoot: () =>
        loadTrustedRoot({ cacheDir: ctx.layout.cache, now: ctx.runtime.now(), offline: false }),
    }),
    async probeQuota() {
      // Doctor must work with a broken config: without one there is no client, and no quota to report.
      let config;
      try {
        config = (await loadConfig(ctx.layout.configFile)).config;
      } catch {
        return [];
      }
      const packages = await installedPackages(ctx).catch(() => []);
      return await quotaFindings(createClient(ctx, config), packages);
    },
    async probeMirrors() {
      let config;
      try {
        config = (await loadConfig(ctx.layout.configFile)).config;
      } catch {
        return [];
      }
      if (config.mirrors.length === 0 || ctx.settings.offline) return [];
      return await mirrorFindings(createClient(ctx, config), config.mirrors);
    },
  };
}

/**
 * dz doctor: prints the findings (grouped text, or the {@linkcode DoctorReport} JSON) on stdout. With --fix,
 * repairs under the store lock and reports the state after the repairs. Exit 0 when no error or warning
 * remains, 1 otherwise.
 */
export async function doctor(ctx: CliContext, opts: DoctorOptions): Promise<number> {
  await refuseForeignHome(ctx.layout);
  const d = deps(ctx);
  const host = ctx.runtime.host;
  let fixed: DoctorReport["fixed"] = [];
  let findings = await diagnose(d, host);
  if (opts.fix && findings.some((f) => f.fixable)) {
    // The lock is taken directly (not withStoreLock) so that leftovers are removed, and reported, by fix().
    await ctx.ensureHome();
    {
      await using _lock = await acquireStoreLock(ctx.layout.lockFile, {
        timeoutMs: ctx.settings.lockTimeoutMs,
        onWait: (pid) => ctx.log.info(`Waiting for another dz${pid ? ` (pid ${pid})` : ""} to finish…`),
      });
      fixed = await fix(d, host);
    }
    findings = await diagnose(d, host);
  }
  const report: DoctorReport = { findings, fixed, healthy: isHealthy(findings) };
  ctx.out(opts.json ? json(report) : renderReport(report, { fixRequested: opts.fix === true }));
  return report.healthy ? 0 : 1;
}
