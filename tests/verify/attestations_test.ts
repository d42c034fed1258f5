import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import {
  applyAttestationGates,
  collectAttestations,
  PREDICATE_TYPES,
  summariseStatement,
} from "../../src/verify/attestations.ts";
import type { AttestationSummary, CosignPolicy } from "../../src/verify/types.ts";
import { createTestPki } from "../support/test_pki.ts";
import { ACME_ID, ACME_POLICY, ACME_REPO, GITHUB_ISSUER } from "../support/verify_fixtures.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import {
  attestImageBundle,
  attestImageLegacy,
  pushTestImage,
  signImageBundle,
} from "../support/cosign_signer.ts";

const ID = ACME_ID;
const ISS = GITHUB_ISSUER;
const POLICY: CosignPolicy = ACME_POLICY;
const REPO = ACME_REPO;
const pki = await createTestPki();
const trust = { trustedRoot: pki.trustedRoot };

const SLSA_V1 = {
  buildDefinition: {
    buildType: "https://actions.github.io/buildtypes/workflow/v1",
    externalParameters: { workflow: { ref: "refs/heads/main", repository: "https://github.com/acme/tools" } },
    resolvedDependencies: [{
      uri: "git+https://github.com/acme/tools@refs/heads/main",
      digest: { gitCommit: "abc123" },
    }],
  },
  runDetails: { builder: { id: "https://github.com/actions/runner/github-hosted" } },
};

const TRIVY = {
  scanner: {
    uri: "pkg:github/aquasecurity/trivy",
    version: "0.50.0",
    result: {
      Results: [
        { Vulnerabilities: [{ Severity: "HIGH" }, { Severity: "LOW" }, { Severity: "UNKNOWN" }] },
        { Target: "clean" },
      ],
    },
  },
  metadata: { scanStartedOn: "2026-11-01T00:00:00Z", scanFinishedOn: "2026-11-01T00:01:00Z" },
};

Deno.test("summariseStatement() reads SPDX 2 and SPDX 3 packages", () => {
  const spdx2 = summariseStatement({
    predicateType: PREDICATE_TYPES.SPDX,
    predicate: {
      packages: [{ name: "openssl", versionInfo: "3.3.1" }, { name: "zlib", versionInfo: "1.3" }],
    },
  });
  assert.equal(spdx2.kind, "sbom");
  assert.deepEqual(spdx2.sbom, {
    format: "spdx",
    componentCount: 2,
    packages: { openssl: "3.3.1", zlib: "1.3" },
  });
  const spdx3 = summariseStatement({
    predicateType: PREDICATE_TYPES.SPDX,
    predicate: {
      "@graph": [
        { type: "software_Package", name: "curl", software_packageVersion: "8.9.0" },
        { type: "Relationship" },
        { type: "software_Package", name: "curl", software_packageVersion: "8.9.1" },
      ],
    },
  });
  assert.deepEqual(spdx3.sbom, { format: "spdx", componentCount: 2, packages: { curl: "8.9.0, 8.9.1" } });
  assert.match(
    summariseStatement({ predicateType: PREDICATE_TYPES.SPDX, predicate: {} }).note ?? "",
    /neither/,
  );
});

Deno.test("summariseStatement() reads CycloneDX components", () => {
  const s = summariseStatement({
    predicateType: PREDICATE_TYPES.CYCLONEDX,
    predicate: { components: [{ name: "busybox", version: "1.36" }] },
  });
  assert.deepEqual(s.sbom, { format: "cyclonedx", componentCount: 1, packages: { busybox: "1.36" } });
});

