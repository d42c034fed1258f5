/** renderLockfile: a stable dz.lock document (sorted by name, header comment) that parseLockfile reads back. */
import assert from "node:assert/strict";
import { type LockedPackage, parseLockfile } from "../../src/app/lockfile.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { renderLockfile } from "../../src/cli/lockfile_render.ts";

const D = (c: string) => ("sha256:" + c.repeat(64)) as Digest;

function pkg(name: string, over: Partial<LockedPackage> = {}): LockedPackage {
  return {
    name,
    source: `docker.io/chainguard/${name}`,
    tag: "latest",
    index_digest: D("a"),
    platforms: { "linux/amd64": D("b"), "linux/arm64": D("c") },
    signer: {
      identity: "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main",
      issuer: null,
    },
    allow_unsigned: false,
    ...over,
  };
}

Deno.test("renderLockfile() writes a header and the packages sorted by name, whatever their order", () => {
  const text = renderLockfile({
    version: 1,
    packages: [pkg("jq"), pkg("curl", { signer: null, tag: null })],
  });
  assert.match(
    text,
    /^# dz\.lock: written by `dz lock`; install with `dz install --locked`\. Do not edit by hand\.\n/,
  );
  assert.ok(text.includes("\nversion: 1\npackages:\n  - name: curl\n"), text);
  assert.ok(text.indexOf("name: curl") < text.indexOf("name: jq"));
  assert.equal(
    text,
    renderLockfile({ version: 1, packages: [pkg("curl", { signer: null, tag: null }), pkg("jq")] }),
  );
  // lineWidth 0: a long identity stays on one line, so diffs of dz.lock stay readable.
  assert.match(
    text,
    /identity: https:\/\/github\.com\/org\/repo\/\.github\/workflows\/release\.yml@refs\/heads\/main\n/,
  );
});

Deno.test("renderLockfile() output parses back to the same packages", () => {
  const packages = [pkg("curl", { index_digest: null, signer: null, allow_unsigned: true }), pkg("jq")];
  assert.deepEqual(parseLockfile(renderLockfile({ version: 1, packages }), "dz.lock"), {
    version: 1,
    packages,
  });
});
