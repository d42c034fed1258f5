/** `dz purge`: delete the dz home, guarded so it can never remove $HOME, / or a directory that is not a dz home. */
import { join, resolve } from "node:path";
import { DropzoneError } from "../../errors.ts";
import { pathStatus, pathUnset } from "../../host/path.ts";
import { isDzWrapper } from "../../shim/wrapper.ts";
import { readFileHead } from "../../shim/write.ts";
import { removeTree } from "../../store/atomic.ts";
import { HOME_MARKER } from "../../store/layout.ts";
import type { CliContext } from "../context.ts";
import { confirm, installedPackages } from "./shared.ts";

/** Refuses paths purge must never delete. Pure. */
export function purgeRefusal(home: string, userHome: string): string | undefined {
  const target = resolve(home);
  if (target === "/" || target === resolve(userHome)) return `refusing to delete ${target}`;
  if (resolve(userHome).startsWith(target + "/")) {
    return `refusing to delete ${target}: it contains your home directory`;
  }
  return undefined;
}

/** The entries of a dz home that dz creates; `bin/` is handled file by file (it may hold the user's own files). */
const DZ_ENTRIES = ["packages", "cache", "config", "auth.json", ".lock"];

/**
 * Deletes what dz created in the home: its directories and files, the dz wrappers in bin/, then the marker and the
 * home itself when nothing else is left. Returns the paths it kept (files dz did not write), relative to the home.
 */
async function removeDzEntries(ctx: CliContext): Promise<string[]> {
  const home = ctx.layout.home;
  for (const name of DZ_ENTRIES) await removeTree(join(home, name));
  const kept: string[] = [];
  for (const entry of await readDirOrEmpty(ctx.layout.bin)) {
    const head = await readFileHead(join(ctx.layout.bin, entry.name));
    const ours = head !== null &&
      (isDzWrapper(head) || (entry.name.startsWith(".") && entry.name.endsWith(".tmp")));
    if (ours) await Deno.remove(join(ctx.layout.bin, entry.name));
    else kept.push(`bin/${entry.name}`);
  }
  if (kept.length === 0) await removeTree(ctx.layout.bin);
  for (const entry of await readDirOrEmpty(home)) {
    if (entry.name !== HOME_MARKER && entry.name !== "bin") kept.push(entry.name);
  }
  if (kept.length > 0) return kept.sort();
  await Deno.remove(ctx.layout.marker).catch(() => {});
  await Deno.remove(home);
  return [];
}

async function readDirOrEmpty(dir: string): Promise<Deno.DirEntry[]> {
  try {
    return await Array.fromAsync(Deno.readDir(dir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** dz purge */
export async function purge(ctx: CliContext, opts: { yes?: boolean; dryRun?: boolean }): Promise<void> {
  const home = ctx.layout.home;
  const refusal = purgeRefusal(home, ctx.runtime.homeDir);
  if (refusal) {
    throw new DropzoneError("NOT_A_DZ_HOME", `Cannot purge: ${refusal}`, { hint: "Check DROPZONE_HOME" });
  }
  try {
    await Deno.lstat(home);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      ctx.log.info(`Nothing to purge: ${home} does not exist`);
      return;
    }
    throw err;
  }
  try {
    await Deno.stat(ctx.layout.marker);
  } catch {
    throw new DropzoneError("NOT_A_DZ_HOME", `Cannot purge ${home}: it has no ${ctx.layout.marker} marker`, {
      hint: "dz only deletes directories it created; remove it by hand if you are sure",
    });
  }
  if (opts.dryRun) {
    await describePurge(ctx);
    return;
  }
  await confirm(ctx, `Delete ${home} (all packages, wrappers, cache and config)?`, opts.yes);
  const kept = await removeDzEntries(ctx);
  if (kept.length === 0) ctx.log.info(`Purged ${home}`);
  else {
    ctx.log.info(
      `Purged dz's files from ${home}; kept what dz did not create: ${kept.join(", ")} ` +
        `(remove them yourself if you no longer need them)`,
    );
  }
  // The PATH block would point at a directory that no longer exists: take it out of every shell dz manages.
  for (const shell of ["bash", "zsh", "fish"] as const) {
    try {
      const change = await pathUnset({
        binDir: ctx.layout.bin,
        env: ctx.runtime.env,
        homeDir: ctx.runtime.homeDir,
        os: ctx.runtime.host.os,
        shell,
      });
      if (change.changed) ctx.log.info(`Removed the dz PATH block from ${change.rcFile}`);
    } catch (err) {
      ctx.log.warn(`could not clean the ${shell} rc file: ${(err as Error).message}`);
    }
  }
}

/** `dz purge --dry-run`: what purge would delete, nothing changed. */
async function describePurge(ctx: CliContext): Promise<void> {
  const packages = await installedPackages(ctx).catch(() => []);
  ctx.log.info(
    `Would delete from ${ctx.layout.home}: ${packages.length} package(s)` +
      (packages.length ? ` (${packages.map((p) => p.name).join(", ")})` : "") +
      ", their wrappers, the cache, config.yaml and saved credentials",
  );
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const status = await pathStatus({
      binDir: ctx.layout.bin,
      env: ctx.runtime.env,
      homeDir: ctx.runtime.homeDir,
      os: ctx.runtime.host.os,
      shell,
    }).catch(() => undefined);
    if (status?.blockPresent) ctx.log.info(`Would remove the dz PATH block from ${status.rcFile}`);
  }
  ctx.log.info("Dry run: nothing was changed");
}
