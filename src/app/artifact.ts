/**
 * Installing a binary published as an OCI artifact: the chosen file (or the binary inside a release archive,
 * unpacked with the safe unpacker) is staged into the version's rootfs, checked to run on the host, and linked
 * into `bin/` as it is. Used by install (after verification), rollback and doctor.
 */
import { join, posix } from "node:path";
import { DropzoneError } from "../errors.ts";
import { listRegularFiles, lstatOrNull, makeDir, setMode, writeNewFile } from "../file_ops.ts";
import { shortDigest } from "../oci/digest.ts";
import { type ArtifactFile, pickByName, quoteTitle } from "../oci/artifact.ts";
import { MEDIA_TYPES } from "../oci/media_types.ts";
import type { Host } from "../runtime.ts";
import { type LinkPlan, linkTarget, planLink, readLinkAt } from "../shim/link.ts";
import { writeLink } from "../shim/write.ts";
import type { BlobCache } from "../store/blob_cache.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { ROOTFS_DIR } from "../store/packages.ts";
import { applyLayer, createRootfsState, finalizeRootfs } from "../unpack/extract.ts";
import { type BinEntry, writeBinEntries } from "./bin_entries.ts";
import { openLayer } from "../unpack/layer.ts";

/** At most this many files of a release archive are considered when looking for the binary. */
const MAX_ARCHIVE_FILES = 10_000;

/** Regular files below `root` as rootfs-absolute paths, with their modes (symlinks are never followed). */
async function listFiles(root: string): Promise<{ path: string; mode: number }[]> {
  return (await listRegularFiles(root, MAX_ARCHIVE_FILES)).map((f) => ({ path: "/" + f.path, mode: f.mode }));
}

/** The binary inside an unpacked release archive: by name among executables (else all files). */
async function findInArchive(rootfs: string, file: ArtifactFile, name: string, host: Host): Promise<string> {
  const files = await listFiles(rootfs);
  const executables = files.filter((f) => (f.mode & 0o111) !== 0);
  const pool = executables.length > 0 ? executables : files;
  const pick = pickByName(pool.map((f) => posix.basename(f.path)), name, host);
  if ("index" in pick) return pool[pick.index]!.path;
  throw new DropzoneError(
    "ENTRYPOINT",
    `Cannot choose the executable in ${quoteTitle(file.title)}: ${
      pick.problem.replace(/\(.*\)$/, `(${pool.slice(0, 20).map((f) => quoteTitle(f.path)).join(", ")})`)
    }`,
    { hint: "Install it under the binary's name with --name NAME" },
  );
}

/**
 * Stages the chosen artifact file into `rootfs` (created here) and returns the link plan for it. Call it only
 * after verification passed and the layer is in the cache.
 */
export async function stageArtifact(input: {
  file: ArtifactFile;
  cache: BlobCache;
  rootfs: string;
  name: string;
  host: Host;
}): Promise<LinkPlan> {
  const { file, cache, rootfs, name, host } = input;
  await makeDir(rootfs);
  let path: string;
  if (file.archive === "none") {
    path = "/" + file.title;
    // A new file, mode 0755; the cache verified the blob's digest when it stored it.
    await writeNewFile(join(rootfs, file.title), await cache.open(file.layer.digest), { mode: 0o755 });
  } else {
    // Publishers label archives with whatever media type; the title says what it is.
    const mediaType = file.archive === "tar+gzip" ? MEDIA_TYPES.OCI_LAYER_GZIP : MEDIA_TYPES.OCI_LAYER;
    const state = createRootfsState();
    await applyLayer(openLayer(await cache.open(file.layer.digest), mediaType), rootfs, {
      state,
      label: `${shortDigest(file.layer.digest)} (${quoteTitle(file.title)})`,
    });
    await finalizeRootfs(rootfs, state);
    path = await findInArchive(rootfs, file, name, host);
    const mode = (await lstatOrNull(join(rootfs, path)))?.mode ?? 0o644;
    await setMode(join(rootfs, path), (mode & 0o7777) | 0o555);
  }
  return await planLink({ rootfs, path, host, name });
}

/** The link path and target of every bin of an artifact version. Pure. */
export function artifactLinks(
  layout: StoreLayout,
  meta: Pick<PackageMetadata, "name" | "bins">,
): { name: string; path: string; target: string }[] {
  return meta.bins.map((b) => ({
    name: b.name,
    path: join(layout.bin, b.name),
    target: linkTarget(layout.packages, meta.name, b.path),
  }));
}

/** The `bin/` links of an artifact version, to write or restore. */
function linkEntries(layout: StoreLayout, meta: PackageMetadata): BinEntry[] {
  return artifactLinks(layout, meta).map((link) => ({
    path: link.path,
    write: () => writeLink(layout.bin, link.name, link.target, meta.name),
    isCurrent: async () => (await readLinkAt(link.path)) === link.target,
  }));
}

/** Writes the links of an artifact version (whatever is there now); returns the link paths. */
export async function writeArtifactLinks(layout: StoreLayout, meta: PackageMetadata): Promise<string[]> {
  return await writeBinEntries(linkEntries(layout, meta));
}

/** Rewrites the links of an artifact version that are missing or point elsewhere; returns those rewritten. */
export async function restoreArtifactLinks(layout: StoreLayout, meta: PackageMetadata): Promise<string[]> {
  return await writeBinEntries(linkEntries(layout, meta), { onlyChanged: true });
}

/** Checks an installed artifact version can still run here (rollback plans before it flips anything). */
export async function planInstalledArtifact(
  layout: StoreLayout,
  meta: PackageMetadata,
  host: Host,
): Promise<LinkPlan[]> {
  const rootfs = join(layout.packages, meta.name, meta.digest.replace(":", "-"), ROOTFS_DIR);
  return await Promise.all(meta.bins.map((b) => planLink({ rootfs, path: b.path, host, name: b.name })));
}
