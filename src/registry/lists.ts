/** Paginated lists: a repository's tags and a registry's catalog, following `Link` pages on the same origin. */
import { DropzoneError } from "../errors.ts";
import { repoRequest, type ResourceContext } from "./manifests.ts";
import { errorFromResponse, parseJsonBody, readCapped, redactUrl } from "./registry_error.ts";
import type { RepoRef } from "./types.ts";
import type { AuthedRequest } from "./with_auth.ts";

const MAX_LIST_BYTES = 4 * 1024 * 1024;
const MAX_PAGES = 1000;

/** Options for a list call. */
export interface ListOptions {
  signal?: AbortSignal | undefined;
  pageSize?: number;
}

/**
 * Every string of the JSON list `field` over all pages from `first.path` (`?n=` per page when asked), following
 * `Link: <…>; rel="next"` pages while they stay on the registry's origin.
 */
async function listPages(
  ctx: ResourceContext,
  first: Omit<AuthedRequest, "signal">,
  field: string,
  opts: ListOptions,
  onError: (res: Response) => Promise<DropzoneError>,
): Promise<string[]> {
  const out: string[] = [];
  const origin = ctx.http.originFor(first.registry);
  const seen = new Set<string>();
  let path: string | undefined = first.path + (opts.pageSize ? `?n=${opts.pageSize}` : "");
  for (let n = 0; path !== undefined; n++) {
    if (n >= MAX_PAGES || seen.has(path)) {
      throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${first.registry}" paginates without end`);
    }
    seen.add(path);
    const res = await ctx.http.send({ ...first, path, signal: opts.signal });
    if (res.status !== 200) throw await onError(res);
    const link = res.headers.get("link");
    out.push(...await jsonList(res, first.registry, field));
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
  const doc = parseJsonBody(bytes, `Registry "${registry}" sent a ${field} list that is not JSON`);
  const list = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>)[field] : undefined;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list) || list.some((t) => typeof t !== "string")) {
    throw new DropzoneError("REGISTRY_PROTOCOL", `Registry "${registry}" sent a malformed ${field} list`);
  }
  return list as string[];
}

/** Every tag of `repo`, all pages. */
export function listTags(ctx: ResourceContext, repo: RepoRef, opts: ListOptions = {}): Promise<string[]> {
  return listPages(
    ctx,
    { ...repoRequest(repo), path: `/v2/${repo.repository}/tags/list` },
    "tags",
    opts,
    (res) =>
      errorFromResponse(res, {
        registry: repo.registry,
        action: `list tags of "${repo.registry}/${repo.repository}"`,
        notFoundCode: "MANIFEST_UNKNOWN",
      }),
  );
}

/** Every repository in the registry's catalog; CATALOG_UNAVAILABLE when it offers none. */
export function catalog(ctx: ResourceContext, registry: string, opts: ListOptions = {}): Promise<string[]> {
  return listPages(
    ctx,
    { registry, scope: "registry:catalog:*", path: "/v2/_catalog" },
    "repositories",
    opts,
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
