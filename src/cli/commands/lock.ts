/** `dz lock [FILE] [--check]` and `dz install --locked [FILE]`. */
import { installPackage } from "../../app/install.ts";
import { lockDrift, lockEntry, parseLockfile } from "../../app/lockfile.ts";
import { renderLockfile } from "../lockfile_render.ts";
import { DropzoneError } from "../../errors.ts";
import { shortDigest } from "../../oci/digest.ts";
import { formatPlatform } from "../../oci/platform.ts";
import { resolveReference } from "../../oci/reference.ts";
import { writeFileAtomic } from "../../fs.ts";
import type { CliContext } from "../context.ts";
import { installProgress } from "../progress.ts";
import { createClient, createTrustLoader } from "../services.ts";
import { installDeps, installedPackages, withStoreLock } from "./shared.ts";

async function readLock(path: string) {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot read lockfile ${path}`, {
      hint: 'Create one with "dz lock", or give its path',
      cause: err,
    });
  }
  return parseLockfile(text, path);
}

/** dz lock */
export async function lock(ctx: CliContext, typed: string, opts: { check?: boolean }): Promise<number> {
  const file = ctx.userPath(typed);
  const installed = await installedPackages(ctx);
  const platform = formatPlatform(ctx.runtime.host);
  if (opts.check) {
    const drift = lockDrift(await readLock(file), installed, platform);
    if (drift.length === 0) {
      ctx.log.info(`Installed packages match ${file}`);
      return 0;
    }
    for (const line of drift) ctx.out(line + "\n");
    ctx.log.info(
      `${drift.length} difference(s) from ${file}; run "dz install --locked ${file}" or "dz lock"`,
    );
    return 1;
  }
  const { config } = await ctx.config();
  const client = createClient(ctx, config);
  const packages = [];
  for (const meta of installed) packages.push(await lockEntry(client, meta));
  await writeFileAtomic(file, renderLockfile({ version: 1, packages }), { mode: 0o644 });
  ctx.log.info(`Wrote ${file} with ${packages.length} package(s)`);
  return 0;
}

/** dz install --locked */
export async function installLocked(
  ctx: CliContext,
  file: string,
  opts: { offline?: boolean; allowUnsigned?: boolean; acceptNewSigner?: boolean; allowDowngrade?: boolean },
): Promise<number> {
  const lockfile = await readLock(file);
  const { config } = await ctx.config();
  const platform = formatPlatform(ctx.runtime.host);
  const client = createClient(ctx, config, { offline: opts.offline === true });
  const loadTrust = createTrustLoader(ctx, { offline: opts.offline === true });
  let installed = 0;
  await withStoreLock(ctx, async () => {
    for (const p of lockfile.packages) {
      const digest = p.platforms[platform];
      if (!digest) {
        throw new DropzoneError("NO_MATCHING_PLATFORM", `${file} has no ${platform} digest for "${p.name}"`, {
          hint:
            `Regenerate the lockfile on a machine that installed it, or from an image offering ${platform}`,
        });
      }
      // The tag is kept (informational: the digest decides) so list, update --check and the next dz lock see it.
      const ref = resolveReference(`${p.source}${p.tag ? `:${p.tag}` : ""}@${p.index_digest ?? digest}`, {
        registries: config.registries,
        defaultRegistry: config.default_registry,
      });
      const progress = installProgress(ctx);
      const outcome = await installPackage(
        installDeps(ctx, { config, client, loadTrust, onEvent: progress.onEvent }),
        {
          origin: "locked",
          ref,
          name: p.name,
          // Never p.allow_unsigned: a lockfile cannot grant consent, only this command line can.
          allowUnsigned: opts.allowUnsigned === true,
          acceptNewSigner: opts.acceptNewSigner === true,
          allowDowngrade: opts.allowDowngrade === true,
          locked: { file, digest, signer: p.signer },
        },
      ).finally(progress.done);
      installed++;
      ctx.log.info(
        outcome.status === "unchanged"
          ? `${p.name} is already at ${shortDigest(digest)}`
          : `Installed ${p.name} ${shortDigest(digest)} as locked`,
      );
    }
  });
  ctx.log.info(`${installed} package(s) match ${file}`);
  return 0;
}
