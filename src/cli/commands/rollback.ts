/** `dz rollback`. */
import { parseRollbackTo, rollbackPackage } from "../../app/rollback.ts";
import { shortDigest } from "../../oci/digest.ts";
import type { CliContext } from "../context.ts";
import { installProgress } from "../progress.ts";
import { sanitize } from "../render.ts";
import { registryInstallDeps } from "../services.ts";
import { requireInstalled, withStoreLock } from "./shared.ts";

/** Options of `dz rollback`. */
export interface RollbackCliOptions {
  to?: string;
}

/** dz rollback <name> [--to DIGEST|N] */
export async function rollback(ctx: CliContext, name: string, opts: RollbackCliOptions): Promise<void> {
  await requireInstalled(ctx, name);
  const progress = installProgress(ctx);
  // Only a pruned target needs the registry: the install deps are built when the rollback asks for them.
  const reinstall = async () => registryInstallDeps(ctx, (await ctx.config()).config, progress.onEvent);
  const outcome = await withStoreLock(
    ctx,
    () =>
      rollbackPackage(
        { layout: ctx.layout, host: ctx.runtime.host, reinstall },
        name,
        parseRollbackTo(opts.to),
      ),
  ).finally(progress.done);
  const to = outcome.to;
  ctx.log.info(`Rolled ${name} back to ${to.tag ?? "(by digest)"} (${shortDigest(to.digest)})`);
  if (outcome.reinstalled !== null) {
    const { source, layers } = outcome.reinstalled;
    ctx.log.info(
      `  Reinstalled from ${source} (keep_versions had pruned it); ` +
        (to.signature
          ? `signature verified again (${sanitize(to.signature.identity)})`
          : "unsigned, as installed before"),
    );
    if (layers !== null) {
      ctx.log.info(
        `  Layers:    ${layers.reused} reused from the layer cache, ${layers.extracted} extracted`,
      );
    }
  }
  if (outcome.removedWrappers.length > 0) {
    ctx.log.info(`  Removed wrappers this version does not have: ${outcome.removedWrappers.join(", ")}`);
  }
}
