/**
 * A RegistryClient decorator that records what an online run reads — manifests and small blobs by digest in the
 * content-addressed cache, tag → digest resolutions and referrer lists in `cache/refs/` — and an offline client
 * that replays only those records. An offline install therefore re-verifies signatures from the same signed
 * bytes it verified online, with no network at all; nothing is trusted because it was cached.
 */
import { join } from "node:path";
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { type Digest, isDigest, sha256Digest, toHex } from "../oci/digest.ts";
import { type Descriptor, parseManifest } from "../oci/manifest.ts";
import { writeJsonAtomic } from "../fs.ts";
import { readDirSortedOrEmpty } from "../file_ops.ts";
import { isCosignTag, referrersKey, tagKey } from "./ref_keys.ts";
import type { FetchedManifest, ManifestHead, RegistryClient } from "./types.ts";

/**
 * The content-addressed cache the recording client fills and the offline client reads. store/blob_cache.ts
 * implements it; declaring it here keeps registry/ below store/ in the layer order.
 */
export interface ContentCache {
  has(digest: Digest): Promise<boolean>;
  /** A stream of the blob; only called after `has` said yes. */
  open(digest: Digest): Promise<ReadableStream<Uint8Array>>;
  /** Stores `stream` under `digest`, verifying sha256 and size. */
  putStream(digest: Digest, size: number, stream: ReadableStream<Uint8Array>): Promise<unknown>;
}

/** One recorded resolution (keys: see ref_keys.ts). */
export interface RefRecord {
  readonly key: string;
  readonly digest?: Digest;
  readonly mediaType?: string;
  readonly referrers?: Descriptor[];
  readonly at: string;
}

/** Where tag resolutions and referrer lists are recorded. */
export interface RefStore {
  get(key: string): Promise<RefRecord | undefined>;
  put(record: RefRecord): Promise<void>;
}

async function keyFile(dir: string, key: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return join(dir, `${toHex(hash)}.json`);
}

/** A RefStore of small JSON files, one per key, under `dir`; `list` reads them all (gc's reachability). */
export interface FileRefStore extends RefStore {
  /** Every readable record, in file-name order; a damaged or foreign file is skipped. */
  list(): Promise<RefRecord[]>;
}

/** A RefStore of small JSON files (atomic writes) under `dir`. */
export function fileRefStore(dir: string): FileRefStore {
  return {
    async get(key) {
      try {
        const record = JSON.parse(await Deno.readTextFile(await keyFile(dir, key))) as RefRecord;
        return record.key === key ? record : undefined;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound || err instanceof SyntaxError) return undefined;
        throw err;
      }
    },
    async put(record) {
      await Deno.mkdir(dir, { recursive: true });
      await writeJsonAtomic(await keyFile(dir, record.key), record);
    },
    async list() {
      const records: RefRecord[] = [];
      for (const entry of await readDirSortedOrEmpty(dir)) {
        if (!entry.isFile || !entry.name.endsWith(".json")) continue;
        let record: unknown;
        try {
          record = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
        } catch {
          continue; // half-written by a killed dz, or not ours: it records nothing
        }
        const parsed = asRefRecord(record);
        if (parsed) records.push(parsed);
      }
      return records;
    },
  };
}

/**
 * A parsed file as a record, or null without a string key. Digests that are not digests are dropped, not the
 * record: what a record still names stays reachable.
 */
function asRefRecord(value: unknown): RefRecord | null {
  const r = value as
    | { key?: unknown; digest?: unknown; mediaType?: unknown; referrers?: unknown; at?: unknown }
    | null;
  if (typeof r !== "object" || r === null || typeof r.key !== "string") return null;
  const digestOf = (v: unknown): Digest | undefined => typeof v === "string" && isDigest(v) ? v : undefined;
  const digest = digestOf(r.digest);
  const referrers = Array.isArray(r.referrers)
    ? r.referrers.filter((d) => digestOf((d as { digest?: unknown } | null)?.digest) !== undefined)
    : undefined;
  return {
    key: r.key,
    at: typeof r.at === "string" ? r.at : "",
    ...(digest ? { digest } : {}),
    ...(typeof r.mediaType === "string" ? { mediaType: r.mediaType } : {}),
    ...(referrers ? { referrers: referrers as Descriptor[] } : {}),
  };
}

