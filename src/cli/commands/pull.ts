/** `dz pull REF -o DIR`: a verified download of an artifact's files or an image's rootfs. */
import { resolve } from "node:path";
import { pullToDirectory } from "../../app/pull.ts";
import { shortDigest } from "../../oci/digest.ts";
import { resolveReference } from "../../oci/reference.ts";
import type { CliContext } from "../context.ts";
import { installProgress } from "../progress.ts";
import { formatBytes } from "../render.ts";
import { createClient, createTrustLoader } from "../services.ts";
import { parsePlatformFlag } from "../flags.ts";
import { installDeps, withStoreLock } from "./shared.ts";

/** Options of `dz pull`. */
export interface PullOptions {
  output: string;
  platform?: string;
  allowUnsigned?: boolean;
  force?: boolean;
  json?: boolean;
  minAge?: string;
}

/** dz pull */
export async function pull(ctx: CliContext, input: string, opts: PullOptions): Promise<number> {
  const { config } = await ctx.config();
  const ref = resolveReference(input, {
    registries: config.registries,
    defaultRegistry: config.default_registry,
  });
  const host = opts.platform ? parsePlatformFlag(opts.platform) : ctx.runtime.host;
  const dir = resolve(opts.output);
  const progress = installProgress(ctx);
  const outcome = await withStoreLock(ctx, () =>
    pullToDirectory(
      installDeps(ctx, {
        config,
        client: createClient(ctx, config),
        host,
        loadTrust: createTrustLoader(ctx),
        onEvent: progress.onEvent,
      }),
      {
        ref,
        dir,
        allowUnsigned: opts.allowUnsigned === true,
        force: opts.force === true,
        ...(opts.minAge !== undefined ? { minAge: opts.minAge } : {}),
      },
    )).finally(progress.done);
  const r = outcome.record;
  if (opts.json) ctx.out(JSON.stringify(r, null, 2));
  const lines = [
    `Pulled ${r.reference} (${shortDigest(r.digest)}, ${r.kind}, ${r.platform}) into ${dir}`,
    ...(r.kind === "artifact"
      ? r.files.map((f) => `  ${f.name}  ${formatBytes(f.size)}  ${shortDigest(f.digest)}`)
      : [`  rootfs/  ${r.layers.length} layer(s), ${formatBytes(r.layers.reduce((n, l) => n + l.size, 0))}`]),
    r.signer ? `  Signed by: ${r.signer.identity}` : "  Signature: NOT VERIFIED (--allow-unsigned)",
    `  Receipt:   ${dir}/dz-pull.json`,
  ];
  ctx.log.info(lines.join("\n"));
  return 0;
}
