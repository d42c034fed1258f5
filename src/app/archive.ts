/**
 * Air-gapped transfer. `dz export` writes a standard OCI image-layout tar holding the image for one platform, every
 * signature and attestation artifact dz read while verifying it (legacy `.sig`/`.att` manifests and their layers,
 * referrer bundles), the multi-arch index when there is one, and — for reference only — the trusted root in use.
 * `dz install FILE.tar` loads the blobs into the content-addressed cache (each re-hashed) and installs through the
 * offline client, so verification runs exactly as online: same local policy, local trusted root. The archive's
 * own trusted root is never trusted automatically (anyone can write one).
 *
 * Layout: oci-layout, index.json (the image under its tag, signature manifests under their cosign tags),
 * blobs/sha256/<hex>, dz/export.json ({version, source, tag, digest, index_digest, platform, records}).
 */
import { createTarPacker } from "modern-tar";
import { DropzoneError } from "../errors.ts";
import { createNewFile, openIfExists, removeFileQuietly, rename } from "../file_ops.ts";
import { onInterrupt } from "../interrupt.ts";
import { type Digest, digestHex, isDigest } from "../oci/digest.ts";
import { MEDIA_TYPES } from "../oci/media_types.ts";
import { parseManifest } from "../oci/manifest.ts";
import { offlineClient, recordingClient, type RefStore } from "../registry/caching_client.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { BlobCache } from "../store/blob_cache.ts";
import { decodeTar } from "../unpack/tar_stream.ts";
import type { IndexEntry } from "./archive_index.ts";
import type { ResolvedImage } from "./image.ts";

/** dz/export.json */
export interface ExportInfo {
  readonly version: 1;
  /** host/repository the image came from; resolved against the importing machine's registry config. */
  readonly source: string;
  readonly tag: string | null;
  readonly digest: Digest;
  readonly index_digest: Digest | null;
  readonly platform: string;
  /** Tag resolutions and referrer lists recorded while verifying (see caching_client.ts). */
  readonly records: unknown[];
}

const REF_NAME = "org.opencontainers.image.ref.name";

/** A RefStore in memory, used to capture what verification reads and to replay an imported archive. */
export function memoryRefStore(initial: readonly unknown[] = []): RefStore & { records(): unknown[] } {
  const map = new Map<string, { key: string }>();
  for (const r of initial) {
    if (typeof r === "object" && r !== null && typeof (r as { key?: unknown }).key === "string") {
      map.set((r as { key: string }).key, r as { key: string });
    }
  }
  return {
    get: (key) => Promise.resolve(map.get(key) as never),
    put: (record) => {
      map.set(record.key, record);
      return Promise.resolve();
    },
    records: () => [...map.values()],
  };
}

/** Wraps a client so everything it reads lands in `cache` and is captured in a fresh memory RefStore. */
export function capturingClient(
  inner: RegistryClient,
  cache: BlobCache,
): { client: RegistryClient; refs: RefStore & { records(): unknown[] } } {
  const refs = memoryRefStore();
  return { client: recordingClient(inner, cache, refs), refs };
}

async function readBlob(cache: BlobCache, digest: Digest): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await cache.open(digest)).arrayBuffer());
}

/** Everything the archive must hold: manifests (with their config and layers) reachable from the records. */
async function collectBlobs(
  image: ResolvedImage,
  records: readonly unknown[],
  cache: BlobCache,
  client: RegistryClient,
): Promise<
  { blobs: Set<Digest>; named: { digest: Digest; mediaType: string; size: number; name?: string }[] }
> {
  const blobs = new Set<Digest>();
  const named: { digest: Digest; mediaType: string; size: number; name?: string }[] = [];
  const manifests = new Map<Digest, string | undefined>();
  manifests.set(image.digest, image.ref.tag ?? "dz-export");
  if (image.index) blobs.add(image.index.digest);
  for (const r of records as { key: string; digest?: Digest; referrers?: { digest: Digest }[] }[]) {
    if (r.digest && isDigest(r.digest) && r.digest !== image.index?.digest) {
      const tag = r.key.slice(r.key.lastIndexOf(":") + 1);
      manifests.set(r.digest, /^sha256-[0-9a-f]{64}\.[a-z]+$/.test(tag) ? tag : manifests.get(r.digest));
    }
    for (const d of r.referrers ?? []) {
      if (isDigest(d.digest) && !manifests.has(d.digest)) manifests.set(d.digest, undefined);
    }
  }
  for (const [digest, name] of manifests) {
    if (!(await cache.has(digest))) continue;
    const bytes = await readBlob(cache, digest);
    const m = parseManifest(bytes);
    blobs.add(digest);
    named.push({ digest, mediaType: m.mediaType, size: bytes.length, ...(name ? { name } : {}) });
    if (m.kind !== "manifest") continue;
    for (const d of [m.config, ...m.layers]) {
      if (!(await cache.has(d.digest))) {
        // Signature manifests' config blobs are not read by verification; fetch them so every listed manifest
        // is complete and other tools can copy it.
        await client.getBlobBytes(image.repo, d.digest, { size: d.size }).catch(() => undefined);
      }
      if (await cache.has(d.digest)) blobs.add(d.digest);
    }
  }
  return { blobs, named };
}

