/** `dz purge`: asks, calls app/purge.ts and says what was deleted and what was kept. */
import { purgeHome } from "../../app/purge.ts";
import type { CliContext } from "../context.ts";
import { confirm, storeAccess } from "./shared.ts";

/** dz purge */
export async function purge(ctx: CliContext, opts: { yes?: boolean; dryRun?: boolean }): Promise<void> {
  const home = ctx.layout.home;
  const outcome = await purgeHome(storeAccess(ctx), {
    userHome: ctx.runtime.homeDir,
    env: ctx.runtime.env,
    os: ctx.runtime.host.os,
  }, {
    dryRun: opts.dryRun === true,
    confirm: () => confirm(ctx, `Delete ${home} (all packages, wrappers, cache and config)?`, opts.yes),
  });
  switch (outcome.kind) {
    case "absent":
      ctx.log.info(`Nothing to purge: ${home} does not exist`);
      return;
    case "dry-run":
      ctx.log.info(
        `Would delete from ${home}: ${outcome.packages.length} package(s)` +
          (outcome.packages.length ? ` (${outcome.packages.join(", ")})` : "") +
          ", their wrappers, the cache, config.yaml and saved credentials",
      );
      for (const rcFile of outcome.pathBlocks) ctx.log.info(`Would remove the dz PATH block from ${rcFile}`);
      ctx.log.info("Dry run: nothing was changed");
      return;
    case "purged":
      if (outcome.kept.length === 0) ctx.log.info(`Purged ${home}`);
      else {
        ctx.log.info(
          `Purged dz's files from ${home}; kept what dz did not create: ${outcome.kept.join(", ")} ` +
            `(remove them yourself if you no longer need them)`,
        );
      }
      for (const rcFile of outcome.pathBlocksRemoved) {
        ctx.log.info(`Removed the dz PATH block from ${rcFile}`);
      }
      for (const f of outcome.rcFailures) {
        ctx.log.warn(`could not clean the ${f.shell} rc file: ${f.message}`);
      }
  }
}
