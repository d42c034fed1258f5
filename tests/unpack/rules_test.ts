/** The pure rules of layer application (src/unpack/rules.ts): path cleaning, link targets, whiteout names, caps. */
import assert from "node:assert/strict";
import { type DropzoneError, type ErrorCode, isDropzoneError } from "../../src/errors.ts";
import {
  classifyWhiteout,
  cleanEntryPath,
  DEFAULT_LAYER_LIMITS,
  isWhiteoutName,
  rootfsLinkTarget,
  tooDeep,
  tooManyBytes,
  tooManyEntries,
  unsafeEntry,
  type WhiteoutKind,
} from "../../src/unpack/rules.ts";

Deno.test("cleanEntryPath() strips leading slashes and dots and refuses climbing above the root", () => {
  assert.deepEqual(cleanEntryPath("/etc/passwd"), ["etc", "passwd"]);
  assert.deepEqual(cleanEntryPath("./usr//bin/./x"), ["usr", "bin", "x"]);
  assert.deepEqual(cleanEntryPath("a/../b"), ["b"]);
  assert.deepEqual(cleanEntryPath("./"), []);
  assert.equal(cleanEntryPath("../x"), undefined);
  assert.equal(cleanEntryPath("a/../../x"), undefined);
  assert.equal(cleanEntryPath("/../x"), undefined);
});

Deno.test("rootfsLinkTarget() rewrites absolute and root-climbing targets to relative ones inside the rootfs", () => {
  assert.equal(rootfsLinkTarget(["usr", "bin"], "/usr/bin/python3"), "python3");
  assert.equal(rootfsLinkTarget([], "/usr/lib64"), "usr/lib64");
  assert.equal(rootfsLinkTarget(["usr", "lib"], "/lib/x"), "../../lib/x");
  assert.equal(rootfsLinkTarget(["a", "b"], "/"), "../..");
  assert.equal(rootfsLinkTarget([], "/"), ".");
  assert.equal(rootfsLinkTarget([], ".."), ".");
  assert.equal(rootfsLinkTarget(["etc"], "../../../usr/share/zoneinfo/UTC"), "../usr/share/zoneinfo/UTC");
  // Relative targets that stay inside are kept verbatim.
  assert.equal(rootfsLinkTarget(["usr", "bin"], "../lib/x"), "../lib/x");
  assert.equal(rootfsLinkTarget(["a"], "./b/../c"), "./b/../c");
});

Deno.test("classifyWhiteout() tells opaque markers, aufs metadata, hidden names and invalid whiteouts apart", () => {
  const cases: [string, WhiteoutKind][] = [
    [".wh..wh..opq", { kind: "opaque" }],
    [".wh..wh.plnk", { kind: "meta" }],
    [".wh..wh.aufs", { kind: "meta" }],
    [".wh.passwd", { kind: "hide", hidden: "passwd" }],
    [".wh..bashrc", { kind: "hide", hidden: ".bashrc" }],
    [".wh.a.wh.b", { kind: "hide", hidden: "a.wh.b" }],
    [".wh.", { kind: "invalid" }],
    [".wh..", { kind: "invalid" }],
    [".wh...", { kind: "invalid" }],
  ];
  for (const [base, want] of cases) {
    assert.ok(isWhiteoutName(base), base);
    assert.deepEqual(classifyWhiteout(base), want, base);
  }
});

Deno.test("isWhiteoutName() is only the .wh. prefix of a base name", () => {
  const cases: [string, boolean][] = [
    [".wh.x", true],
    ["x.wh.y", false],
    ["wh.x", false],
    [".WH.x", false],
    ["", false],
  ];
  for (const [base, want] of cases) assert.equal(isWhiteoutName(base), want, base);
});

Deno.test("cleanEntryPath() keeps names with dots that are not path steps", () => {
  const cases: [string, string[] | undefined][] = [
    ["..a/b", ["..a", "b"]],
    ["a/.../b", ["a", "...", "b"]],
    ["a/b/..", ["a"]],
    ["a/b/../..", []],
    ["a/b/../../..", undefined],
    ["//a//", ["a"]],
  ];
  for (const [name, want] of cases) assert.deepEqual(cleanEntryPath(name), want, name);
});

Deno.test("the layer errors name the layer and the entry, with the right code and a hint", () => {
  const limits = { ...DEFAULT_LAYER_LIMITS, maxEntries: 3, maxDepth: 2, maxBytes: 10 };
  const cases: [DropzoneError, ErrorCode, RegExp][] = [
    [
      unsafeEntry("layer L", "../x", "climbs"),
      "UNSAFE_LAYER",
      /^Cannot apply layer L: entry "\.\.\/x" climbs$/,
    ],
    [tooManyEntries("layer L", limits), "LAYER_LIMIT", /more than 3 entries/],
    [tooDeep("layer L", "a/b/c", limits), "LAYER_LIMIT", /entry "a\/b\/c" is deeper than 2 directories/],
    [tooManyBytes("layer L", "big", limits), "LAYER_LIMIT", /entry "big" exceeds the limit of 10 bytes/],
  ];
  for (const [err, code, message] of cases) {
    assert.ok(isDropzoneError(err, code), err.message);
    assert.match(err.message, message);
    assert.ok(err.hint && err.hint.length > 0);
  }
});
