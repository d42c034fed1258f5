/** Services behind `dz login`, `dz logout`, `dz tags` and `dz search`. They return data; the CLI renders it. */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { removeCredential, saveCredential } from "../registry/credentials.ts";
import { sortTagsNewestFirst } from "../registry/tag_order.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import { writeFileAtomic } from "../fs.ts";

/** Options for {@linkcode login}. */
export interface LoginOptions {
  client: RegistryClient;
  authFile: string;
  /** Canonical registry host. */
  host: string;
  username: string;
  password: string;
  /** Check the credentials against the registry before saving them. @default {true} */
  verify?: boolean;
  signal?: AbortSignal;
}

/** Result of {@linkcode login}. */
export interface LoginResult {
  readonly host: string;
  readonly verified: boolean;
  /** The auth file was readable by others before this write (it is 0600 now). */
  readonly authFileWasPermissive: boolean;
}

/** Verifies credentials with an authenticated ping, then stores them in dz's auth.json. */
export async function login(options: LoginOptions): Promise<LoginResult> {
  const { client, authFile, host, username, password, verify = true, signal } = options;
  if (!username) throw new DropzoneError("INVALID_ARGUMENT", "Cannot log in: the username is empty");
  if (verify) {
    try {
      await client.ping(host, { credential: { username, password }, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (isDropzoneError(err, "REGISTRY_AUTH")) {
        throw new DropzoneError(
          "REGISTRY_AUTH",
          `Cannot log in to "${host}": the registry rejected the credentials`,
          {
            hint: "Check the username and password (or access token) and try again",
            cause: err,
          },
        );
      }
      throw err;
    }
  }
  const { wasPermissive } = await saveCredential(authFile, host, username, password);
  return { host, verified: verify, authFileWasPermissive: wasPermissive };
}

/** Removes stored credentials for `host`; `removed` is false when there were none. */
export async function logout(options: { authFile: string; host: string }): Promise<{ removed: boolean }> {
  return { removed: await removeCredential(options.authFile, options.host) };
}

/** Lists a repository's tags newest first (see tag_order.ts); sidecar tags are hidden unless `all`. */
export async function listTagsSorted(
  client: RegistryClient,
  repo: RepoRef,
  options: { all?: boolean; signal?: AbortSignal } = {},
): Promise<{ tags: string[]; hiddenSidecars: string[] }> {
  const tags = await client.listTags(repo, options.signal ? { signal: options.signal } : {});
  return sortTagsNewestFirst(tags, { all: options.all ?? false });
}

/** Options for {@linkcode searchCatalog}. */
export interface SearchOptions {
  registry: string;
  /** Only repositories under this namespace, shown without it (`chainguard` → `jq`). */
  namespacePrefix?: string;
  /** Case-insensitive substring; empty lists everything. */
  term?: string;
  /** Where catalog caches live (one JSON file per registry). */
  cacheDir: string;
  /** @default {3600000} */
  ttlMs?: number;
  /** Ignore the cache. */
  refresh?: boolean;
  now?: () => number | Date;
  signal?: AbortSignal;
  /**
   * Lists the registry's repositories instead of `/v2/_catalog` (Docker Hub, which has none, lists a
   * namespace through its web API).
   */
  listRepositories?: (signal?: AbortSignal) => Promise<string[]>;
}

/** Result of {@linkcode searchCatalog}. */
export interface SearchResult {
  readonly repositories: string[];
  readonly fromCache: boolean;
  /** When the catalog was fetched (ms since epoch). */
  readonly fetchedAt: number;
}

interface CatalogCache {
  version: 1;
  registry: string;
  fetchedAt: number;
  repositories: string[];
}

function cacheFile(cacheDir: string, registry: string): string {
  return `${cacheDir}/catalog-${registry.replace(/[^A-Za-z0-9.-]/g, "_")}.json`;
}

async function readCache(path: string, registry: string): Promise<CatalogCache | undefined> {
  try {
    const doc = JSON.parse(await Deno.readTextFile(path)) as Partial<CatalogCache>;
    if (
      doc.version === 1 && doc.registry === registry && typeof doc.fetchedAt === "number" &&
      Array.isArray(doc.repositories) && doc.repositories.every((r) => typeof r === "string")
    ) return doc as CatalogCache;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) && !(err instanceof SyntaxError)) throw err;
  }
  return undefined;
}

async function writeCache(path: string, cache: CatalogCache): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(path, JSON.stringify(cache) + "\n");
}

/** Searches a registry's catalog, caching the full listing for `ttlMs`. CATALOG_UNAVAILABLE propagates. */
export async function searchCatalog(client: RegistryClient, options: SearchOptions): Promise<SearchResult> {
  const { registry, namespacePrefix, term = "", cacheDir, ttlMs = 3_600_000, refresh = false, signal } =
    options;
  const now = Number((options.now ?? Date.now)());
  const path = cacheFile(cacheDir, registry);
  let cache = refresh ? undefined : await readCache(path, registry);
  const fromCache = cache !== undefined && now - cache.fetchedAt < ttlMs && now >= cache.fetchedAt;
  if (!fromCache) {
    const repositories = options.listRepositories
      ? await options.listRepositories(signal)
      : await client.catalog(registry, signal ? { signal } : {});
    cache = { version: 1, registry, fetchedAt: now, repositories };
    await writeCache(path, cache);
  }
  const prefix = namespacePrefix ? namespacePrefix.replace(/\/+$/, "") + "/" : "";
  const needle = term.toLowerCase();
  const repositories = cache!.repositories
    .filter((r) => r.startsWith(prefix))
    .map((r) => r.slice(prefix.length))
    .filter((r) => r.toLowerCase().includes(needle))
    .sort();
  return { repositories, fromCache, fetchedAt: cache!.fetchedAt };
}
