/** The pure version rules: history format and stack, ordering, previous versions, prune and rollback choice. */
import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import {
  chooseRollback,
  keptDigests,
  nextHistory,
  orderVersions,
  parseHistory,
  previousDigests,
  type VersionFacts,
} from "../../src/store/versions.ts";

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;
const [A, B, C, D] = [d("a"), d("b"), d("c"), d("d")];

function facts(digest: Digest, installedAt: string, extra: Partial<VersionFacts> = {}): VersionFacts {
  return {
    digest,
    complete: true,
    current: false,
    metadata: { installed_at: installedAt } as VersionFacts["metadata"],
    ...extra,
  };
}

Deno.test("parseHistory() keeps valid digests, treats damage as empty and refuses a newer schema", () => {
  const cases: Array<[string, Digest[]]> = [
    [`{"schema_version":1,"history":["${A}","nope","${B}"]}`, [A, B]],
    ["null", []],
    ["[1]", []],
    ["{ oops", []],
    ['{"schema_version":1}', []],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseHistory(text, "h.json"), want, text);
  assert.throws(
    () => parseHistory('{"schema_version":7,"history":[]}', "h.json"),
    (e) => isDropzoneError(e, "CONFIG_VERSION"),
  );
});

Deno.test("nextHistory() pushes an activation once and pops back on rollback", () => {
  assert.deepEqual(nextHistory([A, B], C, false), [A, B, C]);
  const same = [A, B];
  assert.equal(nextHistory(same, B, false), same, "re-activating the top changes nothing");
  assert.deepEqual(nextHistory([A, B, C], A, true), [A]);
  assert.deepEqual(
    nextHistory([A, B], C, true),
    [A, B, C],
    "a rollback to a digest outside the history pushes",
  );
});

Deno.test("orderVersions() puts current first, then last activation, then install time", () => {
  const entries = [
    facts(A, "2026-01-01"),
    facts(B, "2026-01-03"),
    facts(C, "2026-01-02", { current: true }),
    facts(D, "2026-01-04"),
  ];
  assert.deepEqual(orderVersions(entries, [B, A, C]).map((v) => v.digest), [C, A, B, D]);
});

Deno.test("previousDigests() walks the history back, skips incomplete and repeated ones, then adds the rest", () => {
  const versions = [facts(A, "1"), facts(B, "2", { complete: false }), facts(C, "3"), facts(D, "4")];
  assert.deepEqual(previousDigests([A, B, A, C], C, versions), [A, D]);
  assert.deepEqual(keptDigests(C, [A, D], 1), new Set([C, A]));
  assert.deepEqual(keptDigests(C, [A, D], 0), new Set([C]));
});

Deno.test("chooseRollback() picks by steps or by a unique digest prefix and refuses bad targets", () => {
  const base = { name: "jq", current: C, previous: [B, A], complete: [A, B, C] };
  assert.deepEqual(chooseRollback({ ...base, to: 1 }), { digest: B, steps: 1 });
  assert.deepEqual(chooseRollback({ ...base, to: 2 }), { digest: A, steps: 2 });
  assert.deepEqual(chooseRollback({ ...base, to: "aaaa" }), { digest: A, steps: 2 });
  assert.deepEqual(chooseRollback({ ...base, previous: [B], to: `sha256-${"a".repeat(8)}` }), {
    digest: A,
    steps: 0,
  });
  // Zero steps, more steps than versions, too short, not hex, not installed, already current.
  for (const to of [0, 3, "ab", "zzzz", "dddd", "cccc"]) {
    assert.throws(
      () => chooseRollback({ ...base, to }),
      (e) => isDropzoneError(e, "INVALID_ARGUMENT"),
      String(to),
    );
  }
  assert.throws(
    () => chooseRollback({ ...base, previous: [], to: 1 }),
    (e) => isDropzoneError(e, "NOT_INSTALLED"),
  );
});
