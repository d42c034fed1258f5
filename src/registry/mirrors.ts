/**
 * Registry mirrors and pull-through caches as a pure transport detail: a RegistryClient wrapper that fetches a
 * repository under a configured prefix from each mirror location in order, then from the upstream. Callers keep
 * passing the upstream name, so policy, signer continuity and metadata never see the mirror; the wrapper only
 * reports which location served what.
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { validateRegistryUrl } from "../oci/reference.ts";
import { canonicalRegistryHost, normalizeRegistryHost, sameRegistryHost } from "../oci/registry_host.ts";
import { RegistryError } from "./registry_error.ts";
import type { RegistryClient, RepoRef } from "./types.ts";

/** Which requests a mirror may answer: everything, or only content addressed by digest. */
export type PullFromMirror = "all" | "digest-only";

/** One `mirrors:` entry of config.yaml. */
export interface MirrorEntry {
  /** Canonical `host[/namespace]` of the upstream repositories this entry covers. */
  readonly prefix: string;
  /** `host[:port][/namespace]` locations, tried in order; each replaces the prefix. */
  readonly locations: readonly string[];
  readonly pull_from_mirror: PullFromMirror;
  /** Reach the locations over plain http (loopback hosts always are). */
  readonly insecure: boolean;
}

/** A `host[/namespace]` split into its host (the spelling dz connects to) and namespace. */
export interface HostPath {
  readonly host: string;
  readonly namespace: string;
}

