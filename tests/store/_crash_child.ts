/**
 * Child for the crash-safety tests: runs one store operation against the dz home in Deno.args[0] and hangs
 * at the crash point named Deno.args[2] (after printing "at <step>"), so the parent can SIGKILL it there.
 * Scenarios: update (stage+commit+activate v2), rollback (to v1), prune (keep 0), remove.
 */

import { setCrashPointHandler } from "../../src/crash_points.ts";
import { storeLayout } from "../../src/store/layout.ts";
import { activate, commitVersion, prune, removePackage, rollbackTarget } from "../../src/store/packages.ts";
import { stageVersion } from "../support/store_fixtures.ts";

const [home, scenario, step] = Deno.args as [string, string, string];
const layout = storeLayout(home);
const encoder = new TextEncoder();

setCrashPointHandler(async (reached) => {
  if (reached !== step) return;
  await Deno.stdout.write(encoder.encode(`at ${reached}\n`));
  setInterval(() => {}, 60_000); // keep the process alive until the parent kills it
  await new Promise(() => {});
});

switch (scenario) {
  case "update": {
    const { staging, metadata } = await stageVersion(layout, "tool", "2", {
      "usr/lib/lib.so": "L".repeat(4096),
    });
    const { version } = await commitVersion(layout, "tool", staging, metadata);
    await activate(layout, "tool", version.digest);
    break;
  }
  case "rollback": {
    const target = await rollbackTarget(layout, "tool", { to: 2 });
    await activate(layout, "tool", target.digest, { rollback: true });
    break;
  }
  case "prune":
    await prune(layout, "tool", { keep: 0 });
    break;
  case "remove":
    await removePackage(layout, "tool");
    break;
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
await Deno.stdout.write(encoder.encode("done\n"));
