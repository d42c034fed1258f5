/** Tests for src/store/layout.ts: where the dz home is and every path below it. */
import assert from "node:assert/strict";
import { HOME_MARKER, resolveHome, storeLayout } from "../../src/store/layout.ts";

Deno.test("resolveHome(): $DROPZONE_HOME when set and non-empty, else ~/.dropzone", () => {
  const cases: [Record<string, string>, string][] = [
    [{}, "/home/u/.dropzone"],
    [{ DROPZONE_HOME: "" }, "/home/u/.dropzone"],
    [{ DROPZONE_HOME: "/opt/dz" }, "/opt/dz"],
    [{ DROPZONE_HOME: "relative/dz" }, "relative/dz"],
    [{ HOME: "/elsewhere" }, "/home/u/.dropzone"],
  ];
  for (const [env, want] of cases) {
    assert.equal(resolveHome((n) => env[n], "/home/u"), want, JSON.stringify(env));
  }
});

Deno.test("storeLayout(): every path is distinct and below the home, with the documented names", () => {
  const l = storeLayout("/h");
  assert.deepEqual(l, {
    home: "/h",
    bin: "/h/bin",
    packages: "/h/packages",
    cache: "/h/cache",
    blobs: "/h/cache/blobs/sha256",
    layers: "/h/cache/layers",
    configDir: "/h/config",
    configFile: "/h/config/config.yaml",
    parsedConfig: "/h/cache/config.parsed.json",
    authFile: "/h/auth.json",
    lockFile: "/h/.lock",
    marker: `/h/${HOME_MARKER}`,
  });
  const paths = Object.values(l).filter((p) => p !== "/h");
  assert.equal(new Set(paths).size, paths.length);
  assert.equal(storeLayout("/h/").bin, "/h/bin", "a trailing slash does not double up");
  assert.equal(
    HOME_MARKER,
    ".dropzone-home",
    "purge refuses homes without this file: renaming it orphans them",
  );
});
