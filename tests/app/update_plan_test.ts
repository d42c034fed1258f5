/** Tests for src/app/update_plan.ts: which checked updates `dz update` applies (pure selection rules). */
import assert from "node:assert/strict";
import type { UpdateCheck } from "../../src/app/update.ts";
import { selectUpdates } from "../../src/app/update_plan.ts";

const D = (c: string) => `sha256:${c.repeat(64)}` as const;

function check(name: string, over: Partial<UpdateCheck> = {}): UpdateCheck {
  return {
    name,
    tag: "1.2",
    installed_digest: D("a"),
    installed_index_digest: D("b"),
    current_digest: D("b"),
    rebuild: false,
    newer_tags: [],
    target_tag: null,
    downgrade: null,
    error: null,
    ...over,
  };
}

const rebuilt = check("rebuilt", { rebuild: true, current_digest: D("c"), target_tag: "1.2" });
const moved = check("moved", { newer_tags: ["1.3", "1.4"], target_tag: "1.4" });
const both = check("both", { rebuild: true, newer_tags: ["1.3"], target_tag: "1.3" });
const current = check("current");
const failed = check("failed", { error: "digest lookup: registry unreachable" });
const failedWithRebuild = check("failed-rebuild", { rebuild: true, error: "tag list: 500" });
const digestPinned = check("by-digest", { tag: null, current_digest: null });
const ALL = [rebuilt, moved, both, current, failed, failedWithRebuild, digestPinned];

const names = (cs: readonly { name: string }[]) => cs.map((c) => c.name);

Deno.test("selectUpdates(): the selection for every kind of check, implicit and explicit", () => {
  const cases: {
    what: string;
    explicit: boolean;
    pinned: string[];
    targets: [string, string][];
    skipped: string[];
    pinnedOut: string[];
    available: string[];
  }[] = [
    {
      what: "implicit (dz update --yes): only same-tag rebuilds; tag moves wait for consent",
      explicit: false,
      pinned: [],
      targets: [["rebuilt", "1.2"], ["both", "1.2"]],
      skipped: ["moved", "both"],
      pinnedOut: [],
      available: ["rebuilt", "moved", "both"],
    },
    {
      what: "explicit (dz update NAME / --all): the newest tag in the track",
      explicit: true,
      pinned: [],
      targets: [["rebuilt", "1.2"], ["moved", "1.4"], ["both", "1.3"]],
      skipped: [],
      pinnedOut: [],
      available: ["rebuilt", "moved", "both"],
    },
    {
      what: "a pinned package is never applied, even explicitly, and is not counted as available",
      explicit: true,
      pinned: ["moved", "current"],
      targets: [["rebuilt", "1.2"], ["both", "1.3"]],
      skipped: [],
      pinnedOut: ["moved"],
      available: ["rebuilt", "both"],
    },
    {
      what: "pinned and implicit: the pinned rebuild is neither applied nor skipped as a tag move",
      explicit: false,
      pinned: ["rebuilt", "both"],
      targets: [],
      skipped: ["moved"],
      pinnedOut: ["rebuilt", "both"],
      available: ["moved"],
    },
  ];
  for (const c of cases) {
    const s = selectUpdates(ALL, { explicit: c.explicit, pinned: new Set(c.pinned) });
    assert.deepEqual(s.targets.map((t) => [t.check.name, t.tag]), c.targets, c.what);
    assert.deepEqual(names(s.skippedTagMoves), c.skipped, c.what);
    assert.deepEqual(names(s.pinned), c.pinnedOut, c.what);
    assert.deepEqual(names(s.available), c.available, c.what);
    assert.deepEqual(names(s.failed), ["failed", "failed-rebuild"], `${c.what}: failed checks are reported`);
  }
});

Deno.test("selectUpdates(): a failed check is never applied, even when it saw a rebuild", () => {
  for (const explicit of [false, true]) {
    const s = selectUpdates([failedWithRebuild], { explicit, pinned: new Set() });
    assert.deepEqual(s.targets, []);
    assert.deepEqual(s.available, []);
    assert.deepEqual(names(s.failed), ["failed-rebuild"]);
  }
});

Deno.test("selectUpdates(): nothing to do is empty everywhere; targets keep the check order", () => {
  const none = selectUpdates([current, digestPinned], { explicit: true, pinned: new Set() });
  assert.deepEqual(none, { targets: [], skippedTagMoves: [], pinned: [], failed: [], available: [] });
  const order = selectUpdates([both, rebuilt], { explicit: true, pinned: new Set() });
  assert.deepEqual(names(order.targets.map((t) => t.check)), ["both", "rebuilt"]);
});
