/** `dz verify`'s own logic: what a target is, which reference an installed package re-verifies, failure reports. */
import assert from "node:assert/strict";
import {
  attestationSummary,
  installedReference,
  looksLikePackageName,
  type VerifyDeps,
  verifyTarget,
} from "../../src/app/verify_cmd.ts";
import { isDropzoneError } from "../../src/errors.ts";
import type { Config } from "../../src/store/config.ts";
import { HOST } from "../support/shim_fixtures.ts";
import { installVersion, sampleMetadata, testConfig } from "../support/store_fixtures.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { tempHome } from "../support/temp_home.ts";

const POLICY = {
  issuer: "https://token.actions.githubusercontent.com",
  identity: "https://github.com/o/r/x@refs/heads/main",
};
Deno.test("looksLikePackageName() takes a bare lower-case name only", () => {
  for (const t of ["jq", "ripgrep", "a.b_c-1"]) assert.ok(looksLikePackageName(t), t);
  for (const t of ["lab/jq", "jq:1.7", "jq@sha256:" + "a".repeat(64), "JQ", "-x", "a".repeat(65)]) {
    assert.ok(!looksLikePackageName(t), t);
  }
});

Deno.test("attestationSummary() says what each kind holds and whether it verified", () => {
  assert.equal(
    attestationSummary({
      predicateType: "p",
      verified: true,
      kind: "sbom",
      sbom: { format: "spdx", componentCount: 12 },
    }),
    "SBOM SPDX, 12 components [verified]",
  );
  assert.equal(
    attestationSummary({
      predicateType: "p",
      verified: false,
      kind: "provenance",
      provenance: { builderId: "gh", sourceRepo: "github.com/o/r", sourceCommit: "0123456789abcdef" },
      note: "unsigned",
    }),
    "provenance gh from github.com/o/r@0123456789ab [UNVERIFIED] (unsigned)",
  );
  assert.equal(
    attestationSummary({
      predicateType: "v",
      verified: true,
      kind: "vuln",
      vuln: { critical: 1, high: 2, medium: 3, low: 4, unknown: 0 },
    }),
    "vulnerabilities 1C/2H/3M/4L [verified]",
  );
  assert.equal(
    attestationSummary({ predicateType: "https://x/y", verified: true, kind: "other" }),
    "https://x/y [verified]",
  );
});

Deno.test("installedReference() re-verifies through the same registry by name, by the recorded digest", async () => {
  const meta = await sampleMetadata("cat", "1", {
    registry: { name: "cgr", url: "cgr.dev/chainguard" },
    repository: "chainguard/cat",
  });
  const ref = installedReference(
    meta,
    testConfig([{ name: "cgr", url: "cgr.dev/chainguard", cosign_policy: POLICY }]),
    meta.digest,
  );
  assert.equal(ref.registryName, "cgr");
  assert.equal(ref.repository, "chainguard/cat");
  assert.equal(ref.digest, meta.digest);
  assert.deepEqual(ref.policy, POLICY);
  // A removed registry: resolved by host with no policy (the report then says "no policy").
  assert.equal(installedReference(meta, testConfig([]), meta.digest).policy, undefined);
  // A registry name now pointing elsewhere never lends its policy to the package.
  assert.throws(
    () =>
      installedReference(
        meta,
        testConfig([{ name: "cgr", url: "ghcr.io/evil", cosign_policy: POLICY }]),
        meta.digest,
      ),
    (err) => isDropzoneError(err, "REGISTRY_NOT_FOUND") && /now points at ghcr\.io\/evil/.test(err.message),
  );
});

function deps(layout: VerifyDeps["layout"], registries: Config["registries"]): VerifyDeps {
  return {
    layout,
    config: testConfig(registries),
    client: new MemoryRegistry(),
    host: HOST,
    now: new Date("2026-12-01T00:00:00Z"),
    loadTrust: () => Promise.reject(new Error("no trust material in this test")),
  };
}

Deno.test("verifyTarget() of a reference that cannot resolve reports it unverified, with the error", async () => {
  await using home = await tempHome();
  const outcome = await verifyTarget(
    deps(home.layout, [{ name: "lab", url: "127.0.0.1:5000/apps", cosign_policy: POLICY }]),
    "lab/missing:1.0",
  );
  assert.ok(outcome.error);
  assert.equal(outcome.report.mode, "reference");
  assert.equal(outcome.report.verified, false);
  assert.equal(outcome.report.signature, null);
  assert.equal(outcome.report.proof, null);
  assert.deepEqual(outcome.report.attestations, []);
  assert.equal(outcome.report.trusted_root, null);
  assert.ok(outcome.report.error?.code);
});

Deno.test("verifyTarget() of an installed package whose registry moved reports the package, its signer, the error", async () => {
  await using home = await tempHome();
  const installed = await installVersion(home.layout, "cat", "1");
  const outcome = await verifyTarget(
    deps(home.layout, [{ name: "cgr", url: "ghcr.io/elsewhere", cosign_policy: POLICY }]),
    "cat",
  );
  const { report } = outcome;
  assert.equal(report.mode, "installed");
  assert.equal(report.package, "cat");
  assert.equal(report.digest, installed.digest);
  assert.equal(report.verified, false);
  assert.equal(report.policy, null);
  assert.equal(report.recorded_signer, installed.metadata.signature?.identity);
  assert.equal(report.error?.code, "REGISTRY_NOT_FOUND");
});
