/**
 * `dz pull REF -o DIR`: a verified download. The reference goes through the same plan and gate as install
 * (`planInstall`/`gateVerified` with origin "pull": policy, consent, cooldown, attestation gates, the pin of an
 * installed package of that name and source) and the same verification, then an artifact's files (each named by its
 * checked title, its digest checked by the blob cache) or an image's unpacked rootfs (`DIR/rootfs`, the same safe
 * unpacker) are staged in a sibling temp dir and renamed into DIR, with `DIR/dz-pull.json` as the receipt. Nothing
 * is written to DIR before verification passed.
 */
import { basename, dirname, join } from "node:path";
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { ResolvedReference } from "../oci/reference.ts";
import { makeStagingDir, removeTree } from "../fs.ts";
import { listDir, lstatOrNull, makeDir, removeIfEmpty, rename, setMode, writeNewFile } from "../file_ops.ts";
import { openBlobCache } from "../store/blob_cache.ts";
import { signatureRecord } from "../store/metadata.ts";
import { readCurrent } from "../store/packages.ts";
import { blameMirrors, type ResolvedImage, resolveImage, type Verification } from "./image.ts";
import type { InstallDeps } from "./install.ts";
import { pullLayers } from "./layers.ts";
import { shortDigest } from "../oci/digest.ts";
import type { BlobCache } from "../store/blob_cache.ts";
import { applyLayer, createRootfsState, finalizeRootfs } from "../unpack/extract.ts";
import { openLayer } from "../unpack/layer.ts";
import { discardFetchedLayers } from "./install_cleanup.ts";
import { planInstall } from "./install_plan.ts";
import { verifyAndGate } from "./install_gate.ts";

/** The receipt file written into DIR. */
export const PULL_RECORD_FILE = "dz-pull.json";

/** `DIR/dz-pull.json` (and `dz pull --json`). Fields are only ever added. */
export interface PullRecord {
  readonly version: 1;
  /** "artifact": files as layers, written as DIR/<title>. "image": the rootfs in DIR/rootfs. */
  readonly kind: "artifact" | "image";
  /** The reference as typed, and the host/repository it resolved to. */
  readonly reference: string;
  readonly source: string;
  /** The tag read (after the `TAG-<arch>-<os>` fallback), or null for a digest reference. */
  readonly tag: string | null;
  readonly digest: Digest;
  readonly index_digest: Digest | null;
  readonly platform: string;
  /** Artifact files written (name = title) or image layers unpacked, each with its checked digest. */
  readonly files: { name: string; digest: Digest; size: number; media_type: string }[];
  readonly layers: { digest: Digest; size: number; media_type: string }[];
  /** The verified signer (as in metadata.json `signature`), or null for an unsigned pull. */
  readonly signer: ReturnType<typeof signatureRecord> | null;
  readonly allow_unsigned: boolean;
  readonly pulled_at: string;
}

/** One pull. */
export interface PullRequest {
  readonly ref: ResolvedReference;
  readonly dir: string;
  readonly allowUnsigned?: boolean;
  /** Write into an existing non-empty DIR, replacing entries of the same name (other entries are kept). */
  readonly force?: boolean;
  readonly minAge?: string;
}

/** The result of a pull. */
export interface PullOutcome {
  readonly record: PullRecord;
  readonly verification: Verification;
  /** Paths written inside DIR. */
  readonly written: string[];
}

async function entriesOf(dir: string): Promise<string[] | null> {
  const names = await listDir(dir);
  if (names === "not-a-directory") {
    throw new DropzoneError("NAME_CONFLICT", `Cannot pull into "${dir}": it is not a directory`, {
      hint: "Pass a directory path to -o",
    });
  }
  return names;
}

/** Refuses an existing non-empty DIR unless forced (checked first, and again just before the rename). */
async function checkTarget(dir: string, force: boolean): Promise<void> {
  const entries = await entriesOf(dir);
  if (entries !== null && entries.length > 0 && !force) {
    throw new DropzoneError("NAME_CONFLICT", `Cannot pull into "${dir}": it exists and is not empty`, {
      hint:
        "Choose a new directory, or pass --force to write into it (entries of the same name are replaced)",
    });
  }
}

function buildRecord(
  image: ResolvedImage,
  verification: Verification,
  allowUnsigned: boolean,
  now: Date,
): PullRecord {
  const layers = image.manifest.layers.map((l) => ({
    digest: l.digest,
    size: l.size,
    media_type: l.mediaType,
  }));
  return {
    version: 1,
    kind: image.kind,
    reference: image.ref.input,
    source: `${image.ref.host}/${image.ref.repository}`,
    tag: image.ref.tag ?? null,
    digest: image.digest,
    index_digest: image.index?.digest ?? null,
    platform: image.platform,
    files: image.files.map((f) => ({
      name: f.title,
      digest: f.layer.digest,
      size: f.layer.size,
      media_type: f.layer.mediaType,
    })),
    layers,
    signer: verification.signature ? signatureRecord(verification.signature, now) : null,
    allow_unsigned: allowUnsigned,
    pulled_at: now.toISOString(),
  };
}

