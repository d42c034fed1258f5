/**
 * Docker Hub's repository listing for one namespace (`GET <hub>/v2/namespaces/<ns>/repositories`, paginated by
 * `next`): what `dz search` uses on Docker Hub, which has no `/v2/_catalog`. Anonymous: no credential is ever
 * sent to this API (it is another origin than the registry).
 */
import { DropzoneError } from "../errors.ts";
import { isLoopbackHost } from "./hosts.ts";
import { sanitizeRemoteText } from "./registry_error.ts";

/** Docker Hub's web API. */
export const DOCKER_HUB_API = "https://hub.docker.com";

/** Options for {@linkcode listHubRepositories}. */
export interface HubListOptions {
  readonly fetch: typeof fetch;
  /** The API base URL (default {@linkcode DOCKER_HUB_API}); https, or http for a loopback test server. */
  readonly baseUrl?: string;
  readonly namespace: string;
  readonly userAgent?: string;
  readonly signal?: AbortSignal;
  /** Stop after this many pages (100 repositories each). @default {50} */
  readonly maxPages?: number;
}

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

function unavailable(message: string, cause?: unknown): DropzoneError {
  return new DropzoneError("CATALOG_UNAVAILABLE", message, {
    hint: 'Try again later, or list an image\'s tags with "dz tags <image>"',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Checks the base URL: https, or plain http only to a loopback host (tests). */
export function hubBaseUrl(value: string | undefined): URL {
  let url: URL;
  try {
    url = new URL(value ?? DOCKER_HUB_API);
  } catch (err) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid Docker Hub API URL "${value}"`, {
      hint: "Unset DZ_DOCKER_HUB_API, or give an https:// URL",
      cause: err,
    });
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.host))) {
    throw new DropzoneError("INVALID_ARGUMENT", `Refusing Docker Hub API URL "${value}": not https`, {
      hint: "Unset DZ_DOCKER_HUB_API, or give an https:// URL",
    });
  }
  return url;
}

/**
 * Every repository of `namespace`, as `namespace/name`, sorted. Follows `next` only within the API's origin and
 * for at most `maxPages` pages; malformed names are skipped, a malformed page is CATALOG_UNAVAILABLE.
 */
export async function listHubRepositories(options: HubListOptions): Promise<string[]> {
  const { namespace, maxPages = 50 } = options;
  if (!NAME.test(namespace)) {
    throw new DropzoneError("INVALID_ARGUMENT", `"${namespace}" is not a Docker Hub namespace`, {
      hint: "Give the registry a namespace, e.g. docker.io/chainguard",
    });
  }
  const base = hubBaseUrl(options.baseUrl);
  let next: URL | undefined = new URL(`/v2/namespaces/${namespace}/repositories?page_size=100`, base);
  const names = new Set<string>();
  for (let page = 0; next && page < maxPages; page++) {
    let body: unknown;
    try {
      const res = await options.fetch(next, {
        headers: {
          Accept: "application/json",
          ...(options.userAgent ? { "User-Agent": options.userAgent } : {}),
        },
        redirect: "error",
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (res.status === 404) {
        await res.body?.cancel();
        throw new DropzoneError("CATALOG_UNAVAILABLE", `Docker Hub has no namespace "${namespace}"`, {
          hint: 'Check the registry\'s URL with "dz list registries"',
        });
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw unavailable(`Docker Hub's repository listing answered HTTP ${res.status}`);
      }
      body = await res.json();
    } catch (err) {
      if (err instanceof DropzoneError) throw err;
      options.signal?.throwIfAborted();
      throw unavailable(
        `Cannot list Docker Hub's repositories: ${sanitizeRemoteText((err as Error).message ?? String(err))}`,
        err,
      );
    }
    const doc = body as { results?: unknown; next?: unknown };
    if (!Array.isArray(doc.results)) throw unavailable("Docker Hub's repository listing is malformed");
    for (const r of doc.results) {
      const name = (r as { name?: unknown }).name;
      if (typeof name === "string" && NAME.test(name)) names.add(`${namespace}/${name}`);
    }
    next = undefined;
    if (typeof doc.next === "string" && doc.next !== "") {
      const candidate = new URL(doc.next, base);
      // A `next` on another origin is not followed: the listing ends there.
      if (candidate.origin === base.origin) next = candidate;
    }
  }
  return [...names].sort();
}
