/** Helpers shared by command handlers. */
import { DropzoneError } from "../../errors.ts";
import { join } from "node:path";
import { isLeftoverName, removeTree } from "../../fs.ts";
import { acquireStoreLock } from "../../store/lock.ts";
import type { PackageMetadata } from "../../store/metadata.ts";
import { listPackages, readCurrent } from "../../store/packages.ts";
import type { InstallDeps } from "../../app/install.ts";
import type { StoreAccess } from "../../app/store_access.ts";
import type { CliContext } from "../context.ts";
import { sanitizeTerminal } from "../sanitize.ts";

/**
 * The store as a use case in app/ gets it: its lock creates the home, waits for a second dz with a message (failing
 * after DZ_LOCK_TIMEOUT_MS) and removes an interrupted dz's leftovers.
 */
export function storeAccess(ctx: CliContext): StoreAccess {
  return {
    layout: ctx.layout,
    async lock() {
      await ctx.ensureHome();
      const lock = await acquireStoreLock(ctx.layout.lockFile, {
        timeoutMs: ctx.settings.lockTimeoutMs,
        onWait: (pid) => ctx.log.info(`Waiting for another dz${pid ? ` (pid ${pid})` : ""} to finish…`),
      });
      await removeLeftovers(ctx);
      return lock;
    },
  };
}

/** Runs `fn` holding the store-wide lock (see {@linkcode storeAccess}). */
export async function withStoreLock<T>(ctx: CliContext, fn: () => Promise<T>): Promise<T> {
  await using _lock = await storeAccess(ctx).lock();
  return await fn();
}

/**
 * Holding the lock, any `.staging-*`/`.trash-*` under packages/ belongs to a dz that died (SIGKILL, power cut):
 * remove it so every mutating command starts clean. Never fails the command.
 */
async function removeLeftovers(ctx: CliContext): Promise<void> {
  try {
    for await (const pkg of Deno.readDir(ctx.layout.packages)) {
      if (!pkg.isDirectory) continue;
      const dir = join(ctx.layout.packages, pkg.name);
      if (isLeftoverName(pkg.name)) {
        await removeTree(dir);
        continue;
      }
      for await (const entry of Deno.readDir(dir)) {
        if (isLeftoverName(entry.name)) {
          ctx.log.debug(`removing leftover ${join(dir, entry.name)} from an interrupted dz`);
          await removeTree(join(dir, entry.name));
        }
      }
    }
  } catch (err) {
    ctx.log.debug(`leftover cleanup skipped: ${(err as Error).message}`);
  }
}

/** Current metadata of every installed package, sorted by name. */
export async function installedPackages(ctx: CliContext): Promise<PackageMetadata[]> {
  const versions = await listPackages(ctx.layout);
  return versions.map((v) => v.metadata).sort((a, b) => a.name.localeCompare(b.name));
}

/** The current metadata of `name`, or NOT_INSTALLED with a hint. */
export async function requireInstalled(ctx: CliContext, name: string): Promise<PackageMetadata> {
  const current = await readCurrent(ctx.layout, name);
  if (!current) {
    throw new DropzoneError("NOT_INSTALLED", `"${name}" is not installed`, {
      hint: `Run "dz list" to see installed packages, or "dz install ${name}"`,
    });
  }
  return current.metadata;
}

/** Asks for confirmation on a TTY; without one, refuses unless `yes`. */
export async function confirm(ctx: CliContext, question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  const answer = await ctx.runtime.prompt(sanitizeTerminal(`${question} [y/N]: `));
  if (answer === null) {
    throw new DropzoneError("ABORTED", `${question.replace(/\?$/, "")}: not confirmed`, {
      hint: "Pass --yes to confirm without a terminal",
    });
  }
  if (!/^(y|yes)$/i.test(answer.trim())) {
    throw new DropzoneError("ABORTED", "Aborted", { hint: "Nothing was changed" });
  }
}

/**
 * The deps of an install-like use case (install, install --locked, update, pull): the store, the clock and the
 * interrupt signal from `ctx`, the host unless `--platform` chose another.
 */
export function installDeps(
  ctx: CliContext,
  parts: Pick<InstallDeps, "config" | "client" | "loadTrust" | "onEvent"> & { host?: InstallDeps["host"] },
): InstallDeps {
  return {
    layout: ctx.layout,
    config: parts.config,
    client: parts.client,
    host: parts.host ?? ctx.runtime.host,
    now: ctx.runtime.now,
    loadTrust: parts.loadTrust,
    ...(ctx.runtime.signal ? { signal: ctx.runtime.signal } : {}),
    ...(parts.onEvent ? { onEvent: parts.onEvent } : {}),
  };
}
