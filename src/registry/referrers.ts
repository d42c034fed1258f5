/** Referrers of a digest (OCI 1.1 API, else the `sha256-<hex>` fallback tag) and subject-checked referrer reads. */
import { DropzoneError } from "../errors.ts";
import { type Digest, digestHex } from "../oci/digest.ts";
import { type AnyManifest, type Descriptor, parseManifest } from "../oci/manifest.ts";
import { MEDIA_TYPES } from "../oci/media_types.ts";
import { getManifest, repoRequest, type ResourceContext } from "./manifests.ts";
import { errorFromResponse, readCapped } from "./registry_error.ts";
import type { FetchedManifest, RegistryClient, RepoRef } from "./types.ts";

/** Lists the referrers of `digest`, optionally only those of one artifact type. */
export async function referrers(
  ctx: ResourceContext,
  repo: RepoRef,
  digest: Digest,
  opts: { artifactType?: string | undefined; signal?: AbortSignal | undefined } = {},
): Promise<Descriptor[]> {
  const { artifactType, signal } = opts;
  const keep = (list: readonly Descriptor[]) =>
    artifactType === undefined ? [...list] : list.filter((d) => d.artifactType === artifactType);
  const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "";
  const res = await ctx.http.send({
    ...repoRequest(repo),
    path: `/v2/${repo.repository}/referrers/${digest}${query}`,
    headers: { Accept: MEDIA_TYPES.OCI_INDEX },
    ...(signal ? { signal } : {}),
  });
  const type = res.headers.get("content-type")?.split(";")[0]?.trim();
  if (res.status === 200 && type === MEDIA_TYPES.OCI_INDEX) {
    const bytes = await readCapped(res, ctx.maxManifestBytes, repo.registry, "referrers list");
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
    const fallback = await getManifest(ctx, repo, `sha256-${digestHex(digest)}`, signal ? { signal } : {});
    return fallback.manifest.kind === "index" ? keep(fallback.manifest.manifests) : [];
  } catch (err) {
    if (err instanceof DropzoneError && err.code === "MANIFEST_UNKNOWN") return [];
    throw err;
  }
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
