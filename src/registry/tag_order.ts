/**
 * Tag ordering for `dz tags` and `dz update` (pure). Versions are compared numerically; a tag's suffix either
 * marks a pre-release (`-rc.1`, `-beta2`: sorts before its release), a package revision (`-r3`: after its
 * release) or a separate track (`-dev`, `-slim`: listed as its own group and never crossed by updates).
 */

/** A tag understood as a version. */
export interface VersionTag {
  readonly tag: string;
  readonly numbers: readonly number[];
  /** Pre-release identifiers; empty for a release. */
  readonly prerelease: readonly string[];
  /** Package revision (`-r3` → 3); -1 when absent. */
  readonly revision: number;
  /** The suffix track, "" for plain versions ("dev" for `1.2-dev`). */
  readonly track: string;
}

const VERSION_REGEXP = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
const PRERELEASE_REGEXP = /^(alpha|beta|rc|pre|preview|a|b)(?:[.]?\d+)*$/i;
const SIDECAR_REGEXP = /^sha256-[a-f0-9]{64}(?:\.(?:sig|att|sbom))?$/;

/** True for cosign sidecar and referrers fallback tags (`sha256-<hex>[.sig|.att|.sbom]`). */
export function isSidecarTag(tag: string): boolean {
  return SIDECAR_REGEXP.test(tag);
}

/** Parses a version-like tag, or returns undefined for `latest`, `edge`, sidecars and the like. */
export function parseVersionTag(tag: string): VersionTag | undefined {
  const m = VERSION_REGEXP.exec(tag);
  if (!m) return undefined;
  const numbers = m[1]!.split(".").map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  const prerelease: string[] = [];
  let revision = -1;
  const track: string[] = [];
  const parts = m[2] ? m[2].split("-") : [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (track.length === 0 && /^r\d+$/.test(part) && revision < 0) revision = Number(part.slice(1));
    else if (track.length === 0 && PRERELEASE_REGEXP.test(part)) {
      // `rc.1`, `beta2` → identifiers split into alpha and numeric parts.
      prerelease.push(...part.split(".").flatMap((p) => p.match(/\d+|\D+/g) ?? []));
    } else track.push(part);
  }
  return { tag, numbers, prerelease, revision, track: track.join("-") };
}

function compareIdentifiers(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release sorts after its pre-releases
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Orders versions within a track: numbers, then pre-release, then revision; `1.2` before `1.2.0`. */
export function compareVersionTags(a: VersionTag, b: VersionTag): number {
  const len = Math.max(a.numbers.length, b.numbers.length);
  for (let i = 0; i < len; i++) {
    const d = (a.numbers[i] ?? 0) - (b.numbers[i] ?? 0);
    if (d !== 0) return d;
  }
  const pre = compareIdentifiers(a.prerelease, b.prerelease);
  if (pre !== 0) return pre;
  if (a.revision !== b.revision) return a.revision - b.revision;
  if (a.numbers.length !== b.numbers.length) return a.numbers.length - b.numbers.length;
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

/** The result of {@linkcode sortTags}. */
export interface SortedTags {
  /** Plain versions ascending, then each suffix track (alphabetically) ascending, then other tags. */
  readonly tags: string[];
  /** Sidecar tags left out (all of them when `all` was set, in which case they are also in `tags`). */
  readonly hiddenSidecars: string[];
}

/** Sorts tags for display; cosign sidecars are hidden unless `all`. */
export function sortTags(tags: readonly string[], options: { all?: boolean } = {}): SortedTags {
  const { all = false } = options;
  const hiddenSidecars = tags.filter(isSidecarTag).sort();
  const versions: VersionTag[] = [];
  const others: string[] = [];
  for (const tag of new Set(tags)) {
    if (isSidecarTag(tag)) continue;
    const v = parseVersionTag(tag);
    if (v) versions.push(v);
    else others.push(tag);
  }
  versions.sort((a, b) => (a.track === b.track ? compareVersionTags(a, b) : a.track < b.track ? -1 : 1));
  others.sort((a, b) => (a === "latest" ? -1 : b === "latest" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return {
    tags: [...versions.map((v) => v.tag), ...others, ...(all ? hiddenSidecars : [])],
    hiddenSidecars: all ? [] : hiddenSidecars,
  };
}

/**
 * Tags for `dz tags`, newest first: floating tags (`latest` first, then the others alphabetically), then plain
 * versions descending, then each suffix track (alphabetically) descending; sidecars last with `all`.
 */
export function sortTagsNewestFirst(tags: readonly string[], options: { all?: boolean } = {}): SortedTags {
  const { all = false } = options;
  const hiddenSidecars = tags.filter(isSidecarTag).sort();
  const tracks = new Map<string, VersionTag[]>();
  const others: string[] = [];
  for (const tag of new Set(tags)) {
    if (isSidecarTag(tag)) continue;
    const v = parseVersionTag(tag);
    if (!v) others.push(tag);
    else tracks.set(v.track, [...(tracks.get(v.track) ?? []), v]);
  }
  others.sort((a, b) => (a === "latest" ? -1 : b === "latest" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const versions = [...tracks.keys()].sort().flatMap((track) =>
    tracks.get(track)!.sort((a, b) => compareVersionTags(b, a)).map((v) => v.tag)
  );
  return {
    tags: [...others, ...versions, ...(all ? hiddenSidecars : [])],
    hiddenSidecars: all ? [] : hiddenSidecars,
  };
}

/**
 * Tags an installed `current` tag may update to, ascending: versions newer than `current` in the same suffix
 * track with the same number of components (`1.2.3` → `1.2.4`, `1.3.0`; not the floating `1.3`). Pre-releases
 * are offered only when `current` is one. Floating tags (`latest`, `edge`) never map to versions.
 */
export function newerTagsInTrack(current: string, tags: readonly string[]): string[] {
  const base = parseVersionTag(current);
  if (!base) return [];
  const vPrefix = current.startsWith("v");
  return tags
    .map(parseVersionTag)
    .filter((v): v is VersionTag =>
      v !== undefined && v.track === base.track && v.numbers.length === base.numbers.length &&
      v.tag.startsWith("v") === vPrefix && (base.prerelease.length > 0 || v.prerelease.length === 0) &&
      compareVersionTags(v, base) > 0
    )
    .sort(compareVersionTags)
    .map((v) => v.tag);
}
