/** `dz path`, `dz path setup`, `dz path unset`. */
import { pathSetup, pathStatus, pathUnset, type Shell } from "../../host/path.ts";
import type { CliContext } from "../context.ts";

function options(ctx: CliContext, shell?: Shell) {
  return {
    binDir: ctx.layout.bin,
    env: ctx.runtime.env,
    homeDir: ctx.runtime.homeDir,
    os: ctx.runtime.host.os,
    ...(shell ? { shell } : {}),
  };
}

/** dz path */
export async function pathStatusCmd(ctx: CliContext): Promise<void> {
  const s = await pathStatus(options(ctx));
  const rows: [string, string][] = [
    ["bin dir", s.binDir],
    ["on PATH", s.onPath ? "yes" : "no"],
    ["shell", s.shell ?? "unknown (set $SHELL, or use --shell with setup)"],
    ["rc file", s.rcFile ?? "-"],
    [
      "rc block",
      s.blockMalformed
        ? "malformed (start marker without end; fix by hand)"
        : s.blockPresent
        ? "present"
        : "absent",
    ],
  ];
  ctx.out(rows.map(([k, v]) => `${(k + ":").padEnd(10)} ${v}`).join("\n") + "\n");
  if (!s.onPath && !s.blockPresent) ctx.log.info('Run "dz path setup" to add it to your shell');
  else if (!s.onPath && s.blockPresent) {
    ctx.log.info(`Open a new shell (or "source ${s.rcFile}") to pick it up`);
  }
}

/** dz path setup */
export async function pathSetupCmd(ctx: CliContext, opts: { shell?: Shell }): Promise<void> {
  const change = await pathSetup(options(ctx, opts.shell));
  if (!change.changed) {
    ctx.log.info(`Already configured in ${change.rcFile} (no changes)`);
    return;
  }
  ctx.log.info(`${change.action === "updated" ? "Updated" : "Added"} the dz PATH block in ${change.rcFile}`);
  ctx.log.info(`Run "source ${change.rcFile}" or open a new shell to pick it up`);
}

/** dz path unset */
export async function pathUnsetCmd(ctx: CliContext, opts: { shell?: Shell }): Promise<void> {
  const change = await pathUnset(options(ctx, opts.shell));
  ctx.log.info(
    change.changed
      ? `Removed the dz PATH block from ${change.rcFile}`
      : `No dz PATH block in ${change.rcFile} (nothing to remove)`,
  );
}
