/** `dz install` and `dz remove`. */
import { installPackage } from "../../app/install.ts";
import { DropzoneError } from "../../errors.ts";
import { shortDigest } from "../../oci/digest.ts";
import { resolveReference } from "../../oci/reference.ts";
import { removeInstalledPackage } from "../../app/remove.ts";
import type { CliContext } from "../context.ts";
import { installProgress } from "../progress.ts";
import { sanitize } from "../render.ts";
import { createClient, createTrustLoader } from "../services.ts";
import { openArchive } from "./archive.ts";
import { isArchiveArgument } from "../../app/archive.ts";
import { confirm, installDeps, storeAccess, withStoreLock } from "./shared.ts";
import { parsePlatformFlag } from "../flags.ts";

/** Options of `dz install`. */
export interface InstallOptions {
  allowUnsigned?: boolean;
  name?: string;
  bin?: string[];
  yes?: boolean;
  offline?: boolean;
  locked?: string | boolean;
  acceptNewSigner?: boolean;
  allowDowngrade?: boolean;
  minAge?: string;
  platform?: string;
  file?: string;
  crossCheck?: string[];
}

/** dz install */
export async function install(
  ctx: CliContext,
  input: string | undefined,
  opts: InstallOptions,
): Promise<number> {
  if (opts.locked !== undefined) {
    if (input !== undefined && opts.locked !== true) {
      throw new DropzoneError("USAGE", "Give either a reference or --locked, not both");
    }
    const file = typeof opts.locked === "string" ? opts.locked : input ?? "dz.lock";
    // Loaded only here: the lockfile's YAML parser is no part of a plain install's start-up.
    const { installLocked } = await import("./lock.ts");
    return await installLocked(ctx, ctx.userPath(file), opts);
  }
  if (input === undefined) {
    throw new DropzoneError("USAGE", "Missing required argument 'ref'", {
      hint: 'Try "dz install jq", or "dz install --locked dz.lock"',
    });
  }
  const { config } = await ctx.config();
  // An OCI archive from `dz export` installs through the offline client: same policy, local trust root.
  // Decided by the argument's spelling alone, never by what exists on disk (issue 9 finding 2); the file is
  // found relative to the user's directory (INIT_CWD under deno task).
  const archive = isArchiveArgument(input) ? await openArchive(ctx, ctx.userPath(input)) : undefined;
  const ref = resolveReference(archive ? archive.reference : input, {
    registries: config.registries,
    defaultRegistry: config.default_registry,
  });
  if (opts.offline) ctx.log.debug("offline: using the blob cache only");
  const host = opts.platform ? parsePlatformFlag(opts.platform) : ctx.runtime.host;
  const progress = installProgress(ctx);
  const outcome = await withStoreLock(ctx, () =>
    installPackage({
      ...installDeps(ctx, {
        config,
        client: archive ? archive.client : createClient(ctx, config, { offline: opts.offline === true }),
        host,
        loadTrust: createTrustLoader(ctx, { offline: opts.offline === true || archive !== undefined }),
        onEvent: progress.onEvent,
      }),
      ...(archive ? { archive: archive.evidence } : {}),
    }, {
      origin: archive ? "archive" : "install",
      ref,
      ...(opts.name ? { name: opts.name } : {}),
      allowUnsigned: opts.allowUnsigned === true,
      bins: opts.bin ?? [],
      ...(opts.file !== undefined ? { file: opts.file } : {}),
      acceptNewSigner: opts.acceptNewSigner === true,
      allowDowngrade: opts.allowDowngrade === true,
      ...(opts.minAge !== undefined ? { minAge: opts.minAge } : {}),
      crossCheck: opts.crossCheck ?? [],
    })).finally(progress.done);
  const m = outcome.metadata;
  if (outcome.status === "unchanged") {
    ctx.log.info(
      outcome.wrappers.length > 0
        ? `${m.name} (${shortDigest(m.digest)}) is already installed; restored ${outcome.wrappers.join(", ")}`
        : `${m.name} ${m.tag ?? ""} (${
          shortDigest(m.digest)
        }) is already installed and current; nothing to do`,
    );
    return 0;
  }
  const lines = [
    outcome.repaired !== undefined
      ? `Repaired ${m.name} ${m.tag ?? "(by digest)"} (${shortDigest(m.digest)}): unpacked it again ` +
        `(${outcome.repaired})`
      : `Installed ${m.name} ${m.tag ?? "(by digest)"} (${shortDigest(m.digest)})` +
        (outcome.previous ? `, replacing ${shortDigest(outcome.previous.digest)}` : ""),
    `  Registry:  ${m.registry.name} (${m.registry.url})`,
    `  Platform:  ${m.platform}`,
    ...(m.served_by ? [`  Served by: mirror ${m.served_by} (verified as ${m.registry.url})`] : []),
    ...(m.cross_checked.length > 0 ? [`  Cross-checked: ${m.cross_checked.join(", ")} (same digest)`] : []),
    m.kind === "artifact"
      ? `  Binary:    ${outcome.wrappers.join(", ")} -> ${m.artifact_file}${
        m.entrypoint.resolved === "/" + m.artifact_file ? "" : `:${m.entrypoint.resolved}`
      } (artifact, linked)`
      : `  Binary:    ${outcome.wrappers.join(", ")}`,
    m.signature?.proof === "provenance"
      ? `  Proof:     SLSA provenance, builder ${
        sanitize(m.signature.provenance?.builder_id ?? "(not stated)")
      }\n` +
        `  Source:    ${sanitize(m.signature.provenance?.source_repository ?? "(not stated)")}`
      : "",
    m.signature
      ? `  Signed by: ${m.signature.identity}\n  Issuer:    ${m.signature.issuer ?? "(key)"}` +
        (m.signature.rekor_log_index !== null
          ? `\n  Rekor:     log index ${m.signature.rekor_log_index}`
          : "")
      : "  Signature: NOT VERIFIED (--allow-unsigned)",
  ].filter((l) => l !== "");
  for (const a of m.attestations) {
    const label = a.verified ? "" : " (unverified)";
    if (a.sbom) {
      lines.push(`  SBOM:      ${a.sbom.format.toUpperCase()}, ${a.sbom.componentCount} components${label}`);
    } else if (a.provenance) {
      lines.push(`  Provenance: ${a.provenance.builderId ?? a.provenance.buildType ?? "?"}${label}`);
    } else if (a.vuln) {
      lines.push(`  Vulns:     ${a.vuln.critical}C/${a.vuln.high}H/${a.vuln.medium}M/${a.vuln.low}L${label}`);
    }
  }
  if (outcome.layers !== undefined && outcome.layers.reused > 0) {
    const { reused, extracted } = outcome.layers;
    lines.push(`  Layers:    ${reused} reused from the layer cache, ${extracted} extracted`);
  }
  ctx.log.info(lines.join("\n"));
  const path = (ctx.runtime.env("PATH") ?? "").split(":").map((p) => p.replace(/\/+$/, ""));
  if (!path.includes(ctx.layout.bin.replace(/\/+$/, ""))) {
    ctx.log.info(`Note: ${ctx.layout.bin} is not on your PATH; run "dz path setup"`);
  }
  return 0;
}