/** Parses `host[:port][/namespace]` (a prefix or a location). Throws INVALID_ARGUMENT naming `what`. Pure. */
export function parseHostPath(text: string, what: string): HostPath {
  let normalised: string;
  try {
    normalised = validateRegistryUrl(text);
  } catch (cause) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid ${what} "${text}"`, {
      hint: 'Use a host with an optional namespace, e.g. "mirror.corp.example/hub" or "127.0.0.1:5000"',
      cause,
    });
  }
  const slash = normalised.indexOf("/");
  const host = normalizeRegistryHost(slash < 0 ? normalised : normalised.slice(0, slash));
  return { host, namespace: slash < 0 ? "" : normalised.slice(slash + 1) };
}

/** Formats a HostPath back to `host[/namespace]`. Pure. */
export function formatHostPath(p: HostPath): string {
  return p.namespace ? `${p.host}/${p.namespace}` : p.host;
}

/**
 * The repository path below `prefix` for `repo`, or undefined when `repo` is not under it. A prefix with a
 * namespace covers the repositories strictly below it. Pure.
 */
export function pathBelow(prefix: HostPath, repo: RepoRef): string | undefined {
  if (!sameRegistryHost(repo.registry, prefix.host)) return undefined;
  if (prefix.namespace === "") return repo.repository;
  return repo.repository.startsWith(prefix.namespace + "/")
    ? repo.repository.slice(prefix.namespace.length + 1)
    : undefined;
}

/** `rest` placed under a location: `mirror.example/hub` + `jq` → `{mirror.example, hub/jq}`. Pure. */
export function atLocation(location: HostPath, rest: string): RepoRef {
  return { registry: location.host, repository: location.namespace ? `${location.namespace}/${rest}` : rest };
}

/** The mirror entry covering `repo` (the longest prefix wins), or undefined. Pure. */
export function mirrorFor(mirrors: readonly MirrorEntry[], repo: RepoRef): MirrorEntry | undefined {
  let best: { entry: MirrorEntry; length: number } | undefined;
  for (const entry of mirrors) {
    const prefix = parseHostPath(entry.prefix, "mirror prefix");
    if (pathBelow(prefix, repo) === undefined) continue;
    const length = formatHostPath(prefix).length;
    if (!best || length > best.length) best = { entry, length };
  }
  return best?.entry;
}

/** One place a request can be answered: a mirror location (with the repository there) or the upstream. */
export interface Candidate {
  /** The location as configured, or null for the upstream. */
  readonly location: string | null;
  readonly repo: RepoRef;
}

/** What a request asks for: a tag (or tag list, referrers list) is mutable, a digest is not. */
export type RequestKind = "digest" | "tag";

/**
 * The locations to try, in order, for one request. Under `digest-only`, mutable lookups (tags, signature tags,
 * tag lists, referrer lists) go to the upstream alone, so a stale or hostile mirror cannot move a tag.
 * `tagsUpstreamFirst` (update checks) asks the upstream first for mutable lookups and mirrors only after it. Pure.
 */
export function candidatesFor(
  mirrors: readonly MirrorEntry[],
  repo: RepoRef,
  kind: RequestKind,
  options: { tagsUpstreamFirst?: boolean } = {},
): Candidate[] {
  const upstream: Candidate = { location: null, repo };
  const entry = mirrorFor(mirrors, repo);
  if (!entry) return [upstream];
  if (kind === "tag" && entry.pull_from_mirror === "digest-only") return [upstream];
  const rest = pathBelow(parseHostPath(entry.prefix, "mirror prefix"), repo)!;
  const located = entry.locations.map((location): Candidate => ({
    location,
    repo: atLocation(parseHostPath(location, "mirror location"), rest),
  }));
  return kind === "tag" && options.tagsUpstreamFirst ? [upstream, ...located] : [...located, upstream];
}

/** Why a location was skipped. */
export type FallThrough = "not-found" | "unreachable";

/**
 * Whether an error lets the next location answer: "not found" and network-level failures (no connection,
 * timeouts, 5xx, 429) do; anything else — a digest mismatch, a malformed manifest, refused credentials — does
 * not, so a mirror serving bad content is reported rather than papered over. Pure.
 */
export function fallThroughOf(err: unknown): FallThrough | undefined {
  if (!(err instanceof DropzoneError)) return undefined;
  const status = err instanceof RegistryError ? err.status : undefined;
  if (err.code === "MANIFEST_UNKNOWN" || status === 404) return "not-found";
  if (err.code === "REGISTRY_UNREACHABLE" || err.code === "RATE_LIMITED") return "unreachable";
  if (err instanceof RegistryError && err.code === "REGISTRY_HTTP" && err.retryable) return "unreachable";
  return undefined;
}

/** `err` with a new message, keeping its class, code and registry facts (callers branch on those). */
function renamed(err: DropzoneError, message: string, hint: string | undefined): DropzoneError {
  const options = { ...(hint === undefined ? {} : { hint }), cause: err };
  if (err instanceof RegistryError) {
    return new RegistryError(err.code, message, {
      ...options,
      ...(err.status === undefined ? {} : { status: err.status }),
      retryable: err.retryable,
    });
  }
  return new DropzoneError(err.code, message, options);
}

/** A location that was skipped, for messages and warnings. */
export interface SkippedLocation {
  readonly location: string;
  readonly upstream: RepoRef;
  readonly reason: FallThrough;
  readonly message: string;
}

/** What the mirror client tells its caller. */
export interface MirrorClientOptions {
  readonly mirrors: readonly MirrorEntry[];
  /** Ask the upstream first for tags (update checks with `pull_from_mirror: all`). */
  readonly tagsUpstreamFirst?: boolean;
  /** Called when a location is skipped (warn on "unreachable"). */
  readonly onSkip?: (skipped: SkippedLocation) => void;
}

/** A RegistryClient that also says which location served what. */
export interface MirrorClient extends RegistryClient {
  servedBy(repo: RepoRef, digest: Digest): string | null | undefined;
  mirrorsUsed(repo: RepoRef): string[];
}

const repoKey = (repo: RepoRef) => `${canonicalRegistryHost(repo.registry)}/${repo.repository}`;

/** The identity key of a prefix or location: loopback spellings and aliases folded (for duplicate checks). */
export function hostPathKey(text: string, what: string): string {
  const p = parseHostPath(text, what);
  return formatHostPath({ host: canonicalRegistryHost(p.host), namespace: p.namespace });
}

/** A mirror's error, renamed so that it names the location and the upstream it stood in for. */
function blame(err: unknown, candidate: Candidate, upstream: RepoRef): unknown {
  if (!(err instanceof DropzoneError) || candidate.location === null) return err;
  return renamed(
    err,
    `Mirror ${candidate.location} (for ${upstream.registry}/${upstream.repository}): ${err.message}`,
    err.hint ?? `Check the mirror, or remove it with "dz remove mirror <prefix> ${candidate.location}"`,
  );
}

/** The upstream's error with the skipped locations appended, keeping its code (callers branch on it). */
function withSkipped(err: unknown, skipped: readonly SkippedLocation[]): unknown {
  if (!(err instanceof DropzoneError) || skipped.length === 0) return err;
  const tried = skipped.map((s) => `${s.location}: ${s.reason === "not-found" ? "not found" : s.message}`);
  return renamed(err, `${err.message} (mirrors tried first: ${tried.join("; ")})`, err.hint);
}

/** Wraps `inner` so repositories under a mirror prefix are fetched from their locations first. */
export function createMirrorClient(inner: RegistryClient, options: MirrorClientOptions): MirrorClient {
  const { mirrors, onSkip } = options;
  const served = new Map<string, string | null>();
  const used = new Map<string, string[]>();
  // A location that did not answer at all is not asked again in this process: every request would wait for
  // the same timeouts and retries otherwise. The same holds for an upstream that mirrors stand in for (the
  // fleet's case: the upstream is down, the cache answers); the value is why it was given up on.
  const down = new Map<string, string>();
  const keyOf = (candidate: Candidate) =>
    candidate.location ?? `upstream ${canonicalRegistryHost(candidate.repo.registry)}`;

  function record(upstream: RepoRef, location: string | null, digest?: Digest): void {
    if (digest) served.set(`${repoKey(upstream)}@${digest}`, location);
    if (location === null) return;
    const list = used.get(repoKey(upstream)) ?? [];
    if (!list.includes(location)) list.push(location);
    used.set(repoKey(upstream), list);
  }

  /** Runs `fn` against each candidate until one answers; `found` says whether an answer counts. */
  async function tryEach<T>(
    upstream: RepoRef,
    kind: RequestKind,
    fn: (repo: RepoRef) => Promise<T>,
    found: (value: T) => boolean = () => true,
  ): Promise<{ value: T; location: string | null }> {
    const candidates = candidatesFor(mirrors, upstream, kind, options);
    const skipped: SkippedLocation[] = [];
    for (const candidate of candidates) {
      const last = candidate === candidates[candidates.length - 1];
      const gaveUp = candidates.length > 1 ? down.get(keyOf(candidate)) : undefined;
      if (gaveUp !== undefined && candidate.location !== null && !last) {
        skipped.push({ location: candidate.location, upstream, reason: "unreachable", message: gaveUp });
        continue;
      }
      if (gaveUp !== undefined && candidate.location === null) {
        const err = new RegistryError(
          "REGISTRY_UNREACHABLE",
          `Registry "${upstream.registry}" did not answer earlier in this run (${gaveUp})`,
          { hint: "Check the network and try again", retryable: true },
        );
        if (last) throw withSkipped(err, skipped);
        continue;
      }
      let value: T;
      try {
        value = await fn(candidate.repo);
      } catch (err) {
        const reason = fallThroughOf(err);
        // An upstream asked first (update checks) that answers "not found" is the answer; only its absence
        // lets a mirror speak for it.
        const final = candidate.location === null && reason === "not-found";
        const message = err instanceof Error ? err.message : String(err);
        if (reason === "unreachable" && candidates.length > 1) down.set(keyOf(candidate), message);
        if (last || reason === undefined || final) {
          throw candidate.location === null ? withSkipped(err, skipped) : blame(err, candidate, upstream);
        }
        if (candidate.location !== null) {
          const skip = { location: candidate.location, upstream, reason, message };
          skipped.push(skip);
          onSkip?.(skip);
        }
        continue;
      }
      if (!last && candidate.location !== null && !found(value)) {
        skipped.push({ location: candidate.location, upstream, reason: "not-found", message: "not found" });
        continue;
      }
      return { value, location: candidate.location };
    }
    // Unreachable: the last candidate either returns or throws.
    throw new DropzoneError("REGISTRY_PROTOCOL", `No location answered for ${repoKey(upstream)}`);
  }

  const kindOf = (reference: string): RequestKind => isDigest(reference) ? "digest" : "tag";

  return {
    ping: (registry, opts) => inner.ping(registry, opts),
    catalog: (registry, opts) => inner.catalog(registry, opts),
    async getManifest(repo, reference, opts) {
      const { value, location } = await tryEach(
        repo,
        kindOf(reference),
        (r) => inner.getManifest(r, reference, opts),
      );
      record(repo, location, value.digest);
      return value;
    },
    async headManifest(repo, reference, opts) {
      const { value, location } = await tryEach(
        repo,
        kindOf(reference),
        (r) => inner.headManifest(r, reference, opts),
        (head) => head !== null,
      );
      if (value) record(repo, location);
      return value;
    },
    async getBlob(repo, digest, opts) {
      const { value, location } = await tryEach(repo, "digest", (r) => inner.getBlob(r, digest, opts));
      record(repo, location, digest);
      return value;
    },
    async getBlobBytes(repo, digest, opts) {
      const { value, location } = await tryEach(repo, "digest", (r) => inner.getBlobBytes(r, digest, opts));
      record(repo, location, digest);
      return value;
    },
    async listTags(repo, opts) {
      return (await tryEach(repo, "tag", (r) => inner.listTags(r, opts))).value;
    },
    async referrers(repo, digest, opts) {
      // A referrers list is mutable (and its fallback is a tag): a mirror that has none is skipped.
      const { value, location } = await tryEach(
        repo,
        "tag",
        (r) => inner.referrers(r, digest, opts),
        (list) => list.length > 0,
      );
      if (value.length > 0) record(repo, location);
      return value;
    },
    servedBy: (repo, digest) => served.get(`${repoKey(repo)}@${digest}`),
    mirrorsUsed: (repo) => [...(used.get(repoKey(repo)) ?? [])],
  };
}