Deno.test("summariseStatement() reads SLSA v1 and v0.2 provenance", () => {
  assert.deepEqual(
    summariseStatement({ predicateType: PREDICATE_TYPES.SLSA_V1, predicate: SLSA_V1 }).provenance,
    {
      builderId: "https://github.com/actions/runner/github-hosted",
      buildType: "https://actions.github.io/buildtypes/workflow/v1",
      sourceRepo: "https://github.com/acme/tools",
      sourceCommit: "abc123",
    },
  );
  const v02 = summariseStatement({
    predicateType: PREDICATE_TYPES.SLSA_V02,
    predicate: {
      builder: { id: "https://github.com/slsa-framework/slsa-github-generator" },
      buildType: "https://github.com/slsa-framework/slsa-github-generator/container@v1",
      invocation: {
        configSource: { uri: "git+https://github.com/acme/tools@refs/tags/v1", digest: { sha1: "def" } },
      },
    },
  });
  assert.deepEqual(v02.provenance, {
    builderId: "https://github.com/slsa-framework/slsa-github-generator",
    buildType: "https://github.com/slsa-framework/slsa-github-generator/container@v1",
    sourceRepo: "https://github.com/acme/tools",
    sourceCommit: "def",
  });
});

Deno.test("summariseStatement() counts Trivy and Grype findings and never invents zeroes", () => {
  const trivy = summariseStatement({ predicateType: PREDICATE_TYPES.COSIGN_VULN, predicate: TRIVY });
  assert.deepEqual(trivy.vuln, {
    scanner: "pkg:github/aquasecurity/trivy@0.50.0",
    critical: 0,
    high: 1,
    medium: 0,
    low: 1,
    unknown: 1,
    scannedAt: "2026-11-01T00:01:00Z",
  });
  const grype = summariseStatement({
    predicateType: PREDICATE_TYPES.COSIGN_VULN,
    predicate: {
      scanner: {
        uri: "pkg:github/anchore/grype",
        result: {
          matches: [{ vulnerability: { severity: "Critical" } }, {
            vulnerability: { severity: "Negligible" },
          }],
        },
      },
    },
  });
  assert.equal(grype.vuln?.critical, 1);
  assert.equal(grype.vuln?.low, 1);
  // The invented shape the Go tool read: not understood, so no counts at all.
  const unknown = summariseStatement({
    predicateType: PREDICATE_TYPES.COSIGN_VULN,
    predicate: { results: { vulnerabilities: [{ severity: "critical" }] } },
  });
  assert.equal(unknown.vuln, undefined);
  assert.match(unknown.note ?? "", /cannot read/);
});

async function attestedImage(): Promise<{ reg: MemoryRegistry; digest: Digest }> {
  const reg = new MemoryRegistry({ referrersApi: false });
  const { digest } = await pushTestImage(reg, REPO.repository, "1.0");
  const signer = await pki.keyless({ identity: ID, issuer: ISS });
  await attestImageLegacy(reg, REPO.repository, digest, signer, {
    predicateType: PREDICATE_TYPES.SLSA_V1,
    predicate: SLSA_V1,
  });
  await attestImageLegacy(reg, REPO.repository, digest, signer, {
    predicateType: PREDICATE_TYPES.COSIGN_VULN,
    predicate: TRIVY,
  });
  await attestImageBundle(reg, REPO.repository, digest, signer, {
    predicateType: PREDICATE_TYPES.SPDX,
    predicate: { packages: [{ name: "openssl", versionInfo: "3.3.1" }] },
  });
  await signImageBundle(reg, REPO.repository, digest, signer);
  return { reg, digest };
}

Deno.test("collectAttestations() verifies .att layers and bundle referrers and skips signatures", async () => {
  const { reg, digest } = await attestedImage();
  const summaries = await collectAttestations({ client: reg, repo: REPO, digest, policy: POLICY, trust });
  const byType = Object.fromEntries(summaries.map((s) => [s.predicateType, s]));
  assert.equal(summaries.length, 3);
  assert.equal(byType[PREDICATE_TYPES.SLSA_V1]?.verified, true);
  assert.equal(byType[PREDICATE_TYPES.SLSA_V1]?.source, "legacy-att");
  assert.equal(byType[PREDICATE_TYPES.SLSA_V1]?.signer, ID);
  assert.equal(byType[PREDICATE_TYPES.COSIGN_VULN]?.vuln?.high, 1);
  assert.equal(byType[PREDICATE_TYPES.SPDX]?.source, "bundle-referrer");
  assert.deepEqual(byType[PREDICATE_TYPES.SPDX]?.sbom?.packages, { openssl: "3.3.1" });
  assert.ok(summaries.every((s) => s.verified));
});

