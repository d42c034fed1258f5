/**
 * dz's main job: resolve → verify → pull → unpack → commit → wrapper. Layers download concurrently into the
 * content-addressed cache while the signature is verified; nothing is unpacked before verification passed and
 * nothing is visible before the final renames. A crash at any point leaves the previous version working.
 */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import { type ResolvedReference, validatePackageName } from "../oci/reference.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { Host } from "../runtime.ts";
import { parseBinSpec, planShim, type ShimPlan } from "../shim/plan.ts";
import { isDzWrapper, readWrapperMeta, renderWrapper } from "../shim/wrapper.ts";
import { removeWrapper, writeWrapper } from "../shim/write.ts";
import { removeTree } from "../store/atomic.ts";
import { type BlobCache, openBlobCache } from "../store/blob_cache.ts";
import type { Config } from "../store/config.ts";
import type { StoreLayout } from "../store/layout.ts";
import { type PackageMetadata, signatureRecord } from "../store/metadata.ts";
import {
  activate,
  commitVersion,
  hardlinkDedup,
  makePackageStaging,
  prune,
  readCurrent,
  ROOTFS_DIR,
} from "../store/packages.ts";
import { applyLayer, createRootfsState, finalizeRootfs } from "../unpack/extract.ts";
import { openLayer } from "../unpack/layer.ts";
import type { TrustContext } from "../verify/verifier.ts";
import type { CosignPolicy } from "../verify/types.ts";
import { type Changelog, computeChangelog } from "./changelog.ts";
import { checkReleaseAge, checkSignerContinuity, parseAge, signerFingerprint } from "./trust_history.ts";
import {
  decideTrust,
  type ResolvedImage,
  resolveImage,
  type TrustDecision,
  type Verification,
  verifyResolvedImage,
} from "./image.ts";

/** The image config is kept next to the rootfs so wrappers can be regenerated (rollback, doctor). */
export const IMAGE_CONFIG_FILE = "image-config.json";

/** Progress events for the CLI to render. */
export type InstallEvent =
  | { readonly type: "resolved"; readonly image: ResolvedImage }
  | { readonly type: "verified"; readonly verification: Verification }
  | { readonly type: "unsigned" }
  | { readonly type: "layer-start"; readonly digest: Digest; readonly size: number; readonly cached: boolean }
  | { readonly type: "layer-progress"; readonly digest: Digest; readonly bytes: number }
  | { readonly type: "layer-done"; readonly digest: Digest }
  | { readonly type: "unpack"; readonly index: number; readonly total: number; readonly digest: Digest }
  /** Bytes of a layer blob read by the unpacker so far in this call (the unpack phase's movement). */
  | { readonly type: "unpack-progress"; readonly digest: Digest; readonly bytes: number }
  /** Every layer is applied to the rootfs. */
  | { readonly type: "unpacked"; readonly layers: number }
  | { readonly type: "committed"; readonly digest: Digest }
  /** What changes against the installed version (after verification, before anything is unpacked). */
  | { readonly type: "changelog"; readonly changelog: Changelog; readonly from: Digest; readonly to: Digest };

/** What install needs from the outside. */
export interface InstallDeps {
  readonly layout: StoreLayout;
  readonly config: Config;
  readonly client: RegistryClient;
  readonly host: Host;
  readonly now: () => Date;
  readonly loadTrust: (policy: CosignPolicy) => Promise<TrustContext>;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: InstallEvent) => void;
}

/** One install. */
export interface InstallRequest {
  readonly ref: ResolvedReference;
  /** Package name; default: the last path segment. */
  readonly name?: string;
  readonly allowUnsigned?: boolean;
  /** `--bin PATH[:NAME]` specs. */
  readonly bins?: readonly string[];
  /** When updating, the name must already belong to this package (no conflict check). */
  readonly updating?: boolean;
  /** Keep the recorded allow_unsigned choice on update. */
  readonly recordedAllowUnsigned?: boolean;
  /** Accept a signer that differs from the package's recorded one. */
  readonly acceptNewSigner?: boolean;
  /** Minimum release age ("3d"); overrides the registry's and the config's min_release_age. */
  readonly minAge?: string;
  /** From a lockfile: the platform digest and signer that must be installed, checked before unpacking. */
  readonly expect?: {
    readonly digest: Digest;
    readonly signer: { identity: string; issuer: string | null } | null;
  };
}

/** The result of an install. */
export interface InstallOutcome {
  readonly status: "installed" | "unchanged";
  readonly metadata: PackageMetadata;
  readonly previous?: PackageMetadata;
  /** Wrapper paths written. */
  readonly wrappers: string[];
  readonly pruned: Digest[];
  /** Bytes saved by hardlinking files identical to the previous version. */
  readonly dedupBytes: number;
}

