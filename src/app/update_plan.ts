/**
 * Which checked updates `dz update` applies (pure): rebuilds only unless the user named the package or
 * passed `--all`; never a pinned package; never a package whose check failed.
 */
import { hasUpdate, implicitTargetTag, type UpdateCheck } from "./update.ts";

/** One update to apply: the package's check and the tag to install. */
export interface UpdateTarget {
  readonly check: UpdateCheck;
  readonly tag: string;
}

/** The outcome of {@linkcode selectUpdates}. */
export interface UpdateSelection {
  /** Updates to apply, in check order. */
  readonly targets: UpdateTarget[];
  /** Packages with a newer tag that is not applied without consent (no name, no `--all`). */
  readonly skippedTagMoves: UpdateCheck[];
  /** Pinned packages that have an update (never applied). */
  readonly pinned: UpdateCheck[];
  /** Packages whose check failed. */
  readonly failed: UpdateCheck[];
  /** Unpinned packages with an update (what "N updates available" counts). */
  readonly available: UpdateCheck[];
}

/**
 * Selects what to apply. `explicit` is true for `dz update NAME` and `dz update --all`: they move to the
 * newest tag in the track; otherwise only same-tag rebuilds are applied.
 */
export function selectUpdates(
  checks: readonly UpdateCheck[],
  options: { explicit: boolean; pinned: ReadonlySet<string> },
): UpdateSelection {
  const { explicit, pinned } = options;
  const targets: UpdateTarget[] = [];
  const skippedTagMoves: UpdateCheck[] = [];
  const pinnedWithUpdate: UpdateCheck[] = [];
  const available: UpdateCheck[] = [];
  for (const c of checks) {
    if (!hasUpdate(c)) continue;
    if (pinned.has(c.name)) {
      pinnedWithUpdate.push(c);
      continue;
    }
    available.push(c);
    const tag = explicit ? c.target_tag : implicitTargetTag(c);
    if (tag !== null) targets.push({ check: c, tag });
    if (!explicit && c.newer_tags.length > 0) skippedTagMoves.push(c);
  }
  return {
    targets,
    skippedTagMoves,
    pinned: pinnedWithUpdate,
    failed: checks.filter((c) => c.error !== null),
    available,
  };
}
