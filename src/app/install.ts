/**
 * dz's main job: resolve → verify → pull → unpack → commit → wrapper. Layers download concurrently into the
 * content-addressed cache while the signature is verified; nothing is unpacked before verification passed and
 * nothing is visible before the final renames. A crash at any point leaves the previous version working.
 */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { onInterrupt } from "../interrupt.ts";
import type { Digest } from "../oci/digest.ts";
import { validatePackageName } from "../oci/reference.ts";
import { type ArtifactFile, chooseArtifactFile } from "../oci/artifact.ts";
import { stageArtifact, writeArtifactLinks } from "./artifact.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { Host } from "../runtime.ts";
import { parseBinSpec, planShim } from "../shim/plan.ts";
import { removeTree, removeTreeRetrying } from "../fs.ts";
import { openBlobCache } from "../store/blob_cache.ts";
import type { Config } from "../store/config.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import {
  exists,
  makePackageStaging,
  packageDir,
  readCurrent,
  readCurrentDigest,
  ROOTFS_DIR,
} from "../store/packages.ts";
import { rootfsProblem } from "../store/package_state.ts";
import type { TrustContext } from "../verify/verifier.ts";
import type { CosignPolicy } from "../verify/types.ts";
import { type Changelog, computeChangelog } from "./changelog.ts";
import {
  blameMirrors,
  type ResolvedImage,
  resolveImage,
  type Verification,
  verifyResolvedImage,
} from "./image.ts";
import { crossCheck } from "./cross_check.ts";
import { mark, span } from "../profile.ts";
import { checkArchiveIndex, type IndexEntry } from "./archive_index.ts";
import { discardFetchedLayers, discardSnapshots, removeEmptyPackageDir } from "./install_cleanup.ts";
import { fetchLayers, pullLayers, type RootfsBuild } from "./layers.ts";
import type { KnownFiles } from "../unpack/extract.ts";
import {
  checkResolvedDigest,
  gateUnchanged,
  type InstallPlan,
  planInstall,
  type PlanRequest,
} from "./install_plan.ts";
import { buildArtifactMetadata, buildMetadata, type MetadataInput } from "./install_metadata.ts";
import { commitNewVersion, stageVersionFiles } from "./install_commit.ts";
import { verifyAndGate } from "./install_gate.ts";
import { checkWrapperSlot, restoreWrappers, writeWrappers } from "./install_wrappers.ts";

// Moved to their own modules; re-exported so importers keep one entry point for install.
export { IMAGE_CONFIG_FILE } from "./install_image_config.ts";
export { planForVersion, restoreWrappers, writeWrappers } from "./install_wrappers.ts";
export { buildArtifactMetadata, buildMetadata } from "./install_metadata.ts";

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

/**
 * One install: the plan request (see install_plan.ts for what each field may decide). Every entry point that
 * installs (`install REF`, `install FILE.tar`, `install --locked`, `update`) builds one.
 */
export type InstallRequest = PlanRequest;

/** Archive evidence for the gate: `index.json` entries, and every manifest verification read (filled live). */
export interface ArchiveEvidence {
  readonly entries: readonly IndexEntry[];
  readonly consulted: ReadonlySet<Digest>;
}

/** The result of an install. */
export interface InstallOutcome {
  readonly status: "installed" | "unchanged";
  readonly metadata: PackageMetadata;
  readonly previous?: PackageMetadata;
  /** Wrapper paths written. */
  readonly wrappers: string[];
  readonly pruned: Digest[];
  /** Layer snapshots extracted for this install and reused from the snapshot store (absent when unchanged). */
  readonly layers?: RootfsBuild;
  /** Set when the same digest was installed but damaged (this problem) and has been unpacked again. */
  readonly repaired?: string;
}

/**
 * The artifact file to install (`--file`, else the installed version's title when it is still there, else by
 * name and platform), or undefined for a container image. Throws before anything is downloaded.
 */