function conflict(name: string, existing: PackageMetadata, ref: ResolvedReference): DropzoneError {
  return new DropzoneError(
    "NAME_CONFLICT",
    `Cannot install ${ref.input} as "${name}": "${name}" is already installed from ` +
      `${existing.registry.name}:${existing.repository}`,
    { hint: `Pick another name with --name, or "dz remove ${name}" first` },
  );
}

async function checkWrapperSlot(
  layout: StoreLayout,
  wrapperName: string,
  packageName: string,
): Promise<void> {
  const path = join(layout.bin, wrapperName);
  let text: string;
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) throw new Error("not a file");
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    text = "";
  }
  if (!isDzWrapper(text)) {
    throw new DropzoneError("NAME_CONFLICT", `Cannot write "${path}": it exists and was not written by dz`, {
      hint: `Remove or rename "${path}", or install under another name with --name`,
    });
  }
  const owner = readWrapperMeta(text)?.package;
  if (owner !== undefined && owner !== packageName) {
    throw new DropzoneError("NAME_CONFLICT", `Cannot write "${path}": it belongs to package "${owner}"`, {
      hint: `Pick another binary name (--bin PATH:NAME or --name)`,
    });
  }
}

/**
 * Applies the image's layers in order into a new `rootfs` directory, each as soon as its download finished. Call
 * it only after verification passed.
 */
export async function unpackLayers(input: {
  image: ResolvedImage;
  cache: BlobCache;
  downloads: readonly Promise<void>[];
  rootfs: string;
  signal: AbortSignal;
  onEvent?: (event: InstallEvent) => void;
}): Promise<void> {
  const { image, cache, downloads, rootfs, signal, onEvent } = input;
  await Deno.mkdir(rootfs);
  const state = createRootfsState();
  const layers = image.manifest.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    await downloads[i];
    signal.throwIfAborted();
    onEvent?.({ type: "unpack", index: i, total: layers.length, digest: layer.digest });
    const blob = await cache.open(layer.digest);
    const counted = onEvent
      ? blob.pipeThrough(
        countBytes((bytes) => onEvent({ type: "unpack-progress", digest: layer.digest, bytes })),
      )
      : blob;
    await applyLayer(openLayer(counted, layer.mediaType), rootfs, {
      state,
      label: shortDigest(layer.digest),
    });
  }
  await finalizeRootfs(rootfs, state);
  onEvent?.({ type: "unpacked", layers: layers.length });
}

