/** `dz rollback`. */
import { parseRollbackTo, rollbackPackage } from "../../app/rollback.ts";
import { shortDigest } from "../../oci/digest.ts";
import type { CliContext } from "../context.ts";
import { requireInstalled, withStoreLock } from "./shared.ts";

/** Options of `dz rollback`. */
export interface RollbackCliOptions {
  to?: string;
}

/** dz rollback <name> [--to DIGEST|N] */
export async function rollback(ctx: CliContext, name: string, opts: RollbackCliOptions): Promise<void> {
  await requireInstalled(ctx, name);
  const outcome = await withStoreLock(
    ctx,
    () => rollbackPackage({ layout: ctx.layout, host: ctx.runtime.host }, name, parseRollbackTo(opts.to)),
  );
  const to = outcome.to;
  ctx.log.info(`Rolled ${name} back to ${to.tag ?? "(by digest)"} (${shortDigest(to.digest)})`);
  if (outcome.removedWrappers.length > 0) {
    ctx.log.info(`  Removed wrappers this version does not have: ${outcome.removedWrappers.join(", ")}`);
  }
}