function chooseFile(
  image: ResolvedImage,
  plan: InstallPlan,
  previous: PackageMetadata | undefined,
  hasExtraBins: boolean,
  file: string | undefined,
  host: Host,
): ArtifactFile | undefined {
  const what = plan.ref.input;
  if (image.kind !== "artifact") {
    if (file === undefined) return undefined;
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot use --file with ${what}: it is a container image`, {
      hint: "--file picks a file of an OCI artifact; for images use --bin PATH[:NAME]",
    });
  }
  if (hasExtraBins) {
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot use --bin with ${what}: it is an artifact`, {
      hint: "Choose the file to install with --file TITLE",
    });
  }
  // An update or --locked install has no --file: a file of the installed version's title still counts.
  const keep = file === undefined && previous?.kind === "artifact"
    ? image.files.find((f) => f.title === previous.artifact_file)?.title
    : undefined;
  const chosen = file ?? keep;
  return chooseArtifactFile(image.files, {
    packageName: plan.name,
    host,
    ...(chosen !== undefined ? { file: chosen } : {}),
    what,
  });
}

/** Plans and executes an install. Call it holding the store lock. */
export async function installPackage(
  deps: InstallDeps & { readonly archive?: ArchiveEvidence },
  request: InstallRequest,
): Promise<InstallOutcome> {
  const name = validatePackageName(request.name ?? request.ref.packageName);
  const installed = (await readCurrent(deps.layout, name))?.metadata ?? null;
  const plan = planInstall({ ...request, name }, { config: deps.config, installed });
  return await executeInstall(plan, deps);
}

/**
 * Executes a plan: resolve, verify while layers download, gate, unpack, commit, wrappers. A refusal or failure
 * before the commit leaves nothing behind (staging, the layer blobs it fetched, an empty package directory).
 * Call it holding the store lock.
 */
