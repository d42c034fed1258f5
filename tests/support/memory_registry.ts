/**
 * An in-memory RegistryClient for fast tests, plus the write side cosign_signer.ts needs. Manifests are stored by
 * digest and tag; referrers come from stored manifests whose `subject` matches (the referrers API) or, with
 * `referrersApi: false`, from the `sha256-<hex>` fallback tag only. `ghcrFallback: true` imitates GHCR, which
 * answers a missing `sha256-<hex>[.sig|.att]` tag with the image manifest itself.
 */
import { type Digest, isDigest, sha256Digest } from "../../src/oci/digest.ts";
import { type Descriptor, parseManifest } from "../../src/oci/manifest.ts";
import { DropzoneError } from "../../src/errors.ts";
import type { FetchedManifest, ManifestHead, RegistryClient, RepoRef } from "../../src/registry/types.ts";

interface StoredManifest {
  readonly bytes: Uint8Array;
  readonly mediaType: string;
}

interface Repo {
  readonly manifests: Map<Digest, StoredManifest>;
  readonly tags: Map<string, Digest>;
  readonly blobs: Map<Digest, Uint8Array>;
}

/** The write side shared by the memory registry and the HTTP store used by test signers. */
export interface SignatureStore {
  putBlob(repository: string, bytes: Uint8Array): Promise<Digest>;
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Digest>;
  /** Raw manifest bytes by tag or digest, or null. */
  getManifestBytes(repository: string, reference: string): Promise<Uint8Array | null>;
}

/** Options for {@linkcode MemoryRegistry}. */
export interface MemoryRegistryOptions {
  /** Serve referrers from stored subjects (default true); false = fallback tag only, like docker-registry 2.8. */
  referrersApi?: boolean;
  /** Answer missing `sha256-<hex>…` tags with the subject image manifest, as GHCR does. */
  ghcrFallback?: boolean;
}

/** An in-memory registry. */
export class MemoryRegistry implements RegistryClient, SignatureStore {
  readonly #repos = new Map<string, Repo>();
  readonly #options: MemoryRegistryOptions;
  /** Every getManifest reference, for assertions. */
  readonly manifestRequests: string[] = [];

  constructor(options: MemoryRegistryOptions = {}) {
    this.#options = options;
  }

  #repo(repository: string): Repo {
    let repo = this.#repos.get(repository);
    if (!repo) {
      repo = { manifests: new Map(), tags: new Map(), blobs: new Map() };
      this.#repos.set(repository, repo);
    }
    return repo;
  }

  putBlob(repository: string, bytes: Uint8Array): Promise<Digest> {
    return sha256Digest(bytes).then((digest) => {
      this.#repo(repository).blobs.set(digest, bytes);
      return digest;
    });
  }

  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<Digest> {
    const digest = await sha256Digest(bytes);
    const repo = this.#repo(repository);
    repo.manifests.set(digest, { bytes, mediaType });
    if (!isDigest(reference)) repo.tags.set(reference, digest);
    return digest;
  }

  /** Removes a tag (e.g. to simulate a deleted signature). */
  deleteTag(repository: string, tag: string): void {
    this.#repo(repository).tags.delete(tag);
  }

  #lookup(repository: string, reference: string): StoredManifest | undefined {
    const repo = this.#repos.get(repository);
    if (!repo) return undefined;
    const digest = isDigest(reference) ? reference : repo.tags.get(reference);
    const found = digest ? repo.manifests.get(digest) : undefined;
    if (found || !this.#options.ghcrFallback) return found;
    const m = /^sha256-([a-f0-9]{64})(\.sig|\.att|\.sbom)?$/.exec(reference);
    return m ? repo.manifests.get(`sha256:${m[1]}`) : undefined;
  }

  getManifestBytes(repository: string, reference: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.#lookup(repository, reference)?.bytes ?? null);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  async getManifest(repo: RepoRef, reference: string): Promise<FetchedManifest> {
    this.manifestRequests.push(reference);
    const found = this.#lookup(repo.repository, reference);
    if (!found) {
      throw new DropzoneError("MANIFEST_UNKNOWN", `Cannot find manifest "${repo.repository}:${reference}"`);
    }
    const digest = await sha256Digest(found.bytes);
    return { digest, mediaType: found.mediaType, bytes: found.bytes, manifest: parseManifest(found.bytes) };
  }

  async headManifest(repo: RepoRef, reference: string): Promise<ManifestHead | null> {
    const found = this.#lookup(repo.repository, reference);
    if (!found) return null;
    return { digest: await sha256Digest(found.bytes), mediaType: found.mediaType, size: found.bytes.length };
  }

  getBlob(repo: RepoRef, digest: Digest): Promise<ReadableStream<Uint8Array>> {
    return this.getBlobBytes(repo, digest).then((bytes) =>
      new ReadableStream({
        start(c) {
          c.enqueue(bytes);
          c.close();
        },
      })
    );
  }

  getBlobBytes(
    repo: RepoRef,
    digest: Digest,
    options: { size?: number; maxBytes?: number } = {},
  ): Promise<Uint8Array> {
    const bytes = this.#repos.get(repo.repository)?.blobs.get(digest);
    if (!bytes) {
      return Promise.reject(new DropzoneError("REGISTRY_HTTP", `Cannot find blob "${digest}"`));
    }
    if (bytes.length > (options.maxBytes ?? 4 * 1024 * 1024)) {
      return Promise.reject(new DropzoneError("REGISTRY_PROTOCOL", `Blob "${digest}" is too large`));
    }
    if (options.size !== undefined && options.size !== bytes.length) {
      return Promise.reject(new DropzoneError("DIGEST_MISMATCH", `Blob "${digest}" size differs`));
    }
    return Promise.resolve(bytes);
  }

  listTags(repo: RepoRef): Promise<string[]> {
    return Promise.resolve([...(this.#repos.get(repo.repository)?.tags.keys() ?? [])].sort());
  }

  catalog(): Promise<string[]> {
    return Promise.resolve([...this.#repos.keys()].sort());
  }

  referrers(
    repo: RepoRef,
    digest: Digest,
    options: { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    let out: Descriptor[] = [];
    if (this.#options.referrersApi !== false) {
      for (const [d, m] of this.#repos.get(repo.repository)?.manifests ?? []) {
        const parsed = parseManifest(m.bytes);
        if (parsed.subject?.digest !== digest) continue;
        const artifactType = parsed.kind === "manifest"
          ? parsed.artifactType ?? parsed.config.mediaType
          : undefined;
        out.push({
          mediaType: parsed.mediaType,
          digest: d,
          size: m.bytes.length,
          ...(artifactType ? { artifactType } : {}),
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
        });
      }
    } else {
      const found = this.#lookup(repo.repository, digest.replace(":", "-"));
      if (found) {
        const parsed = parseManifest(found.bytes);
        if (parsed.kind === "index") out = [...parsed.manifests];
      }
    }
    return Promise.resolve(
      options.artifactType ? out.filter((d) => d.artifactType === options.artifactType) : out,
    );
  }
}
