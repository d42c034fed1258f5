import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { isSlsaV1, verifyProvenance } from "../../src/verify/provenance.ts";
import { createTestPki } from "../support/test_pki.ts";
import { ACME_ID, ACME_POLICY, ACME_REPO, GITHUB_ISSUER } from "../support/verify_fixtures.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import {
  attachBundleReferrer,
  attestImageBundle,
  attestImageLegacy,
  dsseBundle,
  inTotoStatement,
  pushTestImage,
  pushTestIndex,
} from "../support/cosign_signer.ts";

const pki = await createTestPki();
const trust = { trustedRoot: pki.trustedRoot };
const SLSA = "https://slsa.dev/provenance/v1";
const PREDICATE = {
  buildDefinition: {
    buildType: "https://actions.github.io/buildtypes/workflow/v1",
    resolvedDependencies: [{
      uri: "git+https://github.com/acme/tools@refs/heads/main",
      digest: { gitCommit: "c0ffee" },
    }],
  },
  runDetails: { builder: { id: "https://github.com/actions/runner/github-hosted" } },
};
const signer = () => pki.keyless({ identity: ACME_ID, issuer: GITHUB_ISSUER });
const options = (reg: MemoryRegistry, digest: `sha256:${string}`) => ({
  client: reg,
  repo: ACME_REPO,
  digest,
  policy: ACME_POLICY,
  trust,
});

Deno.test("isSlsaV1 accepts exactly SLSA provenance v1", () => {
  assert.equal(isSlsaV1(SLSA), true);
  assert.equal(isSlsaV1("https://slsa.dev/provenance/v0.2"), false);
  assert.equal(isSlsaV1("https://slsa.dev/provenance/v1x"), false);
});

Deno.test("verifyProvenance() proves origin from a SLSA v1 bundle referrer, with builder and source", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1");
  await attestImageBundle(reg, ACME_REPO.repository, digest, await signer(), {
    predicateType: SLSA,
    predicate: PREDICATE,
  });
  const result = await verifyProvenance(options(reg, digest));
  assert.equal(result.proof, "provenance");
  assert.equal(result.identity, ACME_ID);
  assert.equal(result.signedDigest, digest);
  assert.deepEqual(result.provenance, {
    builderId: "https://github.com/actions/runner/github-hosted",
    sourceRepo: "https://github.com/acme/tools",
    sourceCommit: "c0ffee",
  });
});

Deno.test("verifyProvenance() accepts provenance on the index only when the index lists the digest", async () => {
  const reg = new MemoryRegistry();
  const image = await pushTestImage(reg, ACME_REPO.repository, "amd64");
  const stray = await pushTestImage(reg, ACME_REPO.repository, "stray", "stray");
  const index = await pushTestIndex(reg, ACME_REPO.repository, "1", [
    { digest: image.digest, size: image.bytes.length, architecture: "amd64" },
  ]);
  await attestImageBundle(reg, ACME_REPO.repository, index.digest, await signer(), {
    predicateType: SLSA,
    predicate: PREDICATE,
  });
  const ok = await verifyProvenance({
    ...options(reg, image.digest),
    index: { digest: index.digest, manifest: index.bytes },
  });
  assert.equal(ok.signedDigest, index.digest);
  await assert.rejects(
    verifyProvenance({
      ...options(reg, stray.digest),
      index: { digest: index.digest, manifest: index.bytes },
    }),
    (e) => isDropzoneError(e, "SIGNATURE_MISSING"),
  );
});

Deno.test("verifyProvenance() refuses another subject, another signer, other predicates and legacy .att", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1");
  const other = await pushTestImage(reg, ACME_REPO.repository, "2", "other");
  const none = await pushTestImage(reg, ACME_REPO.repository, "3", "none");
  // Only an SBOM and a legacy .att provenance: neither is a provenance referrer bundle.
  await attestImageBundle(reg, ACME_REPO.repository, none.digest, await signer(), {
    predicateType: "https://spdx.dev/Document",
    predicate: { packages: [] },
  });
  await attestImageLegacy(reg, ACME_REPO.repository, none.digest, await signer(), {
    predicateType: SLSA,
    predicate: PREDICATE,
  });
  await assert.rejects(
    verifyProvenance(options(reg, none.digest)),
    (e) => isDropzoneError(e, "SIGNATURE_MISSING"),
  );

  const bundle = await dsseBundle(
    inTotoStatement(ACME_REPO.repository, other.digest, SLSA, PREDICATE),
    await signer(),
  );
  await attachBundleReferrer(reg, ACME_REPO.repository, digest, bundle, SLSA);
  await assert.rejects(
    verifyProvenance(options(reg, digest)),
    (e) => isDropzoneError(e, "SIGNATURE_INVALID") && /does not name/.test(e.message),
  );
  const evil = await pki.keyless({
    identity: "https://github.com/evil/x/.github/workflows/a.yml@refs/heads/main",
    issuer: GITHUB_ISSUER,
  });
  await attestImageBundle(reg, ACME_REPO.repository, other.digest, evil, {
    predicateType: SLSA,
    predicate: PREDICATE,
  });
  await assert.rejects(
    verifyProvenance(options(reg, other.digest)),
    (e) => isDropzoneError(e, "POLICY_MISMATCH") && /evil\/x/.test(e.message),
  );
});