Deno.test("collectAttestations() labels attestations by another signer or for another digest unverified", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, REPO.repository, "1.0");
  const other = await pushTestImage(reg, REPO.repository, "2.0", "other");
  await attestImageLegacy(
    reg,
    REPO.repository,
    digest,
    await pki.keyless({ identity: "https://evil.example", issuer: ISS }),
    {
      predicateType: PREDICATE_TYPES.SLSA_V1,
      predicate: SLSA_V1,
    },
  );
  await attestImageLegacy(reg, REPO.repository, digest, await pki.keyless({ identity: ID, issuer: ISS }), {
    predicateType: PREDICATE_TYPES.CYCLONEDX,
    predicate: { components: [] },
    subjectDigest: other.digest,
  });
  const summaries = await collectAttestations({ client: reg, repo: REPO, digest, policy: POLICY, trust });
  assert.equal(summaries.length, 2);
  for (const s of summaries) assert.equal(s.verified, false);
  const slsa = summaries.find((s) => s.kind === "provenance")!;
  assert.match(slsa.note ?? "", /not verified: .*evil\.example/);
  assert.equal(slsa.provenance?.builderId, "https://github.com/actions/runner/github-hosted");
  const sbom = summaries.find((s) => s.kind === "sbom")!;
  assert.match(sbom.note ?? "", /does not name/);
  await assert.rejects(
    Promise.resolve().then(() =>
      applyAttestationGates(summaries, { ...POLICY, require_provenance_builder: slsa.provenance!.builderId! })
    ),
    (err) => isDropzoneError(err, "ATTESTATION_POLICY"),
  );
});

Deno.test("applyAttestationGates() enforces provenance builder and vulnerability ceilings", async () => {
  const { reg, digest } = await attestedImage();
  const summaries = await collectAttestations({ client: reg, repo: REPO, digest, policy: POLICY, trust });
  applyAttestationGates(summaries, { ...POLICY, require_provenance_builder: SLSA_V1.runDetails.builder.id });
  applyAttestationGates(summaries, { ...POLICY, max_vulnerability_severity: "high" });
  const gate = (policy: CosignPolicy, list: readonly AttestationSummary[] = summaries) => () =>
    applyAttestationGates(list, policy);
  const isGate = (err: unknown) => isDropzoneError(err, "ATTESTATION_POLICY");
  assert.throws(gate({ ...POLICY, require_provenance_builder: "https://other-builder" }), isGate);
  assert.throws(gate({ ...POLICY, max_vulnerability_severity: "medium" }), isGate);
  assert.throws(gate({ ...POLICY, max_vulnerability_severity: "none" }), isGate);
  // No verified scan at all: the gate fails closed.
  assert.throws(gate({ ...POLICY, max_vulnerability_severity: "critical" }, []), isGate);
});

Deno.test("collectAttestations() verifies pre-2.2 cosign attestations logged as intoto/0.0.1", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, REPO.repository, "1.0");
  const signer = await pki.keyless({ identity: ID, issuer: ISS });
  await attestImageLegacy(reg, REPO.repository, digest, signer, {
    predicateType: PREDICATE_TYPES.SLSA_V1,
    predicate: SLSA_V1,
    rekorKind: "intoto",
  });
  const [summary] = await collectAttestations({ client: reg, repo: REPO, digest, policy: POLICY, trust });
  assert.equal(summary?.verified, true, summary?.note);
  // The same entry under another identity's policy is a policy mismatch, not a crash.
  const [other] = await collectAttestations({
    client: reg,
    repo: REPO,
    digest,
    policy: { identity: "https://other", issuer: ISS },
    trust,
  });
  assert.equal(other?.verified, false);
});
