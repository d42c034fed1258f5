/** `dz verify <ref|name> [--json] [--offline]`. */
import { verifyTarget } from "../../app/verify_cmd.ts";
import { renderVerifyReport } from "../verify_render.ts";
import { DropzoneError, exitCodeFor } from "../../errors.ts";
import type { CliContext } from "../context.ts";
import { json } from "../render.ts";
import { createClient, createTrustLoader } from "../services.ts";
import { isArchiveArgument } from "../../app/archive.ts";
import { filesModifiedError, verifyInstalledFiles } from "../../app/verify_files.ts";
import { shortDigest } from "../../oci/digest.ts";
import { openArchive } from "./archive.ts";
import { type CosignSpellings, hasPolicyFlags, type PolicyFlags, withCosignSpellings } from "../flags.ts";
import { buildPolicy, checkReadable } from "./registry.ts";

/** Options of `dz verify`. */
export interface VerifyOptions extends PolicyFlags, CosignSpellings {
  json?: boolean;
  offline?: boolean;
  /** Check the installed files against the manifest recorded at unpack time instead of the signature. */
  files?: boolean;
}

/** dz verify NAME --files: the report on stdout; exit 3 when any file differs. */
async function verifyFiles(ctx: CliContext, name: string, opts: VerifyOptions): Promise<number> {
  const report = await verifyInstalledFiles(ctx.layout, name);
  if (opts.json) ctx.out(json(report));
  else {
    const lines = [`${report.name} ${shortDigest(report.digest)}: ${report.checked} files checked`];
    for (const m of report.modified) lines.push(`modified    ${m.path}  (${m.changes.join(", ")})`);
    for (const p of report.missing) lines.push(`missing     ${p}`);
    for (const p of report.extra) lines.push(`extra       ${p}`);
    for (const p of report.unreadable) lines.push(`unreadable  ${p}  (not checked)`);
    if (report.intact) lines.push("All files match.");
    ctx.out(lines.join("\n") + "\n");
  }
  if (!report.intact) throw filesModifiedError(report);
  return 0;
}

/**
 * dz verify: prints the report (text, or the `VerifyReport` JSON from src/app/verify_cmd.ts) on stdout.
 * Exit 0 when verified; on failure the report is still printed, the error goes to stderr, and the exit code is
 * the error's (3 for any trust failure, including a registry without a policy).
 */
export async function verify(ctx: CliContext, target: string, flags: VerifyOptions): Promise<number> {
  const opts = withCosignSpellings(flags);
  if (opts.files) return await verifyFiles(ctx, target, opts);
  // Identity or key flags (cosign's spellings too) check against that policy for this run only.
  const policyOverride = hasPolicyFlags(opts) ? buildPolicy(opts, ctx.cwd()) : undefined;
  if (policyOverride?.public_key) await checkReadable(policyOverride.public_key, "public key");
  const { config } = await ctx.config();
  // An archive from `dz export` is verified offline from its own contents, against the local policy and root.
  const archive = isArchiveArgument(target) ? await openArchive(ctx, ctx.userPath(target)) : undefined;
  const outcome = await verifyTarget({
    layout: ctx.layout,
    config,
    client: archive ? archive.client : createClient(ctx, config),
    host: ctx.runtime.host,
    now: ctx.runtime.now(),
    loadTrust: createTrustLoader(ctx, { offline: opts.offline === true || archive !== undefined }),
    ...(ctx.runtime.signal ? { signal: ctx.runtime.signal } : {}),
    ...(policyOverride ? { policyOverride } : {}),
    ...(archive ? { archive: archive.evidence } : {}),
  }, archive ? archive.reference : target);
  const report = outcome.report;
  if (outcome.error === undefined) {
    ctx.out(opts.json ? json(report) : renderVerifyReport(report));
    return 0;
  }
  // A report is only worth printing when something was resolved (or JSON was asked for).
  if (opts.json) ctx.out(json(report));
  else if (report.digest !== null || report.error?.code === "POLICY_MISSING") {
    ctx.out(renderVerifyReport(report));
  }
  if (outcome.error instanceof DropzoneError) throw outcome.error;
  if (exitCodeFor(outcome.error) !== 0) throw outcome.error;
  return 0;
}