/** Moves every staged entry into DIR (created when missing); same-named entries are replaced. */
async function moveIntoPlace(staging: string, dir: string, force: boolean): Promise<string[]> {
  await checkTarget(dir, force);
  const present = await entriesOf(dir);
  if (present === null || present.length === 0) {
    await removeIfEmpty(dir);
    await rename(staging, dir);
    return (await entriesOf(dir))!.map((n) => join(dir, n));
  }
  const written: string[] = [];
  // The receipt last, so a DIR with a dz-pull.json naming these digests holds all of them.
  const names = (await entriesOf(staging))!.sort((a, b) =>
    Number(a === PULL_RECORD_FILE) - Number(b === PULL_RECORD_FILE)
  );
  for (const name of names) {
    const to = join(dir, name);
    if ((await lstatOrNull(to))?.isDirectory) await rename(to, join(staging, `.old-${name}`));
    await rename(join(staging, name), to);
    written.push(to);
  }
  await removeTree(staging);
  return written;
}

/**
 * Unpacks the image's layers in order into `rootfs` with the safe unpacker, as independent files: a pulled
 * rootfs leaves dz's home, so it never shares inodes with the layer snapshot store.
 */
async function unpackInto(
  rootfs: string,
  image: ResolvedImage,
  cache: BlobCache,
  downloads: readonly Promise<void>[],
  signal: AbortSignal,
  onEvent: InstallDeps["onEvent"],
): Promise<void> {
  await makeDir(rootfs);
  const state = createRootfsState();
  const layers = image.manifest.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    await downloads[i];
    signal.throwIfAborted();
    onEvent?.({ type: "unpack", index: i, total: layers.length, digest: layer.digest });
    const tar = openLayer(await cache.open(layer.digest), layer.mediaType);
    await applyLayer(tar, rootfs, { state, label: shortDigest(layer.digest), signal });
  }
  await finalizeRootfs(rootfs, state);
}

/** Resolves, verifies and writes `request.ref` into `request.dir`. Call it holding the store lock (blob cache). */
export async function pullToDirectory(deps: InstallDeps, request: PullRequest): Promise<PullOutcome> {
  const { layout, client, host } = deps;
  const ref = request.ref;
  const force = request.force === true;
  await checkTarget(request.dir, force);
  const installed = (await readCurrent(layout, ref.packageName).catch(() => undefined))?.metadata ?? null;
  const plan = planInstall({
    origin: "pull",
    ref,
    allowUnsigned: request.allowUnsigned === true,
    ...(request.minAge !== undefined ? { minAge: request.minAge } : {}),
  }, { config: deps.config, installed });
  const decision = plan.trust;
  const image = await resolveImage(ref, { client, host, ...(deps.signal ? { signal: deps.signal } : {}) });
  deps.onEvent?.({ type: "resolved", image });

  const cache = openBlobCache(layout.blobs);
  const controller = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, controller.signal]) : controller.signal;
  const fetched = new Set<Digest>();
  const downloads = pullLayers(deps, image, cache, signal, { fetched });
  downloads.forEach((p) => p.catch(() => {}));
  let verification: Verification;
  try {
    ({ verification } = await verifyAndGate(plan, image, deps, { signal }));
  } catch (err) {
    controller.abort();
    await Promise.allSettled(downloads);
    await discardFetchedLayers(layout, cache, fetched).catch(() => []);
    throw blameMirrors(err, client, image.repo);
  }
  deps.onEvent?.(decision.kind === "unsigned" ? { type: "unsigned" } : { type: "verified", verification });

  const staging = await makeStagingDir(dirname(request.dir), `.dz-pull-${basename(request.dir)}-`);
  let moved = false;
  try {
    // A staging directory is created 0700; DIR is an ordinary directory once it is in place.
    await setMode(staging, 0o755);
    if (image.kind === "artifact") {
      for (let i = 0; i < image.files.length; i++) {
        await downloads[i];
        const file = image.files[i]!;
        // Titles were checked when the manifest was read; createNew also refuses anything already there.
        await writeNewFile(join(staging, file.title), await cache.open(file.layer.digest), { mode: 0o644 });
      }
    } else {
      await unpackInto(join(staging, "rootfs"), image, cache, downloads, signal, deps.onEvent);
    }
    const record = buildRecord(image, verification, decision.kind === "unsigned", deps.now());
    await writeNewFile(join(staging, PULL_RECORD_FILE), JSON.stringify(record, null, 2) + "\n");
    const written = await moveIntoPlace(staging, request.dir, force);
    moved = true;
    return { record, verification, written };
  } finally {
    if (!moved) {
      controller.abort();
      await Promise.allSettled(downloads);
      await removeTree(staging).catch(() => {});
    }
  }
}