export async function executeInstall(
  plan: InstallPlan,
  deps: InstallDeps & { readonly archive?: ArchiveEvidence },
): Promise<InstallOutcome> {
  const { layout, client, host } = deps;
  const { ref, name } = plan;
  const extraBins = plan.bins.map(parseBinSpec);
  const previous = plan.replaces ?? undefined;
  const cache = openBlobCache(layout.blobs);
  mark("install-start");
  let end = span("resolve");
  const image = await resolveImage(ref, { client, host, ...(deps.signal ? { signal: deps.signal } : {}) });
  end();
  deps.onEvent?.({ type: "resolved", image });
  // A lockfile's (or a rollback's) digest is known before anything is pulled: refuse early.
  checkResolvedDigest(plan, image.digest);
  const top = image.index?.digest ?? image.digest;
  end = span("cross-check");
  const crossChecked = await crossCheck({
    client,
    ref,
    digest: top,
    locations: plan.crossCheck,
    signal: deps.signal,
  });
  end();

  // Reinstalling what is already current is a no-op (the Go tool deleted the live directory here)…
  // …unless its files are gone (a deleted rootfs): then it is unpacked again, from the cache or the registry.
  const damage = previous && previous.digest === image.digest ? await rootfsProblem(layout, previous) : null;
  if (previous && previous.digest === image.digest && extraBins.length === 0 && damage === null) {
    gateUnchanged(plan, previous);
    // An archive is judged as a whole even when its image is already installed: its index.json may have been
    // repointed, and "already installed" must not read as "this archive is fine".
    // Only the archive's own rule applies here: nothing is replaced, so continuity and cooldown have nothing new.
    if (deps.archive) {
      await verifyResolvedImage(image, {
        client,
        decision: plan.trust,
        loadTrust: deps.loadTrust,
        now: deps.now(),
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      checkArchiveIndex(deps.archive.entries, {
        verified: new Set([image.digest, ...(image.index ? [image.index.digest] : [])]),
        consulted: deps.archive.consulted,
      });
    }
    // …but a crash between activation and the wrapper write may have left a wrapper missing or stale: restore it.
    const wrappers = await restoreWrappers(layout, previous, host);
    return { status: "unchanged", metadata: previous, previous, wrappers, pruned: [] };
  }
  for (const wrapperName of [plan.name, ...extraBins.map((b) => b.name)]) {
    await checkWrapperSlot(layout, wrapperName, name);
  }
  // An artifact's file is chosen from the manifest (titles already checked); only that layer is downloaded.
  const artifact = chooseFile(image, plan, previous, extraBins.length > 0, plan.file ?? undefined, host);
  const pulled: ResolvedImage = artifact
    ? { ...image, manifest: { ...image.manifest, layers: [artifact.layer] } }
    : image;

  // Verification and layer downloads run together; unpacking waits for verification and the gate.
  const controller = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
  const fetched = new Set<Digest>();
  end = span("fetch-layers-start");
  const layers = artifact ? undefined : await fetchLayers(deps, image, cache, signal, { fetched });
  end();
  // An artifact's file is a plain blob, not a layer snapshot: download it into the cache as it is.
  const artifactDownloads = artifact ? pullLayers(deps, pulled, cache, signal, { fetched }) : [];
  // Keep rejections handled while we wait for verification.
  artifactDownloads.forEach((p) => p.catch(() => {}));
  let committed = false;
  let staging: string | undefined;
  // Interrupted before the commit: remove the staging dir and, for a first install, the package dir too.
  const firstInstall = !(await exists(packageDir(layout, name)));
  using _cleanup = onInterrupt(async () => {
    if (staging) await removeTreeRetrying(staging);
    if (firstInstall && (await readCurrentDigest(layout, name).catch(() => undefined)) === undefined) {
      await removeTreeRetrying(packageDir(layout, name));
    }
  });
  try {
    end = span("verify");
    const { verification, trustedSigner } = await verifyAndGate(plan, image, deps, {
      signal,
      ...(deps.archive ? { archive: deps.archive } : {}),
      onVerified: (verification) =>
        deps.onEvent?.(
          plan.trust.kind === "unsigned" ? { type: "unsigned" } : { type: "verified", verification },
        ),
    });
    end();

    if (previous && previous.digest !== image.digest) {
      deps.onEvent?.({
        type: "changelog",
        changelog: computeChangelog(previous.attestations, verification.attestations),
        from: previous.digest,
        to: image.digest,
      });
    }

    staging = await makePackageStaging(layout, name);
    const rootfs = join(staging, ROOTFS_DIR);
    const recorded: MetadataInput = {
      name,
      image,
      verification,
      unsigned: plan.trust.kind === "unsigned",
      now: deps.now(),
      trustedSigner,
      servedBy: client.servedBy?.(image.repo, image.digest) ?? null,
      crossChecked,
    };
    const version = {
      layout,
      name,
      staging,
      previous,
      replace: damage !== null,
      keep: deps.config.keep_versions,
      rollback: plan.origin === "rollback",
      onCommitted: (digest: Digest) => {
        committed = true;
        deps.onEvent?.({ type: "committed", digest });
      },
    };
    const outcome = {
      status: "installed" as const,
      ...(previous ? { previous } : {}),
      ...(damage !== null ? { repaired: damage } : {}),
    };
    if (artifact) {
      await Promise.all(artifactDownloads);
      signal.throwIfAborted();
      const link = await stageArtifact({ file: artifact, cache, rootfs, name: plan.name, host });
      signal.throwIfAborted();
      await stageVersionFiles(staging, rootfs, image.configBytes);
      const metadata = buildArtifactMetadata({ ...recorded, file: artifact, link });
      const { wrappers, pruned } = await commitNewVersion({
        ...version,
        metadata,
        writeBins: () => writeArtifactLinks(layout, metadata),
      });
      return { ...outcome, metadata, wrappers, pruned };
    }
    end = span("compose");
    const known: KnownFiles = new Map();
    const built = await layers!.build(rootfs, { scratch: staging, signal, known });
    end();
    signal.throwIfAborted();
    end = span("files-manifest");
    await stageVersionFiles(staging, rootfs, image.configBytes, known);
    end();
    end = span("commit");
    const shim = await planShim({ rootfs, config: image.config, host, name: plan.name, extraBins });
    const metadata = buildMetadata({ ...recorded, plan: shim });
    signal.throwIfAborted();
    const { wrappers, pruned } = await commitNewVersion({
      ...version,
      metadata,
      writeBins: () => writeWrappers(layout, name, shim, image.digest),
    });
    end();
    return { ...outcome, metadata, wrappers, pruned, layers: built };
  } catch (err) {
    // A gate refusing what a mirror served (signer change, downgrade, cooldown) names the mirror too.
    throw blameMirrors(err, client, image.repo);
  } finally {
    if (!committed) {
      // Stop downloads still running for this failed install, then remove everything it left.
      controller.abort();
      await layers?.settle();
      await Promise.allSettled(artifactDownloads);
      if (staging) await removeTree(staging).catch(() => {});
      await discardFetchedLayers(layout, cache, fetched).catch(() => []);
      if (layers) await discardSnapshots(layout, layers.extracted).catch(() => []);
      if (!previous) await removeEmptyPackageDir(layout, name);
    }
  }
}
