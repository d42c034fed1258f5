/**
 * An in-process OCI registry for tests: `Deno.serve` on 127.0.0.1:0 serving blobs, manifests, tags, catalog
 * and referrers from memory, with switchable misbehaviour. It accepts pushes (monolithic blob upload and
 * manifest PUT, never authenticated), so `oci_push.ts` and `image_builder.ts#pushImage` work against it.
 *
 * ```ts
 * await using reg = await startFakeRegistry({ auth: "bearer", users: { alice: "secret" } });
 * await pushImage(reg, "team/app", "1.0", await buildImage({ layers: [...] }));
 * reg.behaviour.redirectBlobs = true; // switch misbehaviour at any time
 * reg.requests / reg.cdnRequests       // what clients sent (method, path, authorization, range)
 * ```
 */
import { type Digest, isDigest, sha256Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { halfThenBreak } from "./broken_body.ts";

/** Switchable misbehaviour; mutate `registry.behaviour` between requests. */
export interface FakeBehaviour {
  /** "bearer": Docker-Hub-like token auth with the realm at /token on the same server. @default {"none"} */
  auth: "none" | "bearer" | "basic";
  /** Accepted username → password. */
  users: Record<string, string>;
  /** Identity (refresh) tokens accepted by the token endpoint's POST. */
  refreshTokens: string[];
  /** Bearer: the token endpoint gives anonymous pull tokens. @default {true} */
  anonymousPull: boolean;
  /** expires_in of issued tokens (omitted when undefined). */
  tokenExpiresIn: number | undefined;
  /** The realm bearer challenges name. @default {"<this server's origin>/token"} */
  realm: string | undefined;
  /** The token endpoint answers 200 with non-JSON. */
  garbageToken: boolean;
  /** Blob GETs redirect (307) to a second server (another origin) with a query token. */
  redirectBlobs: boolean;
  /** The next `count` /v2/ requests get 429 with these headers. */
  rateLimit: { count: number; retryAfter?: string; remaining?: string } | undefined;
  /** Docker-Hub-style quota headers on every manifest response (e.g. "100;w=21600", "87;w=21600"). */
  quota: { limit: string; remaining: string } | undefined;
  /** The next N blob GETs (not Range resumes) drop the connection after half the bytes. */
  resetBlobs: number;
  /** Blobs and manifests fetched by digest are served with different bytes. */
  wrongDigest: boolean;
  /** Manifest GETs stream 5 MiB (chunked, no Content-Length). */
  oversizedManifest: boolean;
  /** Manifest GETs return invalid JSON. */
  malformedJson: boolean;
  /** Manifest HEADs omit Docker-Content-Digest. */
  omitDigestHeader: boolean;
  /** /v2/_catalog answers 404. */
  noCatalog: boolean;
  /** /v2/<name>/referrers/<digest> answers 404 (fallback tag schema only). */
  noReferrersApi: boolean;
  /** The fallback tag `sha256-<hex>` serves the subject image itself (GHCR once did). */
  fallbackTagReturnsImage: boolean;
  /** Blob GETs redirect to themselves forever. */
  redirectLoop: boolean;
  /** Every /v2/ request hangs until the registry is disposed. */
  hang: boolean;
  /** Blob GETs send half the bytes, then stall until the registry is disposed. */
  stallBlobs: boolean;
  /** The next N blob GETs (not Range resumes) send half the bytes, then stall until disposed. */
  stallBlobsOnce: number;
  /** The next N blob GETs (Range resumes included) end cleanly after half the bytes asked for (a lying size). */
  shortBlobs: number;
  /** Tag and catalog page size when the client sends no `n`. */
  pageSize: number | undefined;
  /** Blob GET bodies are sent at about this many bytes per second (in 32 KiB chunks); undefined = at once. */
  blobBytesPerSecond: number | undefined;
  /** Every pull request (manifests, blobs, tags, referrers, catalog) answers with this OCI error. */
  failWith: { status: number; code: string; message: string } | undefined;
}

/** One request as the fake saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly authorization: string | null;
  readonly range: string | null;
  readonly userAgent: string | null;
}

/** A running fake registry. Also a `PushTarget` ({ url }). */
export interface FakeRegistry extends AsyncDisposable {
  /** 127.0.0.1:port */
  readonly host: string;
  /** http://127.0.0.1:port */
  readonly url: string;
  /** The "CDN" origin blob redirects point to. */
  readonly cdnUrl: string;
  readonly behaviour: FakeBehaviour;
  readonly requests: RecordedRequest[];
  readonly cdnRequests: RecordedRequest[];
  /** Number of token requests served. */
  readonly tokenRequests: () => number;
  /** Stores a blob directly. */
  putBlob(bytes: Uint8Array): Promise<Digest>;
  /** Stores a manifest directly under a tag (or only by digest when `tag` is undefined). */
  putManifest(
    repository: string,
    tag: string | undefined,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<Digest>;
  close(): Promise<void>;
}

const DEFAULTS: FakeBehaviour = {
  auth: "none",
  users: {},
  refreshTokens: [],
  anonymousPull: true,
  tokenExpiresIn: 300,
  garbageToken: false,
  realm: undefined,
  redirectBlobs: false,
  rateLimit: undefined,
  quota: undefined,
  resetBlobs: 0,
  wrongDigest: false,
  oversizedManifest: false,
  malformedJson: false,
  omitDigestHeader: false,
  noCatalog: false,
  noReferrersApi: false,
  fallbackTagReturnsImage: false,
  redirectLoop: false,
  hang: false,
  stallBlobs: false,
  stallBlobsOnce: 0,
  shortBlobs: 0,
  pageSize: undefined,
  blobBytesPerSecond: undefined,
  failWith: undefined,
};

function ociError(status: number, code: string, message: string, headers: HeadersInit = {}): Response {
  return Response.json({ errors: [{ code, message }] }, { status, headers });
}

function record(req: Request, url: URL): RecordedRequest {
  return {
    method: req.method,
    path: url.pathname,
    search: url.search,
    authorization: req.headers.get("authorization"),
    range: req.headers.get("range"),
    userAgent: req.headers.get("user-agent"),
  };
}

function rangeResponse(req: Request, bytes: Uint8Array, headers: Record<string, string>): Response {
  const m = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
  if (m) {
    const start = Number(m[1]);
    if (start >= bytes.length) return new Response(null, { status: 416 });
    return new Response(bytes.slice(start) as BodyInit, {
      status: 206,
      headers: { ...headers, "Content-Range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` },
    });
  }
  return new Response(req.method === "HEAD" ? null : bytes as BodyInit, {
    headers: { ...headers, "Content-Length": String(bytes.length) },
  });
}

function paginate(
  url: URL,
  all: string[],
  defaultPage: number | undefined,
  basePath: string,
): { items: string[]; link?: string } {
  const n = url.searchParams.has("n") ? Number(url.searchParams.get("n")) : defaultPage;
  const last = url.searchParams.get("last");
  const after = last === null ? all : all.filter((t) => t > last);
  if (n === undefined || after.length <= n) return { items: after };
  const items = after.slice(0, n);
  return {
    items,
    link: `<${basePath}?n=${n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"`,
  };
}

/** Starts a fake registry (and its CDN) on loopback. Dispose it with `await using`. */
export function startFakeRegistry(behaviour: Partial<FakeBehaviour> = {}): Promise<FakeRegistry> {
  const b: FakeBehaviour = { ...DEFAULTS, ...behaviour };
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, { bytes: Uint8Array; mediaType: string }>(); // digest → manifest
  const repos = new Map<string, { tags: Map<string, Digest>; digests: Set<Digest> }>();
  const tokens = new Map<string, Set<string>>();
  const requests: RecordedRequest[] = [];
  const cdnRequests: RecordedRequest[] = [];
  const uploads = new Map<string, string>();
  let tokenCount = 0;
  let releaseHang!: () => void;
  const hangRelease = new Promise<void>((r) => releaseHang = r);

  const repoOf = (name: string) => {
    let r = repos.get(name);
    if (!r) repos.set(name, r = { tags: new Map(), digests: new Set() });
    return r;
  };

  const cdn = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    cdnRequests.push(record(req, url));
    const digest = url.pathname.replace(/^\/cdn\//, "");
    const bytes = blobs.get(digest);
    if (!bytes) return new Response("no such blob", { status: 404 });
    return rangeResponse(req, bytes, { "Content-Type": "application/octet-stream" });
  });
  const cdnUrl = `http://127.0.0.1:${cdn.addr.port}`;

  function tokenEndpoint(req: Request, url: URL, body: string | undefined): Response {
    tokenCount++;
    if (b.garbageToken) return new Response("<html>definitely not a token", { status: 200 });
    let user: string | undefined;
    const auth = req.headers.get("authorization");
    let scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" "));
    if (req.method === "POST") {
      const form = new URLSearchParams(body ?? "");
      if (!b.refreshTokens.includes(form.get("refresh_token") ?? "")) {
        return ociError(401, "UNAUTHORIZED", "bad refresh token");
      }
      user = "token-user";
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
    } else if (auth?.startsWith("Basic ")) {
      const [name, ...rest] = atob(auth.slice(6)).split(":");
      if (!name || b.users[name] !== rest.join(":")) {
        return ociError(401, "UNAUTHORIZED", "incorrect username or password");
      }
      user = name;
    }
    const granted = scopes.filter((s) =>
      user !== undefined || (b.anonymousPull && s.startsWith("repository:"))
    );
    const token = `tok-${crypto.randomUUID()}`;
    tokens.set(token, new Set(granted));
    return Response.json({
      token,
      access_token: token,
      ...(b.tokenExpiresIn === undefined ? {} : { expires_in: b.tokenExpiresIn }),
    });
  }

  function authorized(req: Request, scope: string | undefined): boolean {
    const auth = req.headers.get("authorization") ?? "";
    if (b.auth === "none") return true;
    if (b.auth === "basic") {
      if (!auth.startsWith("Basic ")) return false;
      const [name, ...rest] = atob(auth.slice(6)).split(":");
      return !!name && b.users[name] === rest.join(":");
    }
    if (!auth.startsWith("Bearer ")) return false;
    const granted = tokens.get(auth.slice(7));
    return granted !== undefined && (scope === undefined || granted.has(scope));
  }

  function challenge(url: URL, scope: string | undefined): Response {
    const header = b.auth === "basic"
      ? `Basic realm="fake registry"`
      : `Bearer realm="${b.realm ?? `${url.origin}/token`}",service="fake-registry"${
        scope ? `,scope="${scope}"` : ""
      }`;
    return ociError(401, "UNAUTHORIZED", "authentication required", { "WWW-Authenticate": header });
  }

  function referrersOf(name: string, digest: string, artifactType: string | null): Uint8Array {
    const list = [];
    for (const d of repoOf(name).digests) {
      const m = manifests.get(d)!;
      const doc = JSON.parse(new TextDecoder().decode(m.bytes));
      if (doc.subject?.digest !== digest) continue;
      const type = doc.artifactType ?? doc.config?.mediaType;
      if (artifactType && type !== artifactType) continue;
      list.push({
        mediaType: m.mediaType,
        digest: d,
        size: m.bytes.length,
        artifactType: type,
        ...(doc.annotations ? { annotations: doc.annotations } : {}),
      });
    }
    return new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_INDEX, manifests: list }),
    );
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    requests.push(record(req, url));
    const body = req.method === "PUT" || req.method === "POST"
      ? new Uint8Array(await req.arrayBuffer())
      : undefined;
    if (url.pathname === "/token") return tokenEndpoint(req, url, body && new TextDecoder().decode(body));
    if (!url.pathname.startsWith("/v2/")) return new Response("not found", { status: 404 });

    // Pushes: never authenticated, never misbehaving.
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (upload && req.method === "POST") {
      const id = crypto.randomUUID();
      uploads.set(id, upload[1]!);
      return new Response(null, {
        status: 202,
        headers: { Location: `/v2/${upload[1]}/blobs/uploads/${id}` },
      });
    }
    if (upload && req.method === "PUT") {
      const digest = await sha256Digest(body!);
      if (digest !== url.searchParams.get("digest")) {
        return ociError(400, "DIGEST_INVALID", "digest mismatch");
      }
      blobs.set(digest, body!);
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": digest } });
    }
    const manifestPut = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifestPut && req.method === "PUT") {
      const ref = manifestPut[2]!;
      const digest = await api.putManifest(
        manifestPut[1]!,
        isDigest(ref) ? undefined : ref,
        body!,
        req.headers.get("content-type") ?? MEDIA_TYPES.OCI_MANIFEST,
      );
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": digest } });
    }

    if (b.hang) {
      await hangRelease;
      return new Response("too late", { status: 503 });
    }
    if (b.rateLimit && b.rateLimit.count > 0) {
      b.rateLimit.count--;
      return ociError(429, "TOOMANYREQUESTS", "You have reached your pull rate limit", {
        ...(b.rateLimit.retryAfter ? { "Retry-After": b.rateLimit.retryAfter } : {}),
        ...(b.rateLimit.remaining ? { "RateLimit-Remaining": b.rateLimit.remaining } : {}),
      });
    }

    if (url.pathname === "/v2/" || url.pathname === "/v2") {
      if (!authorized(req, undefined)) return challenge(url, undefined);
      return Response.json({});
    }
    if (b.failWith) return ociError(b.failWith.status, b.failWith.code, b.failWith.message);
    if (url.pathname === "/v2/_catalog") {
      const scope = "registry:catalog:*";
      if (!authorized(req, scope)) return challenge(url, scope);
      if (b.noCatalog) return ociError(404, "UNSUPPORTED", "catalog disabled");
      const page = paginate(url, [...repos.keys()].sort(), b.pageSize, "/v2/_catalog");
      return Response.json({ repositories: page.items }, { headers: page.link ? { Link: page.link } : {} });
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname) ??
      /^\/v2\/(.+)\/(tags)\/list$/.exec(url.pathname);
    if (!m) return ociError(404, "NAME_UNKNOWN", "unknown path");
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    const scope = `repository:${name}:pull`;
    if (!authorized(req, scope)) return challenge(url, scope);
    const repo = repos.get(name);

    if (kind === "tags") {
      if (!repo) return ociError(404, "NAME_UNKNOWN", "repository name not known to registry");
      const page = paginate(url, [...repo.tags.keys()].sort(), b.pageSize, `/v2/${name}/tags/list`);
      return Response.json({ name, tags: page.items }, { headers: page.link ? { Link: page.link } : {} });
    }
    if (kind === "referrers") {
      if (b.noReferrersApi) return ociError(404, "NAME_UNKNOWN", "no referrers API");
      return new Response(referrersOf(name, ref, url.searchParams.get("artifactType")) as BodyInit, {
        headers: {
          "Content-Type": MEDIA_TYPES.OCI_INDEX,
          ...(url.searchParams.get("artifactType") ? { "OCI-Filters-Applied": "artifactType" } : {}),
        },
      });
    }
    if (kind === "manifests") {
      let digest = isDigest(ref) ? ref : repo?.tags.get(ref);
      if (!digest && b.fallbackTagReturnsImage && /^sha256-[a-f0-9]{64}$/.test(ref)) {
        digest = ref.replace("-", ":") as Digest;
      }
      const found = digest && repo?.digests.has(digest) ? manifests.get(digest) : undefined;
      if (!found || !digest) return ociError(404, "MANIFEST_UNKNOWN", "manifest unknown");
      let bytes = found.bytes;
      if (b.wrongDigest && isDigest(ref)) bytes = new Uint8Array([...bytes, 0x20]);
      if (b.malformedJson) bytes = new TextEncoder().encode('{"schemaVersion": 2, "mediaType": ');
      const headers: Record<string, string> = { "Content-Type": found.mediaType };
      if (!b.omitDigestHeader) headers["Docker-Content-Digest"] = digest;
      if (b.quota) {
        headers["RateLimit-Limit"] = b.quota.limit;
        headers["RateLimit-Remaining"] = b.quota.remaining;
      }
      if (b.oversizedManifest && req.method === "GET") {
        let left = 5;
        return new Response(
          new ReadableStream({
            pull(c) {
              if (left-- > 0) c.enqueue(new Uint8Array(1024 * 1024).fill(0x20));
              else c.close();
            },
          }),
          { headers },
        );
      }
      headers["Content-Length"] = String(bytes.length);
      return new Response(req.method === "HEAD" ? null : bytes as BodyInit, { headers });
    }
    // blobs
    const bytes = blobs.get(ref);
    if (!bytes) return ociError(404, "BLOB_UNKNOWN", "blob unknown to registry");
    if (b.redirectLoop) {
      return new Response(null, {
        status: 302,
        headers: { Location: `${url.pathname}?hop=${requests.length}` },
      });
    }
    if (b.redirectBlobs) {
      return new Response(null, {
        status: 307,
        headers: { Location: `${cdnUrl}/cdn/${ref}?X-Amz-Signature=supersecret` },
      });
    }
    let served = bytes;
    if (b.wrongDigest) {
      served = bytes.slice();
      if (served.length) served[served.length - 1] = served[served.length - 1]! ^ 0xff;
      else served = new Uint8Array([1]);
    }
    const fresh = req.method === "GET" && !req.headers.has("range");
    if (b.shortBlobs > 0 && req.method === "GET") {
      b.shortBlobs--;
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "")?.[1] ?? "0");
      const half = served.slice(start, start + Math.ceil((served.length - start) / 2));
      const headers: Record<string, string> = { "Content-Length": String(half.length) };
      if (start > 0) headers["Content-Range"] = `bytes ${start}-${served.length - 1}/${served.length}`;
      return new Response(half as BodyInit, { status: start > 0 ? 206 : 200, headers });
    }
    const stallOnce = b.stallBlobsOnce > 0 && fresh;
    if (stallOnce) b.stallBlobsOnce--;
    if ((b.stallBlobs && req.method === "GET") || stallOnce) {
      let sent = false;
      const stalled = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (!sent) {
            sent = true;
            c.enqueue(served.slice(0, Math.floor(served.length / 2)));
            return;
          }
          await hangRelease;
          c.close();
        },
      });
      return new Response(stalled, { headers: { "Content-Length": String(served.length) } });
    }
    const rate = b.blobBytesPerSecond;
    if (rate !== undefined && req.method === "GET" && !req.headers.has("range")) {
      const chunk = 32 * 1024;
      let offset = 0;
      const throttled = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (offset >= served.length) return c.close();
          await new Promise((r) => setTimeout(r, (chunk / rate) * 1000));
          c.enqueue(served.slice(offset, offset + chunk));
          offset += chunk;
        },
      });
      return new Response(throttled, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(served.length) },
      });
    }
    if (b.resetBlobs > 0 && !req.headers.has("range") && req.method === "GET") {
      b.resetBlobs--;
      return new Response(halfThenBreak(served, new Error("fake connection reset"), 20), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(served.length) },
      });
    }
    return rangeResponse(req, served, {
      "Content-Type": "application/octet-stream",
      "Docker-Content-Digest": ref,
    });
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  const host = `127.0.0.1:${server.addr.port}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    releaseHang();
    await Promise.all([server.shutdown(), cdn.shutdown()]);
  };
  const api: FakeRegistry = {
    host,
    url: `http://${host}`,
    cdnUrl,
    behaviour: b,
    requests,
    cdnRequests,
    tokenRequests: () => tokenCount,
    async putBlob(bytes) {
      const digest = await sha256Digest(bytes);
      blobs.set(digest, bytes);
      return digest;
    },
    async putManifest(repository, tag, bytes, mediaType) {
      const digest = await sha256Digest(bytes);
      manifests.set(digest, { bytes, mediaType });
      const r = repoOf(repository);
      r.digests.add(digest);
      if (tag !== undefined) r.tags.set(tag, digest);
      return digest;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return Promise.resolve(api);
}
