/**
 * Cross-checked unsigned installs (the "3TOFU" practice for software nobody signs): the same reference is
 * resolved at other locations, and the install goes ahead only when every one of them serves the same digest.
 * It never replaces a signature: it is only allowed where no policy applies and --allow-unsigned was given.
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import { formatReference, type ResolvedReference, splitRegistryUrl } from "../oci/reference.ts";
import { atLocation, formatHostPath, parseHostPath } from "../registry/mirrors.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import type { Config } from "../store/config.ts";
import type { TrustDecision } from "./image.ts";

/** Where `ref` lives at `location`: the location replaces the ref's registry part (its registry URL). Pure. */
export function crossCheckRepo(ref: ResolvedReference, location: string): RepoRef {
  const { prefix } = splitRegistryUrl(ref.registryUrl);
  const rest = prefix && ref.repository.startsWith(prefix + "/")
    ? ref.repository.slice(prefix.length + 1)
    : ref.repository;
  return atLocation(parseHostPath(location, "cross-check location"), rest);
}

/**
 * The locations to cross-check: the command line's, else the registry's `cross_check:`, deduplicated. Refused
 * (INVALID_ARGUMENT) for a registry with a policy: a signature decides there, and agreement never replaces it.
 * Pure.
 */
export function crossCheckLocations(
  ref: ResolvedReference,
  decision: TrustDecision,
  fromFlags: readonly string[],
  config: Pick<Config, "registries">,
): string[] {
  const fromConfig = config.registries.find((r) => r.name === ref.registryName)?.cross_check ?? [];
  const chosen = fromFlags.length > 0 ? fromFlags : fromConfig;
  if (chosen.length > 0 && decision.kind !== "unsigned") {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Cannot cross-check ${ref.input}: registry "${ref.registryName}" has a signature policy, which decides`,
      { hint: "--cross-check is for unsigned installs (a registry without a policy, with --allow-unsigned)" },
    );
  }
  return [...new Set(chosen.map((l) => formatHostPath(parseHostPath(l, "cross-check location"))))];
}

/**
 * Resolves `ref` at every location and returns them when all agree with `digest` (what the ref's own registry
 * served for the same tag or digest). A location serving another digest is a trust failure (exit 3); one that
 * cannot be reached or does not have the image fails the install (exit 1): nothing was confirmed.
 */
export async function crossCheck(input: {
  client: RegistryClient;
  ref: ResolvedReference;
  digest: Digest;
  locations: readonly string[];
  signal?: AbortSignal | undefined;
}): Promise<string[]> {
  const { client, ref, digest, locations, signal } = input;
  const reference = ref.digest ?? ref.tag ?? "latest";
  const results = await Promise.all(locations.map(async (location) => {
    const repo = crossCheckRepo(ref, location);
    try {
      // A GET, not a HEAD: the digest is computed from the bytes, never taken from a header.
      const fetched = await client.getManifest(repo, reference, signal ? { signal } : {});
      return { location, digest: fetched.digest };
    } catch (err) {
      const why = isDropzoneError(err) ? err.message : String(err);
      throw new DropzoneError(
        isDropzoneError(err, "DIGEST_MISMATCH") ? "DIGEST_MISMATCH" : "REGISTRY_HTTP",
        `Cannot cross-check ${ref.input} at ${location}: ${why}`,
        {
          hint: "Every --cross-check location must serve the image; fix or drop that location and retry",
          cause: err,
        },
      );
    }
  }));
  const disagreeing = results.filter((r) => r.digest !== digest);
  if (disagreeing.length > 0) {
    throw new DropzoneError(
      "DIGEST_MISMATCH",
      `Cross-check failed for ${formatReference(ref)}: ${ref.registryName} serves ${shortDigest(digest)}, ` +
        disagreeing.map((r) => `${r.location} serves ${shortDigest(r.digest)}`).join(", "),
      { hint: "The locations disagree on what this image is; do not install it until you know why" },
    );
  }
  return results.map((r) => r.location);
}
