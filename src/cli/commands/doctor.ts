/** `dz doctor [--fix] [--json]`. Runs without first-run init: a broken config is a finding, not a crash. */
import { type DoctorDeps, runDoctor } from "../../app/doctor.ts";
import { mirrorFindings } from "../../app/doctor_mirrors.ts";
import { quotaFindings } from "../../app/doctor_quota.ts";
import { loadTrustedRoot } from "../../verify/trusted_root.ts";
import { type CliContext, refuseForeignHome } from "../context.ts";
import { renderReport } from "../doctor_render.ts";
import { json } from "../render.ts";
import { createClient } from "../services.ts";
import { installedPackages } from "./shared.ts";

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
    async probeQuota(config) {
      const packages = await installedPackages(ctx).catch(() => []);
      return await quotaFindings(createClient(ctx, config), packages);
    },
    async probeMirrors(config) {
      if (config.mirrors.length === 0 || ctx.settings.offline) return [];
      return await mirrorFindings(createClient(ctx, config), config.mirrors);
    },
    ensureHome: () => ctx.ensureHome(),
    lockTimeoutMs: ctx.settings.lockTimeoutMs,
    onLockWait: (pid) => ctx.log.info(`Waiting for another dz${pid ? ` (pid ${pid})` : ""} to finish…`),
  };
}

/**
 * dz doctor: prints the findings (grouped text, or the `DoctorReport` JSON of app/doctor_findings.ts) on stdout. With --fix,
 * repairs under the store lock and reports the state after the repairs. Exit 0 when no error or warning
 * remains, 1 otherwise.
 */
export async function doctor(ctx: CliContext, opts: DoctorOptions): Promise<number> {
  await refuseForeignHome(ctx.layout);
  const report = await runDoctor(deps(ctx), { host: ctx.runtime.host, fix: opts.fix === true });
  ctx.out(opts.json ? json(report) : renderReport(report, { fixRequested: opts.fix === true }));
  return report.healthy ? 0 : 1;
}
