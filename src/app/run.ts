/**
 * `dz run`: verify, pull into the cache and run an image once without installing it (like `uvx`). The unpacked
 * rootfs is kept under `cache/run/<digest>/` so the next run of the same digest starts at once; an installed
 * package with the same digest is used directly.
 */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { onInterrupt } from "../interrupt.ts";
import { digestToDirName } from "../oci/digest.ts";
import type { ResolvedReference } from "../oci/reference.ts";
import { planShim } from "../shim/plan.ts";
import { renderWrapper } from "../shim/wrapper.ts";
import { exists, removeTree, removeTreeRetrying } from "../fs.ts";
import { openBlobCache } from "../store/blob_cache.ts";
import {
  checkFiles,
  type FileCheck,
  isIntact,
  manifestOfTree,
  readFileManifest,
  writeFileManifest,
} from "../store/file_manifest.ts";
import { listPackages, readCurrent, ROOTFS_DIR } from "../store/packages.ts";
import { resolveImage, verifyResolvedImage } from "./image.ts";
import { gateVerified, planInstall } from "./install_plan.ts";
import { IMAGE_CONFIG_FILE, type InstallDeps, planForVersion } from "./install.ts";
import { fetchLayers } from "./layers.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { Host } from "../runtime.ts";
import type { KnownFiles } from "../unpack/extract.ts";

/** A runnable script for an image: the wrapper text plus where it came from. */
export interface PreparedRun {
  /** POSIX sh wrapper that execs the image's entrypoint. */
  readonly script: string;
  readonly source: "installed" | "cache" | "fresh";
  readonly digest: string;
  /** Why the cached tree was not reused (its files no longer match their manifest) and was unpacked again. */
  readonly discarded?: string;
}

/** Where `dz run` keeps unpacked images: cache/run/sha256-<hex>/current/{rootfs,image-config.json}. */
export function runCacheDir(cacheDir: string): string {
  return join(cacheDir, "run");
}

/**
 * The script that runs an installed package's current version, exactly as its wrapper would: no network, no
 * re-verification (it was verified when installed), nothing written.
 */
export async function prepareInstalledRun(
  layout: StoreLayout,
  meta: PackageMetadata,
  host: Host,
): Promise<PreparedRun> {
  const plan = await planForVersion(layout, meta, host);
  return {
    script: renderWrapper(plan, { packagesDir: layout.packages, name: meta.name, digest: meta.digest }),
    source: "installed",
    digest: meta.digest,
  };
}

/** What `dz run` was asked: the reference and the flags that feed the plan. */
export interface RunRequest {
  readonly ref: ResolvedReference;
  readonly allowUnsigned?: boolean;
  readonly acceptNewSigner?: boolean;
  readonly minAge?: string;
}

/**
 * Resolves, verifies and unpacks (or reuses) an image and returns the wrapper script that runs it. It goes
 * through the install plan and gate (origin "run"): policy and consent, attestation gates, `min_release_age`,
 * and the signer pin of an installed package of the same name and source.
 */
export async function prepareRun(deps: InstallDeps, request: RunRequest): Promise<PreparedRun> {
  const { layout, client, host } = deps;
  const name = request.ref.packageName;
  const related = (await readCurrent(layout, name).catch(() => undefined))?.metadata ?? null;
  const trustPlan = planInstall({
    origin: "run",
    ref: request.ref,
    name,
    allowUnsigned: request.allowUnsigned === true,
    acceptNewSigner: request.acceptNewSigner === true,
    ...(request.minAge !== undefined ? { minAge: request.minAge } : {}),
  }, { config: deps.config, installed: related });
  const decision = trustPlan.trust;
  const image = await resolveImage(request.ref, {
    client,
    host,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  deps.onEvent?.({ type: "resolved", image });
  if (image.kind === "artifact") {
    // An artifact has no entrypoint or rootfs to run; its file is what `dz install` links or `dz pull` writes.
    throw new DropzoneError(
      "UNSUPPORTED_MEDIA_TYPE",
      `Cannot run ${request.ref.input}: it is an OCI artifact`,
      {
        hint: `Install its binary with "dz install ${request.ref.input}", or download it with "dz pull"`,
      },
    );
  }
  // Verification always runs, even when a copy is at hand: `dz run` must never run what the policy rejects.
  const verification = await verifyResolvedImage(image, {
    client,
    decision,
    loadTrust: deps.loadTrust,
    now: deps.now(),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  gateVerified(
    trustPlan,
    { digest: image.digest, indexDigest: image.index?.digest ?? null, verification },
    deps.now(),
  );
  deps.onEvent?.(decision.kind === "unsigned" ? { type: "unsigned" } : { type: "verified", verification });

  const installed = (await listPackages(layout)).find((v) => v.digest === image.digest);
  if (installed) {
    const plan = await planShim({ rootfs: installed.rootfs, config: image.config, host, name });
    return {
      script: renderWrapper(plan, {
        packagesDir: layout.packages,
        name: installed.name,
        digest: image.digest,
      }),
      source: "installed",
      digest: image.digest,
    };
  }

  const base = runCacheDir(layout.cache);
  const dirName = digestToDirName(image.digest);
  const done = join(base, dirName, "current");
  let source: PreparedRun["source"] = "cache";
  // A cached tree is reused only when it still matches the manifest recorded when it was unpacked.
  let discarded: string | undefined;
  if (await exists(join(done, IMAGE_CONFIG_FILE))) {
    const files = await readFileManifest(done).catch(() => undefined);
    const check = files ? await checkFiles(join(done, ROOTFS_DIR), files) : undefined;
    if (check === undefined) discarded = "it has no readable file manifest";
    else if (!isIntact(check)) discarded = describeFileCheck(check);
  }
  if (discarded !== undefined || !(await exists(join(done, IMAGE_CONFIG_FILE)))) {
    source = "fresh";
    const cache = openBlobCache(layout.blobs);
    const controller = new AbortController();
    const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
    const layers = await fetchLayers(deps, image, cache, signal);
    await Deno.mkdir(join(base, dirName), { recursive: true });
    const staging = await Deno.makeTempDir({ dir: join(base, dirName), prefix: ".staging-" });
    using _cleanup = onInterrupt(() => removeTreeRetrying(staging));
    try {
      const known: KnownFiles = new Map();
      await layers.build(join(staging, ROOTFS_DIR), { scratch: staging, signal, known });
      signal.throwIfAborted();
      await writeFileManifest(staging, await manifestOfTree(join(staging, ROOTFS_DIR), known));
      // The config is written last: its presence marks a complete unpack.
      await Deno.writeFile(join(staging, IMAGE_CONFIG_FILE), image.configBytes);
      await removeTree(done);
      await Deno.rename(staging, done);
    } finally {
      controller.abort();
      await layers.settle();
      await removeTree(staging).catch(() => {});
    }
  }
  const plan = await planShim({ rootfs: join(done, ROOTFS_DIR), config: image.config, host, name });
  return {
    script: renderWrapper(plan, { packagesDir: base, name: dirName, digest: image.digest }),
    source,
    digest: image.digest,
    ...(discarded !== undefined ? { discarded } : {}),
  };
}

/** "2 modified, 1 missing, 0 extra file(s) (usr/bin/jq, …)". Pure. */
export function describeFileCheck(check: FileCheck): string {
  const paths = [...check.modified.map((m) => m.path), ...check.missing, ...check.extra];
  const shown = paths.slice(0, 3).join(", ") + (paths.length > 3 ? ", …" : "");
  return `${check.modified.length} modified, ${check.missing.length} missing, ${check.extra.length} extra ` +
    `file(s) (${shown})`;
}
