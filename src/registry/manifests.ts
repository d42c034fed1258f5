/** Manifest reads (GET and HEAD by tag or digest) with digest checks, size caps and rate-limit headers. */
import { DropzoneError } from "../errors.ts";
import { isDigest, sha256Digest } from "../oci/digest.ts";
import { type AnyManifest, parseManifest, UnsupportedMediaTypeError } from "../oci/manifest.ts";
import { MANIFEST_ACCEPT } from "../oci/media_types.ts";
import { errorFromResponse, readCapped } from "./registry_error.ts";
import type { FetchedManifest, ManifestHead, RateLimit, RepoRef } from "./types.ts";
import type { AuthedRequest, AuthedTransport } from "./with_auth.ts";

/** Manifests (and indexes, referrer lists) larger than this are refused. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const TAG_REGEXP = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** What every resource module needs: the authenticating transport and the client's limits. */
export interface ResourceContext {
  readonly http: AuthedTransport;
  /** @default {4 MiB} */
  readonly maxManifestBytes: number;
  /** Range resumes per blob. */
  readonly retries: number;
}

/** `registry/repository:tag` or `registry/repository@digest`, for messages. */
export function refName(repo: RepoRef, reference: string): string {
  return `${repo.registry}/${repo.repository}${isDigest(reference) ? "@" : ":"}${reference}`;
}

function checkReference(repo: RepoRef, reference: string): void {
  if (!isDigest(reference) && !TAG_REGEXP.test(reference)) {
    throw new DropzoneError(
      "INVALID_REFERENCE",
      // JSON quoting escapes control characters, so a hostile tag cannot break the one-line error.
      `Invalid tag or digest ${JSON.stringify(reference)} for "${repo.repository}"`,
      { hint: "Use a tag like 1.2.3 or a digest like sha256:<64 hex>" },
    );
  }
}

/** The request fields for a pull from `repo`. */
export function repoRequest(repo: RepoRef): Pick<AuthedRequest, "registry" | "repository" | "scope"> {
  return {
    registry: repo.registry,
    repository: repo.repository,
    scope: `repository:${repo.repository}:pull`,
  };
}

/** GETs a manifest; a digest reference must hash to itself. */
export async function getManifest(
  ctx: ResourceContext,
  repo: RepoRef,
  reference: string,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<FetchedManifest> {
  checkReference(repo, reference);
  const name = refName(repo, reference);
  const res = await ctx.http.send({
    ...repoRequest(repo),
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
  const bytes = await readCapped(res, ctx.maxManifestBytes, repo.registry, `manifest for "${name}"`);
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

/** HEADs a manifest (falling back to a GET when the registry omits the digest); null when it is not there. */
export async function headManifest(
  ctx: ResourceContext,
  repo: RepoRef,
  reference: string,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<ManifestHead | null> {
  checkReference(repo, reference);
  const name = refName(repo, reference);
  const res = await ctx.http.send({
    ...repoRequest(repo),
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
    const fetched = await getManifest(ctx, repo, reference, opts);
    return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.byteLength };
  } catch (err) {
    if (err instanceof DropzoneError && err.code === "MANIFEST_UNKNOWN") return null;
    throw err;
  }
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
