/** Cross-check planning: where a reference lives at another location, and when cross-checking is allowed. */
import assert from "node:assert/strict";
import { crossCheckLocations, crossCheckRepo } from "../../src/app/cross_check.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { resolveReference } from "../../src/oci/reference.ts";

const registries = [
  { name: "lab", url: "127.0.0.1:5000/apps", cross_check: ["backup.example/apps"] },
  { name: "signed", url: "ghcr.io/corp", cosign_policy: { issuer: "i", identity: "s" } },
];
const resolve = (input: string) => resolveReference(input, { registries, defaultRegistry: "lab" });

Deno.test("crossCheckRepo() replaces the ref's registry part with the location", async (t) => {
  const cases: [string, string, string][] = [
    ["lab/tool:1.0", "other.example:5000/mirror", "other.example:5000 mirror/tool"],
    ["127.0.0.1:5000/apps/team/tool", "other.example", "other.example team/tool"],
    ["quay.io/org/tool", "copy.example/q", "copy.example q/org/tool"],
    ["docker.io/alpine", "hub-copy.example", "hub-copy.example library/alpine"],
  ];
  for (const [input, location, want] of cases) {
    await t.step(`${input} at ${location}`, () => {
      const repo = crossCheckRepo(resolve(input), location);
      assert.equal(`${repo.registry} ${repo.repository}`, want);
    });
  }
});

Deno.test("crossCheckLocations() takes the flags over the registry's cross_check: and refuses a policy registry", () => {
  const unsigned = { kind: "unsigned" } as const;
  assert.deepEqual(crossCheckLocations(resolve("lab/tool"), unsigned, [], { registries }), [
    "backup.example/apps",
  ]);
  assert.deepEqual(
    crossCheckLocations(resolve("lab/tool"), unsigned, ["A.example", "a.example", "b.example/x"], {
      registries,
    }),
    ["a.example", "b.example/x"],
  );
  assert.deepEqual(crossCheckLocations(resolve("quay.io/o/t"), unsigned, [], { registries }), []);
  const signed = resolve("signed/tool");
  assert.throws(
    () =>
      crossCheckLocations(signed, { kind: "verify", policy: signed.policy! }, ["x.example"], { registries }),
    (err) => isDropzoneError(err, "INVALID_ARGUMENT") && /has a signature policy/.test(err.message),
  );
  assert.deepEqual(
    crossCheckLocations(signed, { kind: "verify", policy: signed.policy! }, [], { registries }),
    [],
  );
});