async function store(cache: ContentCache, digest: Digest, bytes: Uint8Array): Promise<void> {
  if (await cache.has(digest)) return;
  await cache.putStream(digest, bytes.length, ReadableStream.from([bytes])).catch(() => false);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Every method of `inner`, bound to it: what a decorator starts from before it overrides some of them. */
export function forwardingClient(inner: RegistryClient): RegistryClient {
  return {
    ...inner,
    ping: inner.ping.bind(inner),
    getManifest: inner.getManifest.bind(inner),
    headManifest: inner.headManifest.bind(inner),
    getBlob: inner.getBlob.bind(inner),
    getBlobBytes: inner.getBlobBytes.bind(inner),
    listTags: inner.listTags.bind(inner),
    catalog: inner.catalog.bind(inner),
    referrers: inner.referrers.bind(inner),
    ...(inner.servedBy ? { servedBy: inner.servedBy.bind(inner) } : {}),
    ...(inner.mirrorsUsed ? { mirrorsUsed: inner.mirrorsUsed.bind(inner) } : {}),
  };
}

/** Wraps an online client so everything it resolves can be replayed offline later. */
export function recordingClient(inner: RegistryClient, cache: ContentCache, refs: RefStore): RegistryClient {
  return {
    ...forwardingClient(inner),
    async getManifest(repo, reference, options) {
      let fetched: FetchedManifest;
      try {
        fetched = await inner.getManifest(repo, reference, options);
      } catch (err) {
        // Record a cosign tag's absence, so offline "looked, none there" differs from "never looked".
        if (isDropzoneError(err, "MANIFEST_UNKNOWN") && isCosignTag(reference)) {
          await refs.put({ key: tagKey(repo, reference), at: new Date().toISOString() }).catch(() => {});
        }
        throw err;
      }
      await store(cache, fetched.digest, fetched.bytes);
      if (!isDigest(reference)) {
        await refs.put({
          key: tagKey(repo, reference),
          digest: fetched.digest,
          mediaType: fetched.mediaType,
          at: new Date().toISOString(),
        }).catch(() => {});
      }
      return fetched;
    },
    async getBlobBytes(repo, digest, options) {
      const bytes = await inner.getBlobBytes(repo, digest, options);
      await store(cache, digest, bytes);
      return bytes;
    },
    async referrers(repo, digest, options) {
      const list = await inner.referrers(repo, digest, options);
      await refs.put({
        key: referrersKey(repo, digest, options?.artifactType),
        referrers: list,
        at: new Date().toISOString(),
      }).catch(() => {});
      return list;
    },
  };
}

function offlineMiss(what: string): DropzoneError {
  return new DropzoneError("OFFLINE_MISS", `Cannot work offline: ${what} is not in the local cache`, {
    hint:
      "Run the command once online (an install or `dz verify` caches what it reads), then retry --offline",
  });
}

/** A client that answers only from the cache: the network is never touched. */
export function offlineClient(cache: ContentCache, refs: RefStore): RegistryClient {
  async function manifestByDigest(digest: Digest, label: string): Promise<FetchedManifest> {
    if (!(await cache.has(digest))) throw offlineMiss(`manifest ${label}`);
    const bytes = await readAll(await cache.open(digest));
    // The cache is content-addressed, but re-check: a tampered cache must not pass as the digest.
    if ((await sha256Digest(bytes)) !== digest) throw offlineMiss(`an intact copy of ${digest}`);
    const manifest = parseManifest(bytes);
    return { digest, bytes, manifest, mediaType: manifest.mediaType };
  }
  return {
    ping: () => Promise.resolve(),
    async getManifest(repo, reference) {
      if (isDigest(reference)) return await manifestByDigest(reference, reference);
      const record = await refs.get(tagKey(repo, reference));
      if (!record?.digest) {
        if (isCosignTag(reference) && record !== undefined) {
          // Recorded as absent when online: behave like the registry's 404.
          throw new DropzoneError("MANIFEST_UNKNOWN", `No ${reference} in the offline cache`);
        }
        // Never looked up: unknown, so "not cached" (exit 1), not "unsigned" (exit 3).
        throw offlineMiss(`${repo.registry}/${repo.repository}:${reference}`);
      }
      return await manifestByDigest(record.digest, `${repo.repository}:${reference}`);
    },
    async headManifest(repo, reference): Promise<ManifestHead | null> {
      try {
        const m = await this.getManifest(repo, reference);
        return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
      } catch (err) {
        if (isDropzoneError(err, "MANIFEST_UNKNOWN")) return null;
        throw err;
      }
    },
    async getBlob(_repo, digest) {
      if (!(await cache.has(digest))) throw offlineMiss(`blob ${digest}`);
      return await cache.open(digest);
    },
    async getBlobBytes(_repo, digest) {
      if (!(await cache.has(digest))) throw offlineMiss(`blob ${digest}`);
      const bytes = await readAll(await cache.open(digest));
      if ((await sha256Digest(bytes)) !== digest) throw offlineMiss(`an intact copy of ${digest}`);
      return bytes;
    },
    listTags: () => Promise.reject(offlineMiss("the tag list")),
    catalog: () => Promise.reject(offlineMiss("the catalog")),
    async referrers(repo, digest, options) {
      const record = await refs.get(referrersKey(repo, digest, options?.artifactType));
      return record?.referrers ?? [];
    },
  };
}
