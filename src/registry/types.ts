/**
 * The registry client contract. Install, trust and update code depends on this interface only, so tests can
 * pass a client pointed at a local registry and the verifier can be exercised without HTTP.
 */
import type { Digest } from "../oci/digest.ts";
import type { AnyManifest, Descriptor } from "../oci/manifest.ts";

/** A repository on a registry. `registry` is the canonical host[:port] ("docker.io", "localhost:5000"). */
export interface RepoRef {
  readonly registry: string;
  readonly repository: string;
}

/** A manifest fetched from a registry, with the digest computed from its bytes. */
export interface FetchedManifest {
  /** sha256 of `bytes`, never taken from a response header. */
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
  readonly manifest: AnyManifest;
}

/** A registry's pull quota as reported in `RateLimit-*` headers (Docker Hub). */
export interface RateLimit {
  readonly limit: number;
  readonly remaining: number;
  /** The quota window in seconds (`;w=21600`), when given. */
  readonly windowSeconds?: number;
}

/** The result of a HEAD on a manifest. */
export interface ManifestHead {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  /** Pull quota, when the registry reports one (HEADs do not count against Docker Hub's quota). */
  readonly rateLimit?: RateLimit;
}

/** Options for blob reads. */
export interface BlobOptions {
  /** Expected size from the descriptor; a mismatch is an error. */
  size?: number;
  signal?: AbortSignal | undefined;
  /** Called with the byte count of every chunk, for progress. */
  onProgress?: (bytes: number) => void;
}

/** Credentials for one registry: a username/password pair or an identity (refresh) token. */
export type Credential =
  | { readonly username: string; readonly password: string }
  | { readonly identitytoken: string };

/**
 * Finds credentials for a registry host (canonical form, e.g. "docker.io", "localhost:5000"). `repository`,
 * when given, lets namespace-scoped entries ("registry.example/team") match.
 */
export type CredentialLookup = (host: string, repository?: string) => Promise<Credential | undefined>;

/** Registry access used by everything above the transport. */
export interface RegistryClient {
  /**
   * GET /v2/ with auth; throws REGISTRY_AUTH on bad credentials. `credential` overrides the lookup (used by
   * login to verify credentials before saving them).
   */
  ping(
    registry: string,
    options?: { signal?: AbortSignal | undefined; credential?: Credential },
  ): Promise<void>;
  /** GET a manifest by tag or digest. When fetched by digest the bytes are checked against it. */
  getManifest(
    repo: RepoRef,
    reference: string,
    options?: { signal?: AbortSignal | undefined },
  ): Promise<FetchedManifest>;
  /** HEAD a manifest; null on 404. Falls back to GET when the registry omits Docker-Content-Digest. */
  headManifest(
    repo: RepoRef,
    reference: string,
    options?: { signal?: AbortSignal | undefined },
  ): Promise<ManifestHead | null>;
  /**
   * Streams a blob. The stream errors (DIGEST_MISMATCH) at its end when the content does not hash to `digest`
   * or the size differs, so consumers must treat anything built from it as untrusted until it closes cleanly.
   */
  getBlob(repo: RepoRef, digest: Digest, options?: BlobOptions): Promise<ReadableStream<Uint8Array>>;
  /** Reads a small blob fully (capped at `maxBytes`, default 4 MiB) and checks its digest. */
  getBlobBytes(
    repo: RepoRef,
    digest: Digest,
    options?: BlobOptions & { maxBytes?: number },
  ): Promise<Uint8Array>;
  /** All tags, following pagination. */
  listTags(
    repo: RepoRef,
    options?: { signal?: AbortSignal | undefined; pageSize?: number },
  ): Promise<string[]>;
  /** All repositories from /v2/_catalog; throws CATALOG_UNAVAILABLE where the registry has none. */
  catalog(
    registry: string,
    options?: { signal?: AbortSignal | undefined; pageSize?: number },
  ): Promise<string[]>;
  /**
   * Referrers of `digest` via the referrers API, falling back to the `sha256-<hex>` tag. Only descriptors
   * whose artifactType matches (when given) are returned; a fallback tag that is not an index yields [].
   */
  referrers(
    repo: RepoRef,
    digest: Digest,
    options?: { artifactType?: string; signal?: AbortSignal | undefined },
  ): Promise<
    Descriptor[]
  >;
  /**
   * Only on clients with mirrors (registry/mirrors.ts): the mirror location that served `digest` of upstream
   * `repo`, null when the upstream did, undefined when it was not fetched.
   */
  servedBy?(repo: RepoRef, digest: Digest): string | null | undefined;
  /** Only on clients with mirrors: every mirror location that served anything for upstream `repo`. */
  mirrorsUsed?(repo: RepoRef): string[];
}
