/** Tests for src/path.ts: the same answers as node:path (POSIX) for every path dz builds, and hostile spellings. */
import assert from "node:assert/strict";
import * as node from "node:path";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "../src/path.ts";

const SAMPLES = [
  "",
  ".",
  "..",
  "/",
  "//",
  "///a//b///",
  "a",
  "a/",
  "/a",
  "/a/",
  "a/b/c",
  "/a/b/c/",
  "./a",
  "../a",
  "a/..",
  "a/../",
  "a/../..",
  "/..",
  "/../a/./b/../c",
  "a/./b/.",
  "...",
  "a/.../b",
  "a\\b",
  "sha256:abc",
  "/home/u/.dropzone/packages/jq/current",
  ".staging-x",
  "a//./../b/",
];

Deno.test("normalize(), basename(), dirname() and isAbsolute() agree with node:path for every sample", () => {
  for (const p of SAMPLES) {
    assert.equal(normalize(p), node.posix.normalize(p), `normalize(${JSON.stringify(p)})`);
    assert.equal(basename(p), node.posix.basename(p), `basename(${JSON.stringify(p)})`);
    assert.equal(dirname(p), node.posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(isAbsolute(p), node.posix.isAbsolute(p), `isAbsolute(${JSON.stringify(p)})`);
  }
});

Deno.test("join() and resolve() agree with node:path for every pair and triple of samples", () => {
  for (const a of SAMPLES) {
    for (const b of SAMPLES) {
      assert.equal(join(a, b), node.posix.join(a, b), `join(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
      assert.equal(
        resolve(a, b),
        node.posix.resolve(a, b),
        `resolve(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
      );
      for (const c of ["x", "../y", "/z", ""]) {
        assert.equal(join(a, b, c), node.posix.join(a, b, c));
        assert.equal(resolve(a, b, c), node.posix.resolve(a, b, c));
      }
    }
  }
  assert.equal(join(), node.posix.join());
  assert.equal(resolve(), node.posix.resolve());
});

Deno.test("a backslash is an ordinary file-name character, as on Linux and macOS", () => {
  assert.equal(join("pkg", "a\\..\\b"), "pkg/a\\..\\b");
  assert.equal(basename("/x/a\\b"), "a\\b");
});
