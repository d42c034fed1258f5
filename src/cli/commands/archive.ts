/** `dz export <ref|name> -o FILE.tar` and the archive side of `dz install FILE.tar` / `dz verify FILE.tar`. */
import { archiveReference, capturingClient, importArchive, writeArchive } from "../../app/archive.ts";
import { decideTrust, resolveImage, verifyResolvedImage } from "../../app/image.ts";
import { pullLayers } from "../../app/install.ts";
import { isDropzoneError } from "../../errors.ts";
import { shortDigest } from "../../oci/digest.ts";
import { splitRegistryUrl } from "../../oci/reference.ts";
import { resolveReference } from "../../oci/reference.ts";
import type { RegistryClient } from "../../registry/types.ts";
import { openBlobCache } from "../../store/blob_cache.ts";
import { readCurrent } from "../../store/packages.ts";
import type { CliContext } from "../context.ts";
import { formatBytes } from "../render.ts";
import { createClient, createTrustLoader } from "../services.ts";
import { withStoreLock } from "./shared.ts";
import { parsePlatformFlag } from "../flags.ts";

/** dz export */
export async function exportImage(
  ctx: CliContext,
  target: string,
  opts: { output: string; platform?: string },
): Promise<void> {
  const { config } = await ctx.config();
  const resolveOpts = { registries: config.registries, defaultRegistry: config.default_registry };
  const installed = /^[a-z0-9][a-z0-9._-]*$/.test(target)
    ? (await readCurrent(ctx.layout, target).catch(() => undefined))?.metadata
    : undefined;
  const input = installed
    ? `${splitRegistryUrl(installed.registry.url).host}/${installed.repository}` +
      `${installed.tag ? `:${installed.tag}` : ""}@${installed.index_digest ?? installed.digest}`
    : target;
  const ref = resolveReference(input, resolveOpts);
  const cache = openBlobCache(ctx.layout.blobs);
  const { client, refs } = capturingClient(createClient(ctx, config), cache);
  const host = opts.platform ? parsePlatformFlag(opts.platform) : ctx.runtime.host;
  await withStoreLock(ctx, async () => {
    const image = await resolveImage(ref, { client, host });
    let trustedRoot: unknown;
    try {
      const decision = decideTrust(ref, { allowUnsigned: false, config: { always_allow_unsigned: false } });
      const loadTrust = createTrustLoader(ctx);
      const verification = await verifyResolvedImage(image, {
        client,
        decision,
        loadTrust,
        now: ctx.runtime.now(),
      });
      if (decision.kind === "verify") trustedRoot = (await loadTrust(decision.policy)).trustedRoot;
      ctx.log.info(`Verified signature: ${verification.signature?.identity}`);
    } catch (err) {
      if (!isDropzoneError(err, "POLICY_MISSING")) throw err;
      ctx.log.warn(`registry "${ref.registryName}" has no policy: exporting without signature verification`);
    }
    const downloads = pullLayers({ config, client }, image, cache, new AbortController().signal);
    await Promise.all(downloads);
    const written = await writeArchive({
      output: opts.output,
      image,
      records: refs.records(),
      cache,
      client,
      ...(trustedRoot !== undefined ? { trustedRoot } : {}),
    });
    ctx.log.info(
      `Wrote ${opts.output}: ${ref.host}/${ref.repository}@${
        shortDigest(image.digest)
      } (${image.platform}), ` +
        `${written.blobs} blobs, ${formatBytes(written.bytes)}`,
    );
  });
}

/** Imports an archive into the cache and returns the client and reference to install or verify from it. */
export async function openArchive(
  ctx: CliContext,
  path: string,
): Promise<{ client: RegistryClient; reference: string }> {
  const cache = openBlobCache(ctx.layout.blobs);
  const { info, client } = await importArchive(path, cache);
  ctx.log.info(
    `Loaded ${path}: ${info.source} ${info.tag ?? ""} (${info.platform}, ${shortDigest(info.digest)})`,
  );
  return { client, reference: archiveReference(info) };
}
