/**
 * The registry client: Distribution API reads (manifests, blobs, tags, catalog, referrers) with Docker token
 * and Basic auth, on top of the policy-owning transport. Repositories are passed already normalised (Docker
 * Hub's `alpine` is `library/alpine`; the reference parser does that), registries in canonical form
 * (`docker.io`, `ghcr.io`, `localhost:5000`).
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, digestHex, isDigest, sha256Digest } from "../oci/digest.ts";
import {
  type AnyManifest,
  type Descriptor,
  parseManifest,
  UnsupportedMediaTypeError,
} from "../oci/manifest.ts";
import { MANIFEST_ACCEPT, MEDIA_TYPES } from "../oci/media_types.ts";
import { basicAuthorization, type Challenge, parseChallenge, requestToken, type Token } from "./auth.ts";
import { apiHost, canonicalRegistryHost, type HostResolver, schemeFor } from "./hosts.ts";
import { errorFromResponse, formatBytes, readCapped, redactUrl, RegistryError } from "./registry_error.ts";
import { createTransport, isConnectionError } from "./transport.ts";
import type {
  BlobOptions,
  Credential,
  CredentialLookup,
  FetchedManifest,
  ManifestHead,
  RateLimit,
  RegistryClient,
  RepoRef,
} from "./types.ts";
import { digestVerifier } from "./verify_stream.ts";

/** Manifests (and indexes, referrer lists) larger than this are refused. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_LIST_BYTES = 4 * 1024 * 1024;
const MAX_PAGES = 1000;
const TAG_REGEXP = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

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

type AuthMode =
  | { readonly scheme: "none" }
  | { readonly scheme: "basic" }
  | { readonly scheme: "bearer"; readonly realm: string; readonly service?: string };

interface AuthedRequest {
  registry: string;
  /** Path and query below the API origin, e.g. `/v2/x/manifests/1`. */
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** Token scope, e.g. `repository:x:pull`; none for the ping. */
  scope?: string;
  repository?: string;
  credential?: Credential;
  signal?: AbortSignal;
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
  const {
    credentials,
    isInsecure,
    retries = 3,
    now = Date.now,
    maxManifestBytes = MAX_MANIFEST_BYTES,
  } = options;
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
  const modes = new Map<string, AuthMode>();
  const tokens = new Map<string, Token>();
  const lookups = new Map<string, Promise<Credential | undefined>>();
  const nowMs = () => Number(now());

  function originFor(registry: string): string {
    const host = apiHost(registry);
    return `${schemeFor(host, isInsecure)}//${host}`;
  }

  function credentialFor(registry: string, repository?: string): Promise<Credential | undefined> {
    const key = `${canonicalRegistryHost(registry)} ${repository ?? ""}`;
    let p = lookups.get(key);
    if (!p) lookups.set(key, p = credentials(registry, repository));
    return p;
  }

  async function authorization(
    mode: AuthMode,
    req: AuthedRequest,
    fresh: boolean,
    challengeScope?: string,
  ): Promise<string | undefined> {
    if (mode.scheme === "none") return undefined;
    const credential = req.credential ?? await credentialFor(req.registry, req.repository);
    if (mode.scheme === "basic") {
      if (!credential) return undefined;
      if ("identitytoken" in credential) return `Bearer ${credential.identitytoken}`;
      return basicAuthorization(credential.username, credential.password);
    }
    const scope = req.scope ?? challengeScope;
    const key = `${canonicalRegistryHost(req.registry)} ${scope ?? ""}`;
    const cacheable = req.credential === undefined;
    const cached = cacheable ? tokens.get(key) : undefined;
    if (cached && !fresh && cached.expiresAt > nowMs()) return `Bearer ${cached.token}`;
    const token = await requestToken(transport, {
      registry: req.registry,
      realm: mode.realm,
      ...(mode.service === undefined ? {} : { service: mode.service }),
      scopes: scope ? [scope] : [],
      ...(credential ? { credential } : {}),
      now: nowMs(),
      registryOrigin: originFor(req.registry),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    if (cacheable) tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  function modeFrom(challenges: Challenge[]): AuthMode | undefined {
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (bearer) {
      return {
        scheme: "bearer",
        realm: bearer.params.realm!,
        ...(bearer.params.service === undefined ? {} : { service: bearer.params.service }),
      };
    }
    return challenges.some((c) => c.scheme === "basic") ? { scheme: "basic" } : undefined;
  }

  /** Sends a request, answering a 401 challenge once (fetching a token or adding Basic credentials). */
  async function send(req: AuthedRequest): Promise<Response> {
    const url = new URL(originFor(req.registry) + req.path);
    const base = {
      registry: req.registry,
      method: req.method ?? "GET",
      ...(req.signal ? { signal: req.signal } : {}),
    };
    const known = modes.get(canonicalRegistryHost(req.registry));
    const headers = new Headers(req.headers);
    const first = known ? await authorization(known, req, false) : undefined;
    if (first) headers.set("Authorization", first);
    const res = await transport.send(url, { ...base, headers });
    if (res.status !== 401) return res;
    const challenges = parseChallenge(res.headers.get("www-authenticate") ?? "");
    const mode = modeFrom(challenges);
    if (!mode) return res;
    await res.body?.cancel();
    modes.set(canonicalRegistryHost(req.registry), mode);
    const challengeScope = challenges.find((c) => c.scheme === "bearer")?.params.scope;
    const second = await authorization(mode, req, true, challengeScope);
    if (!second) {
      throw new DropzoneError(
        "REGISTRY_AUTH",
        `Registry "${req.registry}" requires authentication and dz has no credentials for it`,
        {
          hint: `Run "dz login ${req.registry}"`,
        },
      );
    }
    headers.set("Authorization", second);
    return await transport.send(url, { ...base, headers });
  }

  function refName(repo: RepoRef, reference: string): string {
    return `${repo.registry}/${repo.repository}${isDigest(reference) ? "@" : ":"}${reference}`;
  }

  function checkReference(repo: RepoRef, reference: string): void {
    if (!isDigest(reference) && !TAG_REGEXP.test(reference)) {
      throw new DropzoneError(
        "INVALID_REFERENCE",
        `Invalid tag or digest "${reference}" for "${repo.repository}"`,
        {
          hint: "Use a tag like 1.2.3 or a digest like sha256:<64 hex>",
        },
      );
    }
  }

  const repoReq = (repo: RepoRef) => ({
    registry: repo.registry,
    repository: repo.repository,
    scope: `repository:${repo.repository}:pull`,
  });

  async function getManifest(
    repo: RepoRef,
    reference: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<FetchedManifest> {
    checkReference(repo, reference);
    const name = refName(repo, reference);
    const res = await send({
      ...repoReq(repo),
      path: `/v2/${repo.repository}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status !== 200) {
      throw await errorFromResponse(res, {
        registry: repo.registry,
        action: `fetch manifest "${name}"`,
        notFoundCode: "MANIFEST_UNKNOWN",
      });
    }
    const bytes = await readCapped(res, maxManifestBytes, repo.registry, `manifest for "${name}"`);
    return await decodeManifest(repo, reference, bytes, res.headers.get("content-type") ?? undefined);
  }

  async function decodeManifest(
    repo: RepoRef,
    reference: string,
    bytes: Uint8Array,
    contentType: string | undefined,
  ): Promise<FetchedManifest> {
    const name = refName(repo, reference);
    const digest = await sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new DropzoneError(
        "DIGEST_MISMATCH",
        `Manifest "${name}" from registry "${repo.registry}" hashes to ${digest}`,
        { hint: "The registry served different content than requested; do not trust it" },
      );
    }
    let manifest: AnyManifest;
    try {
      manifest = parseManifest(bytes, contentType);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      const unsupported = cause instanceof UnsupportedMediaTypeError;
      throw new DropzoneError(
        unsupported ? "UNSUPPORTED_MEDIA_TYPE" : "REGISTRY_PROTOCOL",
        `Cannot read manifest "${name}" from registry "${repo.registry}": ${message.split("\n")[0]}`,
        {
          hint: unsupported
            ? "dz reads OCI and Docker schema 2 images only"
            : "Report this to the image publisher",
          cause,
        },
      );
    }
    return { digest, mediaType: manifest.mediaType, bytes, manifest };
  }

  async function headManifest(
    repo: RepoRef,
    reference: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<ManifestHead | null> {
    checkReference(repo, reference);
    const name = refName(repo, reference);
    const res = await send({
      ...repoReq(repo),
      method: "HEAD",
      path: `/v2/${repo.repository}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await res.body?.cancel();
    if (res.status === 404) return null;
    if (res.status !== 200) {
      throw await errorFromResponse(res, { registry: repo.registry, action: `check manifest "${name}"` });
    }
    const header = res.headers.get("docker-content-digest")?.trim() ?? "";
    const size = Number(res.headers.get("content-length") ?? "NaN");
    const mediaType = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
    const rateLimit = parseRateLimit(res.headers);
    if (isDigest(header) && Number.isSafeInteger(size) && mediaType) {
      if (isDigest(reference) && header !== reference) {
        throw new DropzoneError(
          "DIGEST_MISMATCH",
          `Manifest "${name}" on registry "${repo.registry}" reports digest ${header}`,
          { hint: "The registry served different content than requested; do not trust it" },
        );
      }
      return { digest: header, mediaType, size, ...(rateLimit ? { rateLimit } : {}) };
    }
    try {
      const fetched = await getManifest(repo, reference, opts);
      return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.byteLength };
    } catch (err) {
      if (err instanceof DropzoneError && err.code === "MANIFEST_UNKNOWN") return null;
      throw err;
    }
  }

  async function getBlob(
    repo: RepoRef,
    digest: Digest,
    opts: BlobOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const { size, signal, onProgress } = opts;
    const what = `blob ${digest} from registry "${repo.registry}"`;
    const request = {
      ...repoReq(repo),
      path: `/v2/${repo.repository}/blobs/${digest}`,
      ...(signal ? { signal } : {}),
    };
    const res = await send(request);
    if (res.status !== 200 || !res.body) {
      throw await errorFromResponse(res, { registry: repo.registry, action: `fetch blob ${digest}` });
    }
    let reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
    let received = 0;
    let resumes = 0;
    // A transfer fault (connection lost, a stalled body, a body shorter than the descriptor says) is resumed
    // with Range up to `retries` times, then reported as REGISTRY_UNREACHABLE (exit 1). Only bytes that
    // arrive and hash wrong, or more bytes than the descriptor says, are a trust failure (digestVerifier).
    const lost = (detail: string, cause?: unknown) =>
      new RegistryError("REGISTRY_UNREACHABLE", `Cannot download ${what}: ${detail}`, {
        hint: "Check the network and try again",
        retryable: true,
        ...(cause === undefined ? {} : { cause }),
      });
    /** Opens a Range resume at `received`; an error to report, or undefined when `reader` was replaced. */
    async function resume(): Promise<unknown> {
      resumes++;
      const again = await send({ ...request, headers: { Range: `bytes=${received}-` } }).catch((e) => e);
      if (again instanceof Error) return again;
      const resumed = again as Response;
      if (resumed.status === 206 && resumed.body) {
        const start = /^bytes (\d+)-/.exec(resumed.headers.get("content-range") ?? "")?.[1];
        if (start !== undefined && Number(start) !== received) {
          await resumed.body.cancel();
          return new DropzoneError(
            "REGISTRY_PROTOCOL",
            `Registry "${repo.registry}" resumed ${digest} at the wrong offset`,
          );
        }
        reader = resumed.body.getReader();
        return undefined;
      }
      if (resumed.status === 200 && resumed.body) {
        reader = resumed.body.pipeThrough(skipBytes(received)).getReader();
        return undefined;
      }
      return await errorFromResponse(resumed, { registry: repo.registry, action: `resume blob ${digest}` });
    }
    const source = new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (true) {
          let fault: unknown;
          try {
            const { done, value } = await reader.read();
            if (!done) {
              received += value.byteLength;
              onProgress?.(value.byteLength);
              controller.enqueue(value);
              return;
            }
            if (size === undefined || received >= size) {
              controller.close();
              return;
            }
            fault = lost(`the registry sent ${formatBytes(received)} of ${formatBytes(size)}`);
          } catch (err) {
            if (!isConnectionError(err) || signal?.aborted) {
              controller.error(err);
              return;
            }
            fault = err instanceof RegistryError
              ? err
              : lost(`connection lost after ${formatBytes(received)}`, err);
          }
          if (resumes >= retries) {
            controller.error(fault);
            return;
          }
          const failed = await resume();
          if (failed !== undefined) {
            controller.error(failed);
            return;
          }
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    return source.pipeThrough(digestVerifier(digest, { what, ...(size === undefined ? {} : { size }) }));
  }

  async function getBlobBytes(
    repo: RepoRef,
    digest: Digest,
    opts: BlobOptions & { maxBytes?: number } = {},
  ): Promise<Uint8Array> {
    const { maxBytes = MAX_MANIFEST_BYTES, ...rest } = opts;
    if (rest.size !== undefined && rest.size > maxBytes) {
      throw new DropzoneError(
        "REGISTRY_PROTOCOL",
        `Blob ${digest} on registry "${repo.registry}" is ${formatBytes(rest.size)}, over the ${
          formatBytes(maxBytes)
        } limit`,
      );
    }
    const stream = await getBlob(repo, digest, rest);
    return await readCapped(new Response(stream), maxBytes, repo.registry, `blob ${digest}`);
  }

  /** Follows `Link: <…>; rel="next"` pages, staying on the registry's origin. */
  async function paginate<T>(
    first: AuthedRequest,
    page: (res: Response) => Promise<T[]>,
    onError: (res: Response) => Promise<DropzoneError>,
  ): Promise<T[]> {
    const out: T[] = [];
    const origin = originFor(first.registry);
    const seen = new Set<string>();
    let path: string | undefined = first.path;
    for (let n = 0; path !== undefined; n++) {
      if (n >= MAX_PAGES || seen.has(path)) {
        throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${first.registry}" paginates without end`);
      }
      seen.add(path);
      const res = await send({ ...first, path });
      if (res.status !== 200) throw await onError(res);
      const link = res.headers.get("link");
      out.push(...await page(res));
      path = undefined;
      const next = link ? /<([^>]*)>\s*;[^,]*rel="?next"?/i.exec(link)?.[1] : undefined;
      if (next) {
        const url = new URL(next, origin + "/");
        if (url.origin !== origin) {
          throw new DropzoneError(
            "REGISTRY_PROTOCOL",
            `Registry "${first.registry}" sent a pagination link to another host (${redactUrl(url)})`,
          );
        }
        path = url.pathname + url.search;
      }
    }
    return out;
  }

  async function jsonList(res: Response, registry: string, field: string): Promise<string[]> {
    const bytes = await readCapped(res, MAX_LIST_BYTES, registry, `${field} list`);
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch (cause) {
      throw new DropzoneError(
        "REGISTRY_PROTOCOL",
        `Registry "${registry}" sent a ${field} list that is not JSON`,
        {
          hint: "Report this to the registry operator",
          cause,
        },
      );
    }
    const list = typeof doc === "object" && doc !== null
      ? (doc as Record<string, unknown>)[field]
      : undefined;
    if (list === null || list === undefined) return [];
    if (!Array.isArray(list) || list.some((t) => typeof t !== "string")) {
      throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${registry}" sent a malformed ${field} list`);
    }
    return list as string[];
  }

  async function listTags(
    repo: RepoRef,
    opts: { signal?: AbortSignal; pageSize?: number } = {},
  ): Promise<string[]> {
    const query = opts.pageSize ? `?n=${opts.pageSize}` : "";
    return await paginate(
      {
        ...repoReq(repo),
        path: `/v2/${repo.repository}/tags/list${query}`,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => jsonList(res, repo.registry, "tags"),
      (res) =>
        errorFromResponse(res, {
          registry: repo.registry,
          action: `list tags of "${repo.registry}/${repo.repository}"`,
          notFoundCode: "MANIFEST_UNKNOWN",
        }),
    );
  }

  async function catalog(
    registry: string,
    opts: { signal?: AbortSignal; pageSize?: number } = {},
  ): Promise<string[]> {
    const query = opts.pageSize ? `?n=${opts.pageSize}` : "";
    return await paginate(
      {
        registry,
        scope: "registry:catalog:*",
        path: `/v2/_catalog${query}`,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => jsonList(res, registry, "repositories"),
      async (res) => {
        if ([401, 403, 404, 405].includes(res.status)) {
          await res.body?.cancel();
          return new DropzoneError(
            "CATALOG_UNAVAILABLE",
            `Registry "${registry}" does not offer a repository catalog (${res.status})`,
            { hint: "Name the repository directly, e.g. dz tags <registry>/<repository>" },
          );
        }
        return await errorFromResponse(res, { registry, action: "list repositories" });
      },
    );
  }

  async function referrers(
    repo: RepoRef,
    digest: Digest,
    opts: { artifactType?: string; signal?: AbortSignal } = {},
  ): Promise<Descriptor[]> {
    const { artifactType, signal } = opts;
    const keep = (list: readonly Descriptor[]) =>
      artifactType === undefined ? [...list] : list.filter((d) => d.artifactType === artifactType);
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "";
    const res = await send({
      ...repoReq(repo),
      path: `/v2/${repo.repository}/referrers/${digest}${query}`,
      headers: { Accept: MEDIA_TYPES.OCI_INDEX },
      ...(signal ? { signal } : {}),
    });
    const type = res.headers.get("content-type")?.split(";")[0]?.trim();
    if (res.status === 200 && type === MEDIA_TYPES.OCI_INDEX) {
      const bytes = await readCapped(res, maxManifestBytes, repo.registry, "referrers list");
      let list: AnyManifest;
      try {
        list = parseManifest(bytes, type);
      } catch (cause) {
        throw new DropzoneError(
          "REGISTRY_PROTOCOL",
          `Cannot read referrers of ${digest} from registry "${repo.registry}": ${(cause as Error).message}`,
          { cause },
        );
      }
      if (list.kind !== "index") return [];
      return keep(list.manifests);
    }
    if (res.status === 401 || res.status === 403 || res.status === 429) {
      throw await errorFromResponse(res, { registry: repo.registry, action: `list referrers of ${digest}` });
    }
    await res.body?.cancel();
    // No referrers API: the OCI 1.1 fallback tag. A fallback that is not an index (GHCR has served the image
    // itself there) carries no referrers.
    try {
      const fallback = await getManifest(repo, `sha256-${digestHex(digest)}`, signal ? { signal } : {});
      return fallback.manifest.kind === "index" ? keep(fallback.manifest.manifests) : [];
    } catch (err) {
      if (err instanceof DropzoneError && err.code === "MANIFEST_UNKNOWN") return [];
      throw err;
    }
  }

  async function ping(
    registry: string,
    opts: { signal?: AbortSignal; credential?: Credential } = {},
  ): Promise<void> {
    const res = await send({
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

  return { ping, getManifest, headManifest, getBlob, getBlobBytes, listTags, catalog, referrers, originFor };
}

/** Parses Docker Hub's `RateLimit-Limit: 100;w=21600` / `RateLimit-Remaining: 87;w=21600`. Pure. */
export function parseRateLimit(headers: Headers): RateLimit | undefined {
  const parse = (v: string | null) => {
    const m = v ? /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(v) : null;
    return m ? { n: Number(m[1]), w: m[2] === undefined ? undefined : Number(m[2]) } : undefined;
  };
  const limit = parse(headers.get("ratelimit-limit"));
  const remaining = parse(headers.get("ratelimit-remaining"));
  if (!limit || !remaining) return undefined;
  const windowSeconds = remaining.w ?? limit.w;
  return {
    limit: limit.n,
    remaining: remaining.n,
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
  };
}

/** Drops the first `count` bytes of a stream (a server that ignored our Range header). */
function skipBytes(count: number): TransformStream<Uint8Array, Uint8Array> {
  let left = count;
  return new TransformStream({
    transform(chunk, controller) {
      if (left >= chunk.byteLength) {
        left -= chunk.byteLength;
        return;
      }
      controller.enqueue(left > 0 ? chunk.subarray(left) : chunk);
      left = 0;
    },
  });
}

/**
 * Fetches a referrer manifest and checks that its `subject` is `subjectDigest`: a referrers list (or fallback
 * tag) is only an index, anyone able to push can add entries, so the link must be confirmed on the manifest.
 */
export async function fetchReferrerManifest(
  client: RegistryClient,
  repo: RepoRef,
  descriptor: Descriptor,
  subjectDigest: Digest,
): Promise<FetchedManifest> {
  const fetched = await client.getManifest(repo, descriptor.digest);
  if (fetched.manifest.subject?.digest !== subjectDigest) {
    throw new DropzoneError(
      "REGISTRY_PROTOCOL",
      `Referrer ${descriptor.digest} on registry "${repo.registry}" does not refer to ${subjectDigest}`,
      { hint: "The registry's referrers list is inconsistent; the artifact was ignored" },
    );
  }
  return fetched;
}
