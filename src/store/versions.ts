/**
 * Pure rules over a package's versions: the activation history format, how versions are ordered, which earlier
 * versions a rollback may go to, which a prune keeps, and how a rollback target is chosen. No I/O: packages.ts
 * reads the store and applies these.
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, isDigest, shortDigest } from "../oci/digest.ts";
import type { PackageMetadata } from "./metadata.ts";

/** Schema version of history.json. */
export const HISTORY_SCHEMA_VERSION = 1;

/** The facts these rules need about one version directory. */
export interface VersionFacts {
  readonly digest: Digest;
  readonly complete: boolean;
  readonly current: boolean;
  readonly metadata?: PackageMetadata | undefined;
}

/**
 * Parses history.json text (oldest first). Unparseable or odd content is an empty history (it is only a hint);
 * a newer schema is CONFIG_VERSION.
 */
export function parseHistory(text: string, path: string): Digest[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return [];
    throw err;
  }
  if (typeof parsed !== "object" || parsed === null) return [];
  const value = parsed as { schema_version?: unknown; history?: unknown };
  if (typeof value.schema_version === "number" && value.schema_version > HISTORY_SCHEMA_VERSION) {
    throw new DropzoneError(
      "CONFIG_VERSION",
      `Cannot read "${path}": schema version ${value.schema_version}`,
      {
        hint: "Upgrade dz to manage packages installed by a newer version",
      },
    );
  }
  if (!Array.isArray(value.history)) return [];
  return value.history.filter((d): d is Digest => typeof d === "string" && isDigest(d));
}

/** The history.json document for `history`. */
export function historyDocument(history: readonly Digest[]): unknown {
  return { schema_version: HISTORY_SCHEMA_VERSION, history };
}

/** Newest first: the current version, then by last activation, then by install time. */
export function orderVersions<T extends VersionFacts>(
  entries: readonly T[],
  history: readonly Digest[],
): T[] {
  const rank = (d: Digest): number => history.lastIndexOf(d);
  return [...entries].sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    const byHistory = rank(b.digest) - rank(a.digest);
    if (byHistory !== 0) return byHistory;
    return (b.metadata?.installed_at ?? "").localeCompare(a.metadata?.installed_at ?? "");
  });
}

/** The history after activating `digest`: pushed, or with `rollback` popped back to its last activation. */
export function nextHistory(
  history: readonly Digest[],
  digest: Digest,
  rollback: boolean,
): readonly Digest[] {
  const last = history.lastIndexOf(digest);
  if (rollback && last >= 0) return history.slice(0, last + 1);
  return history[history.length - 1] === digest ? history : [...history, digest];
}

/**
 * Candidate previous versions, most recent first: distinct complete digests from the history before the current
 * one, then complete versions missing from the history by install time.
 */
export function previousDigests(
  history: readonly Digest[],
  current: Digest,
  versions: readonly VersionFacts[],
): Digest[] {
  const at = history.lastIndexOf(current);
  const before = (at >= 0 ? history.slice(0, at) : [...history]).reverse();
  const complete = new Set(versions.filter((v) => v.complete).map((v) => v.digest));
  const ordered: Digest[] = [];
  for (const d of before) if (d !== current && complete.has(d) && !ordered.includes(d)) ordered.push(d);
  const rest = versions
    .filter((v) => v.complete && v.digest !== current && !history.includes(v.digest))
    .sort((a, b) => (b.metadata?.installed_at ?? "").localeCompare(a.metadata?.installed_at ?? ""));
  for (const v of rest) ordered.push(v.digest);
  return ordered;
}

/** The digests a prune keeps: the current one and the `keep` most recent previous ones. */
export function keptDigests(current: Digest, previous: readonly Digest[], keep: number): Set<Digest> {
  return new Set<Digest>([current, ...previous.slice(0, Math.max(0, keep))]);
}

/** Where a rollback goes, as a digest and steps back in the history (0 when chosen by digest outside it). */
export interface RollbackChoice {
  readonly digest: Digest;
  readonly steps: number;
}

/**
 * Chooses a rollback target: `to: N` is N steps back in `previous`; `to: "<digest or unique hex prefix>"` is
 * any complete version. NOT_INSTALLED when there is nothing to roll back to; INVALID_ARGUMENT for a bad,
 * ambiguous or current `to`.
 */
export function chooseRollback(input: {
  readonly name: string;
  readonly current: Digest;
  readonly previous: readonly Digest[];
  readonly complete: readonly Digest[];
  readonly to: number | string;
}): RollbackChoice {
  const { name, current, previous, complete, to } = input;
  if (typeof to === "number") {
    if (!Number.isInteger(to) || to < 1) {
      throw new DropzoneError("INVALID_ARGUMENT", `Invalid rollback step count "${to}": expected 1 or more`);
    }
    if (previous.length === 0) {
      throw new DropzoneError(
        "NOT_INSTALLED",
        `Cannot roll back "${name}": no previous version is installed`,
      );
    }
    const digest = previous[to - 1];
    if (digest === undefined) {
      throw new DropzoneError(
        "INVALID_ARGUMENT",
        `Cannot roll back "${name}" ${to} steps: only ${previous.length} previous version(s) are installed`,
      );
    }
    return { digest, steps: to };
  }
  const wanted = to.toLowerCase().replace(/^sha256[:-]/, "");
  if (wanted.length < 4 || /[^0-9a-f]/.test(wanted)) {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Invalid rollback target "${to}": expected a digest or hex prefix`,
      {
        hint: `Give at least 4 hex characters of a digest shown by "dz info ${name}"`,
      },
    );
  }
  const matches = complete.filter((d) => d.slice("sha256:".length).startsWith(wanted));
  if (matches.length === 0) {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Cannot roll back "${name}" to "${to}": no such version is installed`,
    );
  }
  if (matches.length > 1) {
    throw new DropzoneError("INVALID_ARGUMENT", `Rollback target "${to}" is ambiguous for "${name}"`, {
      hint: `Give more characters; it matches ${matches.map((m) => shortDigest(m)).join(", ")}`,
    });
  }
  const digest = matches[0]!;
  if (digest === current) {
    throw new DropzoneError("INVALID_ARGUMENT", `"${name}" is already at ${shortDigest(digest)}`);
  }
  const index = previous.indexOf(digest);
  return { digest, steps: index >= 0 ? index + 1 : 0 };
}
