/** Tests for src/cli/changelog_render.ts: the human lines of an update changelog. */
import assert from "node:assert/strict";
import type { Changelog } from "../../src/app/changelog.ts";
import { renderChangelog } from "../../src/cli/changelog_render.ts";

const counts = (critical: number, high: number, medium: number, low: number) => ({
  critical,
  high,
  medium,
  low,
  unknown: 0,
});

Deno.test("renderChangelog(): packages upgraded, added and removed, vulnerabilities and the source commit", () => {
  const log: Changelog = {
    packages: {
      added: [{ name: "libz", version: "1.3" }],
      removed: [{ name: "oldlib", version: "0.9" }],
      upgraded: [{ name: "jq", from: "1.7", to: "1.8" }],
    },
    vulnerabilities: { before: counts(1, 2, 3, 4), after: counts(0, 1, 3, 4) },
    source_commit: { before: "0123456789abcdef0123", after: null },
  };
  assert.deepEqual(renderChangelog(log), [
    "Packages: 1 upgraded, 1 added, 1 removed",
    "  ~ jq 1.7 → 1.8",
    "  + libz 1.3",
    "  - oldlib 0.9",
    "Vulnerabilities: 1C/2H/3M/4L → 0C/1H/3M/4L",
    "Source commit: 0123456789ab → unknown",
  ]);
});

Deno.test("renderChangelog(): no changes, unknown packages, and nothing else known", () => {
  const none: Changelog = {
    packages: { added: [], removed: [], upgraded: [] },
    vulnerabilities: null,
    source_commit: null,
  };
  assert.deepEqual(renderChangelog(none), ["Packages: no changes"]);
  assert.deepEqual(renderChangelog({ ...none, packages: null }), [
    "Packages: unknown (no verified SBOM on both versions)",
  ]);
});

Deno.test("renderChangelog(): long package lists are cut at maxPackages with a count of the rest", () => {
  const added = Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, version: "1" }));
  const log: Changelog = {
    packages: { added, removed: [], upgraded: [] },
    vulnerabilities: null,
    source_commit: null,
  };
  const lines = renderChangelog(log);
  assert.equal(lines.length, 1 + 15 + 1);
  assert.equal(lines.at(-1), "  … and 5 more");
  const three = renderChangelog(log, { maxPackages: 3 });
  assert.deepEqual(three.slice(1), ["  + p0 1", "  + p1 1", "  + p2 1", "  … and 17 more"]);
  assert.equal(renderChangelog(log, { maxPackages: 20 }).at(-1), "  + p19 1", "no tail when all fit");
});
