/**
 * `dz update`: checking installed packages for same-tag rebuilds and newer tags in their track, and applying
 * an update through the full install pipeline.
 *
 * The Go tool compared the tag's top-level digest (an index for multi-arch images) with the installed platform
 * digest and so reported a rebuild forever; here the HEAD digest is compared with the recorded `index_digest`
 * (or `digest` for single-platform images). It also picked the "newest" tag by byte-wise string order, which
 * could jump to `-dev` variants; here only {@linkcode newerTagsInTrack} candidates are offered.
 */
import { join } from "node:path";
import { DropzoneError, isDropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import {
  type RegistryEntry,
  type ResolvedReference,
  resolveReference,
  splitRegistryUrl,
} from "../oci/reference.ts";
import { newerTagsInTrack, parseVersionTag } from "../registry/tag_order.ts";
import type { RegistryClient } from "../registry/types.ts";
import { type PackageMetadata, writeMetadata } from "../store/metadata.ts";
import { METADATA_FILE, readCurrent, versionDir } from "../store/packages.ts";
import { type InstallDeps, type InstallOutcome, installPackage } from "./install.ts";

/**
 * The result of checking one package, and one element of `dz update --json` (an array, sorted by name):
 *
 * ```json
 * [{
 *   "name": "jq",                         // package name
 *   "tag": "1.7",                         // recorded tag; null for digest-pinned installs (never checked)
 *   "installed_digest": "sha256:…",       // platform manifest digest installed (null: damaged, unknown)
 *   "installed_index_digest": "sha256:…", // index digest the tag pointed at on install; null if single-platform
 *   "current_digest": "sha256:…",         // what the tag points at now (HEAD); null when unknown or pinned
 *   "rebuild": true,                      // the tag now points at other content (same-tag rebuild)
 *   "newer_tags": ["1.8", "1.10"],        // newer tags in the same track, ascending (never -dev, never from latest)
 *   "target_tag": "1.10",                 // what `dz update jq --yes` / `--all --yes` installs; null = nothing
 *   "downgrade": false,                   // target signed before the installed version (refused without
 *                                         // --allow-downgrade); null when unknown (nothing to apply, unsigned,
 *                                         // or the target could not be verified)
 *   "error": null                         // why the check could not run (registry unreachable, not configured,
 *                                         // "damaged: …" for a damaged package)
 * }]
 * ```
 */
export interface UpdateCheck {
  readonly name: string;
  readonly tag: string | null;
  readonly installed_digest: Digest | null;
  readonly installed_index_digest: Digest | null;
  readonly current_digest: Digest | null;
  readonly rebuild: boolean;
  readonly newer_tags: string[];
  readonly target_tag: string | null;
  readonly downgrade: boolean | null;
  readonly error: string | null;
}

/** What checking needs. */
export interface CheckDeps {
  readonly client: RegistryClient;
  readonly registries: readonly RegistryEntry[];
  readonly concurrency: number;
  readonly signal?: AbortSignal;
}

/** True when the check found something to apply. */
export function hasUpdate(check: UpdateCheck): boolean {
  return check.error === null && (check.rebuild || check.newer_tags.length > 0);
}

/**
 * The tag an explicit update (`dz update NAME --yes`, `dz update --all --yes`) installs: the newest tag in the
 * track when there is one, else the installed tag when it was rebuilt, else null. Pure.
 */
export function targetTag(check: Pick<UpdateCheck, "tag" | "rebuild" | "newer_tags">): string | null {
  if (check.tag === null) return null;
  const newest = check.newer_tags[check.newer_tags.length - 1];
  if (newest !== undefined) return newest;
  return check.rebuild ? check.tag : null;
}

/**
 * The tag an implicit update (`dz update --yes` without a name or --all) installs: only a same-tag rebuild;
 * moving to another tag needs the user to name the package or pass --all. Pure.
 */
export function implicitTargetTag(check: UpdateCheck): string | null {
  return check.error === null && check.rebuild ? check.tag : null;
}

/** True when the registry name recorded in metadata is a host (an ad-hoc install), not a configured name. */
function isHostName(name: string): boolean {
  return name.includes(".") || name.includes(":") || name === "localhost";
}

/**
 * The reference an installed package updates from, for `tag`: `<registry name>/<image path>:<tag>` for a
 * configured registry (the image path is the repository minus the recorded URL's namespace prefix), or
 * `<host>/<repository>:<tag>` for an ad-hoc one. Throws REGISTRY_NOT_FOUND when the registry was removed.
 */
export function updateReference(
  meta: Pick<PackageMetadata, "registry" | "repository">,
  tag: string,
  registries: readonly RegistryEntry[],
): ResolvedReference {
  return sourceReference(meta, `:${tag}`, registries);
}

/**
 * The reference of an installed package's recorded source with `suffix` (`:tag`, `@digest` or `:tag@digest`),
 * spelled as {@linkcode updateReference} describes. Throws REGISTRY_NOT_FOUND when the registry was removed.
 */
export function sourceReference(
  meta: Pick<PackageMetadata, "registry" | "repository">,
  suffix: string,
  registries: readonly RegistryEntry[],
): ResolvedReference {
  const configured = registries.find((r) => r.name === meta.registry.name);
  if (configured) {
    const { prefix } = splitRegistryUrl(meta.registry.url);
    let image = meta.repository;
    if (prefix !== "" && image.startsWith(prefix + "/")) image = image.slice(prefix.length + 1);
    return resolveReference(`${configured.name}/${image}${suffix}`, { registries });
  }
  if (isHostName(meta.registry.name)) {
    const { host } = splitRegistryUrl(meta.registry.url);
    return resolveReference(`${host}/${meta.repository}${suffix}`, { registries });
  }
  throw new DropzoneError(
    "REGISTRY_NOT_FOUND",
    `registry "${meta.registry.name}" is no longer configured`,
    { hint: `Add it again with "dz add registry ${meta.registry.name} ${meta.registry.url} …"` },
  );
}

function reason(err: unknown): string {
  if (isDropzoneError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Checks one package: HEAD of the recorded tag (not a pull on Docker Hub) and, for version tags, the tag list. */
export async function checkPackage(meta: PackageMetadata, deps: CheckDeps): Promise<UpdateCheck> {
  const base = {
    name: meta.name,
    tag: meta.tag,
    installed_digest: meta.digest,
    installed_index_digest: meta.index_digest,
  };
  const empty = { current_digest: null, rebuild: false, newer_tags: [], target_tag: null, downgrade: null };
  if (meta.tag === null) return { ...base, ...empty, error: null };
  const tag = meta.tag;
  let ref: ResolvedReference;
  try {
    ref = updateReference(meta, tag, deps.registries);
  } catch (err) {
    return { ...base, ...empty, error: reason(err) };
  }
  const repo = { registry: ref.host, repository: ref.repository };
  const options = deps.signal ? { signal: deps.signal } : {};
  let current: Digest | null = null;
  let rebuild = false;
  // The tag list is asked for at the same time as the digest (one round trip instead of two; on a public
  // registry that is most of an update check). Settled up front: a failed list never becomes an unhandled
  // rejection when the HEAD already decided the answer.
  const tags = parseVersionTag(tag) === undefined ? undefined : deps.client.listTags(repo, options).then(
    (list) => ({ ok: true as const, list }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  try {
    const head = await deps.client.headManifest(repo, tag, options);
    if (head === null) {
      return { ...base, ...empty, error: `tag "${tag}" no longer exists in ${ref.host}/${ref.repository}` };
    }
    current = head.digest;
    rebuild = current !== (meta.index_digest ?? meta.digest);
  } catch (err) {
    deps.signal?.throwIfAborted();
    return { ...base, ...empty, error: `digest lookup: ${reason(err)}` };
  }
  let newer: string[] = [];
  let error: string | null = null;
  if (tags !== undefined) {
    const listed = await tags;
    if (listed.ok) newer = newerTagsInTrack(tag, listed.list);
    else {
      deps.signal?.throwIfAborted();
      error = `tag list: ${reason(listed.err)}`;
    }
  }
  const partial = { tag, rebuild, newer_tags: newer };
  return {
    ...base,
    current_digest: current,
    rebuild,
    newer_tags: newer,
    target_tag: error === null ? targetTag(partial) : null,
    // Known only after verifying the target (see update_preview.ts).
    downgrade: null,
    error,
  };
}

/** Checks every package concurrently, at most `deps.concurrency` at a time; results keep the input order. */
export async function checkUpdates(
  packages: readonly PackageMetadata[],
  deps: CheckDeps,
): Promise<UpdateCheck[]> {
  const results: UpdateCheck[] = new Array(packages.length);
  let next = 0;
  const worker = async () => {
    while (next < packages.length) {
      const i = next++;
      results[i] = await checkPackage(packages[i]!, deps);
    }
  };
  const n = Math.max(1, Math.min(deps.concurrency, packages.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

/** The exit code of `dz update --check`: 100 when any update was found, else 1 when a check failed, else 0. */
export function checkExitCode(checks: readonly UpdateCheck[]): number {
  if (checks.some(hasUpdate)) return 100;
  if (checks.some((c) => c.error !== null)) return 1;
  return 0;
}

/** Options for {@linkcode applyUpdate}. */
export interface ApplyOptions {
  /** `--allow-unsigned` on the update command line (the recorded choice applies regardless). */
  readonly allowUnsigned?: boolean;
  /** `--accept-new-signer`: accept a signer that differs from the package's recorded one. */
  readonly acceptNewSigner?: boolean;
  /** `--min-age`: refuse digests signed more recently than this (overrides the configured cooldown). */
  readonly minAge?: string;
  /** `--allow-downgrade`: accept a candidate signed before the installed version. */
  readonly allowDowngrade?: boolean;
  readonly registries: readonly RegistryEntry[];
}

/** The result of {@linkcode applyUpdate}. */
export interface ApplyResult {
  readonly outcome: InstallOutcome;
  /**
   * The platform image was unchanged but the index (or the tag) moved; the recorded `index_digest`, `tag` and
   * `ref` were refreshed in place.
   */
  readonly indexRefreshed: boolean;
}

/**
 * Installs `tag` for the installed package `meta` through {@linkcode installPackage} (full verification), keeping
 * its name, extra binaries and recorded allow-unsigned choice. When the tag's index moved but this platform's
 * image did not (a rebuild for other architectures, or a new tag for identical content), the recorded
 * `index_digest`/`tag` are refreshed in place so the next check does not report the same update again. Call it holding the store lock.
 */
export async function applyUpdate(
  deps: InstallDeps,
  meta: PackageMetadata,
  tag: string,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const ref = updateReference(meta, tag, options.registries);
  let resolvedIndex: Digest | null | undefined;
  let resolvedDigest: Digest | undefined;
  const outcome = await installPackage({
    ...deps,
    onEvent: (event) => {
      if (event.type === "resolved") {
        resolvedIndex = event.image.index?.digest ?? null;
        resolvedDigest = event.image.digest;
      }
      deps.onEvent?.(event);
    },
  }, {
    origin: "update",
    ref,
    name: meta.name,
    bins: meta.bins.slice(1).map((b) => `${b.path}:${b.name}`),
    allowUnsigned: options.allowUnsigned === true,
    acceptNewSigner: options.acceptNewSigner === true,
    allowDowngrade: options.allowDowngrade === true,
    ...(options.minAge !== undefined ? { minAge: options.minAge } : {}),
  });
  let indexRefreshed = false;
  const current = await readCurrent(deps.layout, meta.name);
  if (
    current && resolvedIndex !== undefined && current.digest === resolvedDigest &&
    (current.metadata.index_digest !== resolvedIndex || current.metadata.tag !== tag)
  ) {
    const updated: PackageMetadata = {
      ...current.metadata,
      index_digest: resolvedIndex,
      tag,
      ref: ref.input,
    };
    await writeMetadata(join(versionDir(deps.layout, meta.name, current.digest), METADATA_FILE), updated);
    indexRefreshed = true;
    return { outcome: { ...outcome, metadata: updated }, indexRefreshed };
  }
  return { outcome, indexRefreshed };
}
