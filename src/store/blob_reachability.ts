/**
 * Which cached blobs are still in use (for `dz gc` and doctor's unreferenced-blob findings): the blobs of every
 * complete installed version plus the signature and attestation artifacts the recording client kept for them.
 */
import { join } from "node:path";
import { DropzoneError } from "../errors.ts";
import { readTextIfExists } from "../fs.ts";
import { readDirSortedOrEmpty } from "../file_ops.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { splitRegistryUrl } from "../oci/reference.ts";
import { fileRefStore, type RefRecord } from "../registry/caching_client.ts";
import { refKeySubject, refSubject } from "../registry/ref_keys.ts";
import { openBlobCache } from "./blob_cache.ts";
import type { StoreLayout } from "./layout.ts";
import { listVersions } from "./packages.ts";

/** The directory of the recorded tag resolutions and referrer lists (`fileRefStore`). */
export function refRecordsDir(layout: StoreLayout): string {
  return join(layout.cache, "refs");
}

/**
 * Every blob an installed version references: layers, config, platform manifest and index of every complete
 * version of every package (previous versions too: rollback and offline reinstall need them), plus the
 * signature and attestation artifacts recorded for those digests in `cache/refs` (legacy `sha256-<hex>.sig`/
 * `.att` tags and referrer lists) with their config and layers, so an offline reinstall can still re-verify.
 */
export async function referencedBlobs(layout: StoreLayout): Promise<Set<Digest>> {
  const referenced = new Set<Digest>();
  const subjects = new Set<string>(); // refSubject(repo, digest) of every digest a signature may be about
  for (const entry of await readDirSortedOrEmpty(layout.packages)) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    let versions;
    try {
      versions = await listVersions(layout, entry.name);
    } catch (err) {
      if (err instanceof DropzoneError) continue;
      throw err;
    }
    for (const v of versions) {
      if (!v.complete || !v.metadata) continue;
      const m = v.metadata;
      // The host the install's client used (and so the recording client keyed its records by): the configured
      // URL's host in its canonical spelling, as reference resolution derives it (Docker Hub aliases, scheme).
      const repo = { registry: splitRegistryUrl(m.registry.url).host, repository: m.repository };
      for (const d of [m.digest, m.config_digest, ...m.layers]) referenced.add(d);
      for (const d of [m.digest, m.index_digest, m.signature?.signed_digest ?? null]) {
        if (d === null) continue;
        referenced.add(d);
        subjects.add(refSubject(repo, d));
      }
    }
  }
  const records = await fileRefStore(refRecordsDir(layout)).list();
  for (const d of await signatureArtifacts(layout, records, subjects)) referenced.add(d);
  return referenced;
}

/**
 * The artifact manifests that `records` name for `subjects`, and their config and layers (signature payloads,
 * bundles), which re-verification needs. A manifest missing from the cache or unreadable contributes only
 * itself.
 */
export async function signatureArtifacts(
  layout: StoreLayout,
  records: readonly RefRecord[],
  subjects: ReadonlySet<string>,
): Promise<Set<Digest>> {
  const found = new Set<Digest>();
  const manifests: Digest[] = [];
  const add = (d: Digest | undefined) => {
    if (d !== undefined && !found.has(d)) {
      found.add(d);
      manifests.push(d);
    }
  };
  for (const record of records) {
    const subject = refKeySubject(record.key);
    if (subject === null || !subjects.has(subject)) continue;
    add(record.digest);
    for (const r of record.referrers ?? []) add(r.digest);
  }
  const blobs = openBlobCache(layout.blobs);
  for (const digest of manifests) {
    let doc: { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
    try {
      doc = JSON.parse((await readTextIfExists(blobs.pathOf(digest))) ?? "");
    } catch {
      continue; // not cached, unreadable or not JSON: nothing more to keep for it
    }
    const children = [
      doc?.config?.digest,
      ...(Array.isArray(doc?.layers) ? doc.layers : []).map((l) => l?.digest),
    ];
    for (const d of children) if (typeof d === "string" && isDigest(d)) found.add(d);
  }
  return found;
}
