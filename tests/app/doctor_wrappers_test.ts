import assert from "node:assert/strict";
import { classifyBinEntry, hostFromPlatform } from "../../src/app/doctor_wrappers.ts";
import { WRAPPER_MARKER } from "../../src/shim/wrapper.ts";

const HEX = "a".repeat(64);
const wrapper = (name: string, pkg: string) =>
  `#!/bin/sh\n${WRAPPER_MARKER}\n# name=${JSON.stringify(name)} package=${
    JSON.stringify(pkg)
  } digest="sha256:${HEX}"\n`;

Deno.test("classifyBinEntry: only dz-marked files are wrappers; foreign files are never orphans", () => {
  const expected = new Map([["jq", "jq"], ["yq", "jq"]]);
  const dirs = new Set(["jq", "broken"]);
  assert.deepEqual(classifyBinEntry("mine", "#!/bin/sh\necho hi\n", expected, dirs), { kind: "foreign" });
  assert.deepEqual(classifyBinEntry("dir", null, expected, dirs), { kind: "foreign" });
  assert.deepEqual(classifyBinEntry("jq", wrapper("jq", "jq"), expected, dirs), {
    kind: "owned",
    package: "jq",
  });
  assert.deepEqual(classifyBinEntry("yq", wrapper("yq", "jq"), expected, dirs), {
    kind: "owned",
    package: "jq",
  });
  assert.deepEqual(classifyBinEntry("gone", wrapper("gone", "gone"), expected, dirs), {
    kind: "orphan",
    package: "gone",
  });
  // A wrapper under a name the package no longer provides is an orphan too.
  assert.deepEqual(classifyBinEntry("old", wrapper("old", "jq"), expected, dirs), {
    kind: "orphan",
    package: "jq",
  });
  // A package whose current is broken still has a directory: its wrappers wait for the store repair.
  assert.deepEqual(classifyBinEntry("b", wrapper("b", "broken"), expected, dirs), {
    kind: "damaged-package",
    package: "broken",
  });
  // A marker without a readable comment line: owned by name, orphan otherwise.
  assert.deepEqual(classifyBinEntry("jq", `#!/bin/sh\n${WRAPPER_MARKER}\n`, expected, dirs), {
    kind: "owned",
    package: "jq",
  });
  assert.deepEqual(classifyBinEntry("x", `#!/bin/sh\n${WRAPPER_MARKER}\n`, expected, dirs), {
    kind: "orphan",
    package: null,
  });
  // writeWrapper temp files: dz-marked or empty ones are crash leftovers; anything else is not ours.
  assert.deepEqual(classifyBinEntry(".jq.abc.tmp", wrapper("jq", "jq"), expected, dirs), {
    kind: "leftover",
  });
  assert.deepEqual(classifyBinEntry(".jq.abc.tmp", "", expected, dirs), { kind: "leftover" });
  assert.deepEqual(classifyBinEntry(".notes.tmp", "mine", expected, dirs), { kind: "foreign" });
});

Deno.test("hostFromPlatform reads os/arch/variant and falls back on garbage", () => {
  const fallback = { os: "linux", arch: "amd64" };
  assert.deepEqual(hostFromPlatform("linux/arm64/v8", fallback), {
    os: "linux",
    arch: "arm64",
    variant: "v8",
  });
  assert.deepEqual(hostFromPlatform("garbage", fallback), fallback);
});