/** Passes bytes through, reporting each chunk's size. */
function countBytes(report: (bytes: number) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      report(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

/** Downloads every layer into the cache with bounded concurrency; returns a promise per layer. */
export function pullLayers(
  deps: Pick<InstallDeps, "config" | "client" | "onEvent">,
  image: ResolvedImage,
  cache: BlobCache,
  signal: AbortSignal,
): Promise<void>[] {
  const limit = Math.max(1, deps.config.concurrency);
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (running >= limit) await new Promise<void>((r) => waiting.push(r));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return image.manifest.layers.map(async (layer: Descriptor) => {
    if (await cache.has(layer.digest)) {
      deps.onEvent?.({ type: "layer-start", digest: layer.digest, size: layer.size, cached: true });
      deps.onEvent?.({ type: "layer-done", digest: layer.digest });
      return;
    }
    await slot();
    try {
      signal.throwIfAborted();
      deps.onEvent?.({ type: "layer-start", digest: layer.digest, size: layer.size, cached: false });
      const stream = await deps.client.getBlob(image.repo, layer.digest, {
        size: layer.size,
        signal,
        onProgress: (bytes) => deps.onEvent?.({ type: "layer-progress", digest: layer.digest, bytes }),
      });
      await cache.putStream(layer.digest, layer.size, stream);
      deps.onEvent?.({ type: "layer-done", digest: layer.digest });
    } finally {
      release();
    }
  });
}

/** Builds metadata for a staged version. Pure. */
export function buildMetadata(input: {
  name: string;
  image: ResolvedImage;
  plan: ShimPlan;
  verification: Verification;
  decision: TrustDecision;
  now: Date;
  trustedSigner: PackageMetadata["trusted_signer"];
}): PackageMetadata {
  const { name, image, plan, verification, now } = input;
  return {
    schema_version: 1,
    name,
    ref: image.ref.input,
    registry: { name: image.ref.registryName, url: image.ref.registryUrl },
    repository: image.ref.repository,
    tag: image.ref.tag ?? null,
    index_digest: image.index?.digest ?? null,
    digest: image.digest,
    platform: image.platform,
    entrypoint: { raw: [...plan.entrypoint.argv], resolved: plan.entrypoint.resolved },
    loader: plan.loader ?? null,
    bins: [
      { name: plan.name, path: plan.entrypoint.path },
      ...plan.extraBins.map((b) => ({ name: b.name, path: b.entrypoint.path })),
    ],
    signature: verification.signature ? signatureRecord(verification.signature, now) : null,
    trusted_signer: input.trustedSigner,
    allow_unsigned: input.decision.kind === "unsigned",
    attestations: verification.attestations,
    layers: image.manifest.layers.map((l) => l.digest),
    config_digest: image.manifest.config.digest,
    installed_at: now.toISOString(),
    size_bytes: image.manifest.layers.reduce((sum, l) => sum + l.size, 0),
  };
}

/** Writes the wrappers of a committed, active version. */
export async function writeWrappers(
  layout: StoreLayout,
  packageName: string,
  plan: ShimPlan,
  digest: Digest,
): Promise<string[]> {
  const written: string[] = [];
  for (const p of [plan, ...plan.extraBins]) {
    await writeWrapper(
      layout.bin,
      p.name,
      renderWrapper(p, { packagesDir: layout.packages, name: packageName, digest }),
    );
    written.push(join(layout.bin, p.name));
  }
  return written;
}

/** Rewrites any wrapper of the current version that is missing or differs from what dz would write now. */
export async function restoreWrappers(
  layout: StoreLayout,
  meta: PackageMetadata,
  host: Host,
): Promise<string[]> {
  const plan = await planForVersion(layout, meta, host);
  const written: string[] = [];
  for (const p of [plan, ...plan.extraBins]) {
    const expected = renderWrapper(p, { packagesDir: layout.packages, name: meta.name, digest: meta.digest });
    const path = join(layout.bin, p.name);
    const actual = await Deno.readTextFile(path).catch(() => null);
    if (actual === expected) continue;
    await writeWrapper(layout.bin, p.name, expected);
    written.push(path);
  }
  return written;
}

/** Removes wrappers a previous version had and the new one does not. */
async function removeStaleWrappers(
  layout: StoreLayout,
  previous: PackageMetadata | undefined,
  plan: ShimPlan,
) {
  if (!previous) return;
  const keep = new Set([plan.name, ...plan.extraBins.map((b) => b.name)]);
  for (const bin of previous.bins) {
    if (!keep.has(bin.name)) await removeWrapper(layout.bin, bin.name).catch(() => false);
  }
}

/** Re-plans the wrapper for an installed version from its rootfs and saved image config. */
export async function planForVersion(
  layout: StoreLayout,
  meta: PackageMetadata,
  host: Host,
): Promise<ShimPlan> {
  const dir = join(layout.packages, meta.name, meta.digest.replace(":", "-"));
  const config = JSON.parse(await Deno.readTextFile(join(dir, IMAGE_CONFIG_FILE)));
  const mainPath = meta.bins[0]?.path;
  return await planShim({
    rootfs: join(dir, ROOTFS_DIR),
    config,
    host,
    name: meta.bins[0]?.name ?? meta.name,
    extraBins: meta.bins.slice(1).map((b) => ({ path: b.path, name: b.name })),
    ...(mainPath ? {} : {}),
  });
}

/** Installs (or re-installs, or updates) a package. Call it holding the store lock. */
export async function installPackage(deps: InstallDeps, request: InstallRequest): Promise<InstallOutcome> {
  const { layout, client, host } = deps;
  const ref = request.ref;
  const name = validatePackageName(request.name ?? ref.packageName);
  const extraBins = (request.bins ?? []).map(parseBinSpec);
  const previous = (await readCurrent(layout, name))?.metadata;
  if (previous && !request.updating) {
    const sameSource = previous.registry.name === ref.registryName && previous.repository === ref.repository;
    if (!sameSource) throw conflict(name, previous, ref);
  }
  const decision = decideTrust(ref, {
    allowUnsigned: request.allowUnsigned === true || request.recordedAllowUnsigned === true,
    config: deps.config,
  });
  const cache = openBlobCache(layout.blobs);
  const image = await resolveImage(ref, { client, host, ...(deps.signal ? { signal: deps.signal } : {}) });
  deps.onEvent?.({ type: "resolved", image });
  if (request.expect && image.digest !== request.expect.digest) {
    throw new DropzoneError(
      "DIGEST_MISMATCH",
      `Cannot install ${ref.input} as locked: it resolves to ${
        shortDigest(image.digest)
      }, the lockfile says ` +
        shortDigest(request.expect.digest),
      {
        hint:
          "The lockfile and the registry disagree; regenerate the lockfile with dz lock if this is intended",
      },
    );
  }

  // Reinstalling what is already current is a no-op (the Go tool deleted the live directory here).
  if (previous && previous.digest === image.digest && extraBins.length === 0) {
    // …but a crash between activation and the wrapper write may have left a wrapper missing or stale: restore it.
    const wrappers = await restoreWrappers(layout, previous, host);
    return { status: "unchanged", metadata: previous, previous, wrappers, pruned: [], dedupBytes: 0 };
  }
  for (const wrapperName of [request.name ?? ref.packageName, ...extraBins.map((b) => b.name)]) {
    await checkWrapperSlot(layout, wrapperName, name);
  }

  // Verification and layer downloads run together; unpacking waits for verification.
  const controller = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
  const downloads = pullLayers(deps, image, cache, signal);
  // Keep rejections handled while we wait for verification.
  downloads.forEach((p) => p.catch(() => {}));
  let verification: Verification;
  try {
    verification = await verifyResolvedImage(image, {
      client,
      decision,
      loadTrust: deps.loadTrust,
      now: deps.now(),
      signal,
    });
  } catch (err) {
    controller.abort();
    await Promise.allSettled(downloads);
    throw err;
  }
  deps.onEvent?.(decision.kind === "unsigned" ? { type: "unsigned" } : { type: "verified", verification });

  // History-dependent trust: the signer must be the one this package was first verified with, and the release
  // must be old enough when a cooldown is configured.
  let trustedSigner = previous?.trusted_signer ?? null;
  try {
    if (verification.signature) {
      const fingerprint = signerFingerprint(verification.signature);
      checkSignerContinuity(name, trustedSigner, fingerprint, request.acceptNewSigner === true);
      if (!trustedSigner || request.acceptNewSigner) trustedSigner = fingerprint;
    }
    if (request.expect) {
      const got = verification.signature
        ? { identity: verification.signature.identity, issuer: verification.signature.issuer ?? null }
        : null;
      if (JSON.stringify(got) !== JSON.stringify(request.expect.signer)) {
        throw new DropzoneError(
          "SIGNER_CHANGED",
          `Cannot install ${ref.input} as locked: signed by ${
            got?.identity ?? "nobody"
          }, the lockfile says ` +
            `${request.expect.signer?.identity ?? "unsigned"}`,
          { hint: "Do not trust this image until you know why its signer changed" },
        );
      }
    }
    const minAgeText = request.minAge ??
      deps.config.registries.find((r) => r.name === ref.registryName)?.min_release_age ??
      deps.config.min_release_age;
    if (minAgeText !== undefined) {
      checkReleaseAge({
        signedAt: verification.signature?.integratedTime,
        minAgeSeconds: parseAge(minAgeText),
        now: deps.now(),
        what: `${ref.input} (${shortDigest(image.digest)})`,
        minAgeText,
      });
    }
  } catch (err) {
    controller.abort();
    await Promise.allSettled(downloads);
    throw err;
  }

  if (previous && previous.digest !== image.digest) {
    deps.onEvent?.({
      type: "changelog",
      changelog: computeChangelog(previous.attestations, verification.attestations),
      from: previous.digest,
      to: image.digest,
    });
  }

  const staging = await makePackageStaging(layout, name);
  let committed = false;
  try {
    const rootfs = join(staging, ROOTFS_DIR);
    await unpackLayers({
      image,
      cache,
      downloads,
      rootfs,
      signal,
      ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
    });
    await Deno.writeFile(join(staging, IMAGE_CONFIG_FILE), image.configBytes);
    const plan = await planShim({
      rootfs,
      config: image.config,
      host,
      name: request.name ?? ref.packageName,
      extraBins,
    });
    const metadata = buildMetadata({
      name,
      image,
      plan,
      verification,
      decision,
      now: deps.now(),
      trustedSigner,
    });
    const { version } = await commitVersion(layout, name, staging, metadata);
    committed = true;
    deps.onEvent?.({ type: "committed", digest: image.digest });
    let dedupBytes = 0;
    if (previous && previous.digest !== image.digest) {
      const prevRootfs = join(layout.packages, name, previous.digest.replace(":", "-"), ROOTFS_DIR);
      dedupBytes =
        (await hardlinkDedup(prevRootfs, version.rootfs).catch(() => ({ bytesSaved: 0 }))).bytesSaved;
    }
    await activate(layout, name, image.digest);
    const wrappers = await writeWrappers(layout, name, plan, image.digest);
    await removeStaleWrappers(layout, previous, plan);
    const pruned = await prune(layout, name, { keep: deps.config.keep_versions });
    return { status: "installed", metadata, ...(previous ? { previous } : {}), wrappers, pruned, dedupBytes };
  } finally {
    if (!committed) {
      // Stop downloads still running for this failed install before removing its staging dir.
      controller.abort();
      await Promise.allSettled(downloads);
      await removeTree(staging).catch(() => {});
    }
  }
}
