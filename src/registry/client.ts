/**
 * The registry client: Distribution API reads with Docker token and Basic auth, composed ggcr/oras-go style from
 * the policy-owning transport (transport.ts), authentication wrapped around it (with_auth.ts) and one module per
 * resource (manifests.ts, blobs.ts with resume, lists.ts for tags and catalog, referrers.ts). Repositories are
 * passed already normalised (Docker Hub's `alpine` is `library/alpine`; the reference parser does that),
 * registries in canonical form (`docker.io`, `ghcr.io`, `localhost:5000`).
 */
import { getBlob, getBlobBytes } from "./blobs.ts";
import type { HostResolver } from "./hosts.ts";
import { catalog, listTags } from "./lists.ts";
import { getManifest, headManifest, MAX_MANIFEST_BYTES, type ResourceContext } from "./manifests.ts";
import { referrers } from "./referrers.ts";
import { errorFromResponse } from "./registry_error.ts";
import { createTransport } from "./transport.ts";
import type { Credential, CredentialLookup, RegistryClient } from "./types.ts";
import { withAuth } from "./with_auth.ts";

export { MAX_MANIFEST_BYTES, parseRateLimit } from "./manifests.ts";
export { fetchReferrerManifest } from "./referrers.ts";

/** Options for {@linkcode createRegistryClient}. */
export interface RegistryClientOptions {
  fetch: typeof fetch;
  userAgent: string;
  /** Where credentials come from; see credentials.ts `createCredentialLookup`. */
  credentials: CredentialLookup;
  /** Hosts to reach over plain http (loopback hosts always are). */
  isInsecure?: (host: string) => boolean;
  /** @default {4} */
  concurrencyPerHost?: number;
  /** Extra attempts for temporary failures, and Range resumes per blob. @default {3} */
  retries?: number;
  /** @default {30000} */
  timeoutMs?: number;
  /** Longest Retry-After honoured. @default {60000} */
  maxRetryAfterMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for token expiry. @default {Date.now} */
  now?: () => number | Date;
  /** @default {4 MiB} */
  maxManifestBytes?: number;
  /** Resolves names for the private-address guard. @default {Deno.resolveDns} */
  resolveHost?: HostResolver;
}

/**
 * Creates a {@linkcode RegistryClient}.
 *
 * Concurrency: every response holds one of the host's `concurrencyPerHost` slots until its body is consumed
 * or cancelled, blob streams included. Read (or cancel) each `getBlob` stream in the task that opened it;
 * opening more streams than slots before reading any of them waits forever.
 */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient & {
  /** The API origin used for a registry, e.g. `https://registry-1.docker.io`. */
  originFor(registry: string): string;
} {
  const { retries = 3, maxManifestBytes = MAX_MANIFEST_BYTES } = options;
  const transport = createTransport({
    fetch: options.fetch,
    userAgent: options.userAgent,
    retries,
    ...(options.concurrencyPerHost === undefined ? {} : { concurrencyPerHost: options.concurrencyPerHost }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs }),
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    ...(options.resolveHost === undefined ? {} : { resolveHost: options.resolveHost }),
  });
  const http = withAuth(transport, {
    credentials: options.credentials,
    isInsecure: options.isInsecure,
    now: options.now,
  });
  const ctx: ResourceContext = { http, maxManifestBytes, retries };

  async function ping(
    registry: string,
    opts: { signal?: AbortSignal | undefined; credential?: Credential } = {},
  ): Promise<void> {
    const res = await http.send({
      registry,
      path: "/v2/",
      ...(opts.credential ? { credential: opts.credential } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status === 200) {
      await res.body?.cancel();
      return;
    }
    throw await errorFromResponse(res, { registry, action: "authenticate" });
  }

  return {
    ping,
    getManifest: (repo, reference, opts) => getManifest(ctx, repo, reference, opts),
    headManifest: (repo, reference, opts) => headManifest(ctx, repo, reference, opts),
    getBlob: (repo, digest, opts) => getBlob(ctx, repo, digest, opts),
    getBlobBytes: (repo, digest, opts) => getBlobBytes(ctx, repo, digest, opts),
    listTags: (repo, opts) => listTags(ctx, repo, opts),
    catalog: (registry, opts) => catalog(ctx, registry, opts),
    referrers: (repo, digest, opts) => referrers(ctx, repo, digest, opts),
    originFor: http.originFor,
  };
}