/** dz remove: also removes a damaged package (corrupt metadata, dangling current, deleted rootfs). */
export async function remove(
  ctx: CliContext,
  name: string,
  opts: { yes?: boolean; dryRun?: boolean },
): Promise<void> {
  const outcome = await removeInstalledPackage(storeAccess(ctx), {
    name,
    dryRun: opts.dryRun === true,
    confirm: async (plan) => {
      if (!ctx.runtime.stdinIsTerminal) return;
      const what = `${name}${plan.digest ? ` (${shortDigest(plan.digest)})` : ""}`;
      await confirm(
        ctx,
        `Remove ${what}${plan.damaged !== undefined ? ", which is damaged," : ""} and its previous versions?`,
        opts.yes,
      );
    },
  });
  const { plan } = outcome;
  if (outcome.kind === "dry-run") {
    ctx.log.info(
      `Would remove ${name}${plan.digest ? ` (${shortDigest(plan.digest)})` : ""}` +
        (plan.damaged !== undefined ? " (damaged)" : "") +
        (plan.olderVersions > 0 ? ` and ${plan.olderVersions} previous version(s)` : "") +
        (plan.wrappers.length > 0 ? `, and the wrapper(s) ${plan.wrappers.join(", ")}` : ""),
    );
    ctx.log.info("Dry run: nothing was changed");
    return;
  }
  ctx.log.info(`Removed ${name}${plan.damaged !== undefined ? ` (it was damaged: ${plan.damaged})` : ""}`);
}
