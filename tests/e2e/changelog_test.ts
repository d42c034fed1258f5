import assert from "node:assert/strict";
import { startE2E } from "../support/e2e.ts";

function spdx(packages: Record<string, string>) {
  return {
    predicateType: "https://spdx.dev/Document",
    predicate: {
      spdxVersion: "SPDX-2.3",
      packages: Object.entries(packages).map(([name, versionInfo]) => ({ name, versionInfo })),
    },
  };
}
function provenance(commit: string) {
  return {
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: {
      buildDefinition: {
        buildType: "https://actions.github.io/buildtypes/workflow/v1",
        externalParameters: {
          workflow: { repository: "https://github.com/dz-test/tools", ref: "refs/heads/main" },
        },
        resolvedDependencies: [{
          uri: "git+https://github.com/dz-test/tools@refs/heads/main",
          digest: { gitCommit: commit },
        }],
      },
      runDetails: { builder: { id: "https://github.com/actions/runner" } },
    },
  };
}

Deno.test("an update shows the verified SBOM and provenance changes before it applies", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "one\n", {
    attest: [spdx({ openssl: "3.1.0", zlib: "1.3" }), provenance("a".repeat(40))],
  });
  const first = await env.dz(["install", "lab/cat"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /SBOM:\s+SPDX, 2 components/);
  await env.publish("cat", "latest", "two\n", {
    attest: [spdx({ openssl: "3.1.4", zlib: "1.3", curl: "8.5" }), provenance("b".repeat(40))],
  });
  // The check can say what the update changes before anything is applied.
  const check = await env.dz(["update", "--check", "--json", "--changelog"]);
  assert.equal(check.code, 100, check.stderr);
  const [row] = JSON.parse(check.stdout);
  assert.equal(row.rebuild, true);
  assert.deepEqual(row.changelog.packages.upgraded, [{ name: "openssl", from: "3.1.0", to: "3.1.4" }]);
  assert.deepEqual(row.changelog.packages.added, [{ name: "curl", version: "8.5" }]);
  assert.equal(row.changelog.source_commit.after, "b".repeat(40));
  const plain = JSON.parse((await env.dz(["update", "--check", "--json"])).stdout);
  assert.equal(plain[0].changelog, undefined, "plain checks stay HEAD-only");
  const second = await env.dz(["install", "lab/cat"]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /Packages: 1 upgraded, 1 added, 0 removed/);
  assert.match(second.stderr, /~ openssl 3\.1\.0 → 3\.1\.4/);
  assert.match(second.stderr, /\+ curl 8\.5/);
  assert.match(second.stderr, /Source commit: aaaaaaaaaaaa → bbbbbbbbbbbb/);
  assert.ok(second.stderr.indexOf("Changes") < second.stderr.indexOf("Installed cat"));
});
