import assert from "node:assert/strict";
import {
  isSidecarTag,
  newerTagsInTrack,
  parseVersionTag,
  sortTags,
  sortTagsNewestFirst,
} from "../../src/registry/tag_order.ts";

const SHA = "a".repeat(64);

Deno.test("parseVersionTag() separates pre-releases, revisions and tracks", async (t) => {
  const cases: [string, unknown][] = [
    ["1.2.3", { numbers: [1, 2, 3], prerelease: [], revision: -1, track: "" }],
    ["v1.2", { numbers: [1, 2], prerelease: [], revision: -1, track: "" }],
    ["1.2.3-rc.1", { numbers: [1, 2, 3], prerelease: ["rc", "1"], revision: -1, track: "" }],
    ["1.2.3-beta2", { numbers: [1, 2, 3], prerelease: ["beta", "2"], revision: -1, track: "" }],
    ["1.2.3-r4", { numbers: [1, 2, 3], prerelease: [], revision: 4, track: "" }],
    ["1.2-dev", { numbers: [1, 2], prerelease: [], revision: -1, track: "dev" }],
    ["1.2.3-r1-dev", { numbers: [1, 2, 3], prerelease: [], revision: 1, track: "dev" }],
    ["3.19-slim-bookworm", { numbers: [3, 19], prerelease: [], revision: -1, track: "slim-bookworm" }],
    ["latest", undefined],
    ["edge", undefined],
    [`sha256-${SHA}.sig`, undefined],
  ];
  for (const [tag, expected] of cases) {
    await t.step(tag, () => {
      const v = parseVersionTag(tag);
      if (expected === undefined) assert.equal(v, undefined);
      else {
        const { tag: _tag, ...rest } = v!;
        assert.deepEqual(rest, expected);
      }
    });
  }
});

Deno.test("sortTags() orders versions numerically, pre-releases before releases, tracks apart, others last", () => {
  const tags = [
    "latest",
    "1.10.0",
    "1.9.0",
    "1.10.0-rc.2",
    "1.10.0-rc.10",
    "1.2-dev",
    "1.10-dev",
    "edge",
    "v0.9",
    "1.9.0-r1",
    `sha256-${SHA}`,
    `sha256-${SHA}.sig`,
    "1.9",
  ];
  assert.deepEqual(sortTags(tags), {
    tags: [
      "v0.9",
      "1.9",
      "1.9.0",
      "1.9.0-r1",
      "1.10.0-rc.2",
      "1.10.0-rc.10",
      "1.10.0",
      "1.2-dev",
      "1.10-dev",
      "latest",
      "edge",
    ],
    hiddenSidecars: [`sha256-${SHA}`, `sha256-${SHA}.sig`],
  });
  const all = sortTags(tags, { all: true });
  assert.deepEqual(all.hiddenSidecars, []);
  assert.deepEqual(all.tags.slice(-2), [`sha256-${SHA}`, `sha256-${SHA}.sig`]);
});

Deno.test("isSidecarTag() matches cosign tags only", () => {
  assert.ok(isSidecarTag(`sha256-${SHA}`));
  assert.ok(isSidecarTag(`sha256-${SHA}.att`));
  assert.ok(isSidecarTag(`sha256-${SHA}.sbom`));
  assert.ok(!isSidecarTag(`sha256-${SHA}.foo`));
  assert.ok(!isSidecarTag("sha256-abc.sig"));
});

Deno.test("newerTagsInTrack() stays within the suffix track and precision", async (t) => {
  const tags = [
    "1.2.3",
    "1.2.4",
    "1.3.0",
    "1.3",
    "2.0.0-rc.1",
    "2.0.0",
    "1.2.5-dev",
    "1.3-dev",
    "1.4-dev",
    "latest",
    "v1.9.9",
    "1.2.3-r1",
  ];
  const cases: [string, string[]][] = [
    ["1.2.3", ["1.2.3-r1", "1.2.4", "1.3.0", "2.0.0"]],
    ["1.3", []],
    ["1.2", ["1.3"]],
    ["1.3-dev", ["1.4-dev"]],
    ["2.0.0-rc.1", ["2.0.0"]],
    ["latest", []],
    ["edge", []],
    ["2.0.0", []],
  ];
  for (const [current, expected] of cases) {
    await t.step(current, () => assert.deepEqual(newerTagsInTrack(current, tags), expected));
  }
});

Deno.test("sortTagsNewestFirst() puts floating tags first, then each track newest first, sidecars only with all", () => {
  const sig = `sha256-${SHA}.sig`;
  const tags = [
    "1.9.0",
    "edge",
    "1.10.0-rc.2",
    "1.10.0",
    "1.2-dev",
    "1.10-dev",
    "latest",
    "v0.9",
    sig,
    "1.9.0-r1",
  ];
  assert.deepEqual(sortTagsNewestFirst(tags), {
    tags: ["latest", "edge", "1.10.0", "1.10.0-rc.2", "1.9.0-r1", "1.9.0", "v0.9", "1.10-dev", "1.2-dev"],
    hiddenSidecars: [sig],
  });
  const all = sortTagsNewestFirst(tags, { all: true });
  assert.equal(all.tags.at(-1), sig);
  assert.deepEqual(all.hiddenSidecars, []);
});
