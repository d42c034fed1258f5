/** `dz export <ref|name> -o FILE.tar` and the archive side of `dz install FILE.tar` / `dz verify FILE.tar`. */
import {
  archiveReference,
  capturingClient,
  consultingClient,
  importArchive,
  writeArchive,
} from "../../app/archive.ts";
import type { ArchiveEvidence } from "../../app/install.ts";
import type { Digest } from "../../oci/digest.ts";
import { resolveImage, verifyResolvedImage } from "../../app/image.ts";
import { gateVerified, planInstall } from "../../app/install_plan.ts";
import { pullLayers } from "../../app/layers.ts";
import { dirname, resolve } from "node:path";
import { DropzoneError } from "../../errors.ts";
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

/** Fails before any network access when `-o FILE` cannot be written: no such directory, or a directory. */
async function checkOutputPath(output: string): Promise<void> {
  const dir = dirname(resolve(output));
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info?.isDirectory) {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Cannot write ${output}: the directory ${dir} does not exist`,
      {
        hint: "Create the directory first, or give another path with -o",
      },
    );
  }
  if ((await Deno.stat(output).catch(() => undefined))?.isDirectory) {
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot write ${output}: it is a directory`, {
      hint: "Give a file name with -o, e.g. -o jq.tar",
    });
  }
}

/** dz export */
export async function exportImage(
  ctx: CliContext,
  target: string,
  typed: { output: string; platform?: string },
): Promise<void> {
  const opts = { ...typed, output: ctx.userPath(typed.output) };
  await checkOutputPath(opts.output);
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
    // The same plan and gate as an install: policy, cooldown-free (the importer applies its own), the pin of
    // an installed package of this name and source, attestation gates. A policy-less registry exports
    // unverified with a warning; the archive grants nothing (installing it needs its own consent).
    const name = installed?.name ?? ref.packageName;
    const related = (await readCurrent(ctx.layout, name).catch(() => undefined))?.metadata ?? null;
    const plan = planInstall({ origin: "export", ref, name }, { config, installed: related });
    const image = await resolveImage(ref, {
      client,
      host,
      ...(ctx.runtime.signal ? { signal: ctx.runtime.signal } : {}),
    });
    const loadTrust = createTrustLoader(ctx);
    const verification = await verifyResolvedImage(image, {
      client,
      decision: plan.trust,
      loadTrust,
      now: ctx.runtime.now(),
    });
    gateVerified(plan, {
      digest: image.digest,
      indexDigest: image.index?.digest ?? null,
      verification,
    }, ctx.runtime.now());
    let trustedRoot: unknown;
    if (plan.trust.kind === "verify") {
      trustedRoot = (await loadTrust(plan.trust.policy)).trustedRoot;
      ctx.log.info(`Verified signature: ${verification.signature?.identity}`);
    } else {
      ctx.log.warn(`registry "${ref.registryName}" has no policy: exporting without signature verification`);
    }
    const signal = ctx.runtime.signal ?? new AbortController().signal;
    const downloads = pullLayers({ config, client }, image, cache, signal);
    await Promise.all(downloads);
    const written = await writeArchive({
      output: opts.output,
      image,
      records: refs.records(),
      cache,
      client,
      signal,
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

/** An imported archive: the offline client to install or verify from, and the evidence the gate checks. */
export interface OpenedArchive {
  readonly client: RegistryClient;
  readonly reference: string;
  /** index.json entries, and the manifest digests the client served (filled while verifying). */
  readonly evidence: ArchiveEvidence & { readonly consulted: Set<Digest> };
}

/** Imports an archive into the cache and returns the client and reference to install or verify from it. */
export async function openArchive(ctx: CliContext, path: string): Promise<OpenedArchive> {
  const cache = openBlobCache(ctx.layout.blobs);
  const { info, client: inner, entries } = await importArchive(path, cache);
  const consulted = new Set<Digest>();
  const client = consultingClient(inner, consulted);
  ctx.log.info(
    `Loaded ${path}: ${info.source} ${info.tag ?? ""} (${info.platform}, ${shortDigest(info.digest)})`,
  );
  return { client, reference: archiveReference(info), evidence: { entries, consulted } };
}