async function writeEntry(
  add: (
    h: { name: string; size: number; type: "file" | "directory"; mode?: number },
  ) => WritableStream<Uint8Array>,
  name: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  size: number,
): Promise<void> {
  const sink = add({ name, size, type: "file", mode: 0o644 });
  if (body instanceof Uint8Array) {
    const w = sink.getWriter();
    await w.write(body);
    await w.close();
  } else {
    await body.pipeTo(sink);
  }
}

/** Writes the archive atomically (temp file + rename). */
export async function writeArchive(input: {
  output: string;
  image: ResolvedImage;
  records: unknown[];
  cache: BlobCache;
  client: RegistryClient;
  trustedRoot?: unknown;
  /** Stops between blobs when aborted (Ctrl-C); the temp file is removed. */
  signal?: AbortSignal;
}): Promise<{ blobs: number; bytes: number }> {
  const { output, image, records, cache, client } = input;
  const { blobs, named } = await collectBlobs(image, records, cache, client);
  const info: ExportInfo = {
    version: 1,
    source: `${image.ref.host}/${image.ref.repository}`,
    tag: image.ref.tag ?? null,
    digest: image.digest,
    index_digest: image.index?.digest ?? null,
    platform: image.platform,
    records,
  };
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_INDEX,
    manifests: named.map((m) => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      ...(m.name ? { annotations: { [REF_NAME]: m.name } } : {}),
    })),
  };
  const enc = new TextEncoder();
  const temp = `${output}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const file = await createNewFile(temp, { mode: 0o644 });
  using _cleanup = onInterrupt(() => removeFileQuietly(temp));
  let bytes = 0;
  try {
    const { readable, controller } = createTarPacker();
    const done = readable.pipeTo(file.writable);
    const add = (h: Parameters<typeof controller.add>[0]) => controller.add(h);
    const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + "\n");
    const layout = enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeEntry(add, "oci-layout", layout, layout.length);
    const indexBytes = json(index);
    await writeEntry(add, "index.json", indexBytes, indexBytes.length);
    await add({ name: "blobs/", size: 0, type: "directory", mode: 0o755 }).close();
    await add({ name: "blobs/sha256/", size: 0, type: "directory", mode: 0o755 }).close();
    for (const digest of blobs) {
      input.signal?.throwIfAborted();
      const size = (await cache.sizeOf(digest))!;
      bytes += size;
      await writeEntry(add, `blobs/sha256/${digestHex(digest)}`, await cache.open(digest), size);
    }
    await add({ name: "dz/", size: 0, type: "directory", mode: 0o755 }).close();
    const infoBytes = json(info);
    await writeEntry(add, "dz/export.json", infoBytes, infoBytes.length);
    if (input.trustedRoot !== undefined) {
      const root = json(input.trustedRoot);
      await writeEntry(add, "dz/trusted_root.json", root, root.length);
    }
    controller.finalize();
    await done;
    await rename(temp, output);
  } catch (err) {
    try {
      file.close();
    } catch { /* already closed by pipeTo */ }
    await removeFileQuietly(temp);
    throw err;
  }
  return { blobs: blobs.size, bytes };
}

/**
 * True when a command-line argument names an archive file rather than an image reference: it starts with `/`,
 * `./` or `../`, or ends in `.tar`. Never decided by what exists on disk, so a local file can never stand in for
 * a registry reference (`lab/tool` is always a reference, even with a `./lab/tool` file present). Pure.
 */
export function isArchiveArgument(input: string): boolean {
  return /^(?:\/|\.\/|\.\.\/)/.test(input) || /\.tar$/i.test(input);
}

/** Wraps a client so every manifest digest it serves lands in `consulted` (the archive's index check uses it). */
export function consultingClient(inner: RegistryClient, consulted: Set<Digest>): RegistryClient {
  return {
    ...inner,
    getManifest: async (repo, reference, options) => {
      const fetched = await inner.getManifest(repo, reference, options);
      consulted.add(fetched.digest);
      return fetched;
    },
  };
}

/**
 * Loads an archive: every blob goes into the cache (re-hashed; a mismatch fails the import), and the recorded
 * resolutions come back as an offline client that answers only from them.
 */
export async function importArchive(
  path: string,
  cache: BlobCache,
): Promise<{ info: ExportInfo; client: RegistryClient; entries: IndexEntry[] }> {
  let info: ExportInfo | undefined;
  let entriesOfIndex: IndexEntry[] | undefined;
  let file: Deno.FsFile | undefined;
  try {
    file = await openIfExists(path);
  } catch (err) {
    throw new DropzoneError("INVALID_ARGUMENT", `Cannot open archive ${path}`, {
      hint: "Check the path",
      cause: err,
    });
  }
  if (file === undefined) {
    throw new DropzoneError("INVALID_ARGUMENT", `Archive ${path} does not exist`, {
      hint: "Check the path; a registry reference must not start with /, ./ or ../ nor end in .tar",
    });
  }
  try {
    const entries = decodeTar(file.readable);
    for await (const entry of entries) {
      const name = entry.header.name.replace(/^\.\//, "");
      const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
      if (blob && entry.header.type === "file") {
        const digest = `sha256:${blob[1]}` as Digest;
        if (await cache.has(digest)) await entry.body.cancel();
        else await cache.putStream(digest, entry.header.size, entry.body);
      } else if (name === "dz/export.json") {
        const text = await new Response(entry.body).text();
        const parsed = JSON.parse(text) as ExportInfo;
        if (parsed.version !== 1 || !isDigest(parsed.digest) || typeof parsed.source !== "string") {
          throw new DropzoneError("INVALID_ARGUMENT", `${path} has an unreadable dz/export.json`, {
            hint: "Re-create the archive with dz export",
          });
        }
        info = parsed;
      } else if (name === "index.json") {
        // Tools disagree on which of two index.json entries wins; an archive with two is not one dz wrote.
        if (entriesOfIndex) {
          throw new DropzoneError("INVALID_ARGUMENT", `${path} has more than one index.json`, {
            hint: "Re-create the archive with dz export",
          });
        }
        entriesOfIndex = parseIndexEntries(await new Response(entry.body).text(), path);
      } else {
        await entry.body.cancel();
      }
    }
  } catch (err) {
    if (err instanceof DropzoneError) throw err;
    throw new DropzoneError(
      "IO",
      `Cannot read archive ${path}: ${err instanceof Error ? err.message : String(err)}`,
      {
        hint:
          "The file is truncated or not a dz export archive; copy it again (compare its sha256 with the " +
          "original) or re-create it with dz export",
        cause: err,
      },
    );
  }
  if (!info) {
    throw new DropzoneError("INVALID_ARGUMENT", `${path} is not a dz export archive (no dz/export.json)`, {
      hint: "Create it with dz export <ref> -o FILE.tar",
    });
  }
  if (!entriesOfIndex) {
    throw new DropzoneError("INVALID_ARGUMENT", `${path} has no index.json`, {
      hint: "Re-create the archive with dz export",
    });
  }
  return { info, client: offlineClient(cache, memoryRefStore(info.records)), entries: entriesOfIndex };
}

function parseIndexEntries(text: string, path: string): IndexEntry[] {
  const unreadable = () =>
    new DropzoneError("INVALID_ARGUMENT", `${path} has an unreadable index.json`, {
      hint: "Re-create the archive with dz export",
    });
  let doc: { manifests?: unknown };
  try {
    doc = JSON.parse(text);
  } catch {
    throw unreadable();
  }
  if (!Array.isArray(doc?.manifests)) throw unreadable();
  return doc.manifests.map((m: { digest?: unknown; annotations?: Record<string, unknown> }) => {
    if (typeof m?.digest !== "string" || !isDigest(m.digest)) throw unreadable();
    const name = m.annotations?.[REF_NAME];
    return { digest: m.digest, ...(typeof name === "string" ? { name } : {}) };
  });
}

/**
 * The reference to install from an imported archive: always by the digest the archive holds (an export by
 * installed name resolves by digest, so no tag resolution is recorded), keeping the tag for the package record.
 */
export function archiveReference(info: ExportInfo): string {
  const pinned = `@${info.index_digest ?? info.digest}`;
  return info.tag ? `${info.source}:${info.tag}${pinned}` : `${info.source}${pinned}`;
}
