/**
 * Installing a binary published as an OCI artifact: the chosen file (or the binary inside a release archive,
 * unpacked with the safe unpacker) is staged into the version's rootfs, checked to run on the host, and linked
 * into `bin/` as it is. Used by install (after verification), rollback and doctor.
 */
import { join, posix, relative } from "node:path";
import { DropzoneError } from "../errors.ts";
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
import { openLayer } from "../unpack/layer.ts";

/** At most this many files of a release archive are considered when looking for the binary. */
const MAX_ARCHIVE_FILES = 10_000;

/** Writes one cached blob to `path` (new file, mode 0755). The cache verified its digest when it stored it. */
async function writeBlobFile(cache: BlobCache, file: ArtifactFile, path: string): Promise<void> {
  const out = await Deno.open(path, { write: true, createNew: true, mode: 0o755 });
  try {
    await (await cache.open(file.layer.digest)).pipeTo(out.writable);
  } catch (err) {
    try {
      out.close();
    } catch { /* closed by pipeTo */ }
    throw err;
  }
  await Deno.chmod(path, 0o755);
}

/** Regular files below `root` as rootfs-absolute paths, with their modes (symlinks are never followed). */
async function listFiles(root: string): Promise<{ path: string; mode: number }[]> {
  const out: { path: string; mode: number }[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const full = join(dir, entry.name);
      if (entry.isDirectory) await walk(full);
      else if (entry.isFile) {
        if (out.length >= MAX_ARCHIVE_FILES) return;
        out.push({ path: "/" + relative(root, full), mode: (await Deno.lstat(full)).mode ?? 0 });
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => a.path.localeCompare(b.path));
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
  await Deno.mkdir(rootfs);
  let path: string;
  if (file.archive === "none") {
    path = "/" + file.title;
    await writeBlobFile(cache, file, join(rootfs, file.title));
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
    const mode = (await Deno.lstat(join(rootfs, path))).mode ?? 0o644;
    await Deno.chmod(join(rootfs, path), (mode & 0o7777) | 0o555);
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

/** Writes the links of an artifact version (whatever is there now); returns the link paths. */
export async function writeArtifactLinks(layout: StoreLayout, meta: PackageMetadata): Promise<string[]> {
  const written: string[] = [];
  for (const link of artifactLinks(layout, meta)) {
    await writeLink(layout.bin, link.name, link.target, meta.name);
    written.push(link.path);
  }
  return written;
}

/** Rewrites the links of an artifact version that are missing or point elsewhere; returns those rewritten. */
export async function restoreArtifactLinks(layout: StoreLayout, meta: PackageMetadata): Promise<string[]> {
  const written: string[] = [];
  for (const link of artifactLinks(layout, meta)) {
    if ((await readLinkAt(link.path)) === link.target) continue;
    await writeLink(layout.bin, link.name, link.target, meta.name);
    written.push(link.path);
  }
  return written;
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
