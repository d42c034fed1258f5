/** `dz pin NAME` and `dz unpin NAME`. */
import { pinPackage, unpinPackage } from "../../app/pin.ts";
import { shortDigest } from "../../oci/digest.ts";
import type { CliContext } from "../context.ts";
import { withStoreLock } from "./shared.ts";

/** dz pin */
export async function pin(ctx: CliContext, name: string): Promise<void> {
  const outcome = await withStoreLock(ctx, () => pinPackage(ctx.layout, name, ctx.runtime.now()));
  ctx.log.info(
    outcome.changed
      ? `Pinned ${name} at ${shortDigest(outcome.digest)}; "dz update --all" and "dz update --yes" skip it`
      : `${name} is already pinned`,
  );
}

/** dz unpin */
export async function unpin(ctx: CliContext, name: string): Promise<void> {
  const outcome = await withStoreLock(ctx, () => unpinPackage(ctx.layout, name));
  ctx.log.info(
    outcome.changed ? `Unpinned ${name}; dz update may update it again` : `${name} was not pinned`,
  );
}
