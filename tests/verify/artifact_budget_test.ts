import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import type { RegistryClient, RepoRef } from "../../src/registry/types.ts";
import {
  ArtifactBudget,
  ArtifactBudgetExceeded,
  MAX_CANDIDATES_PER_ARTIFACT,
} from "../../src/verify/artifact_budget.ts";
import { collectAttestations } from "../../src/verify/attestations.ts";
import { distinctLayers, verifyImageSignature } from "../../src/verify/signatures.ts";
import { appendLegacyLayer, legacySignatureLayer, pushTestImage } from "../support/cosign_signer.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { createTestPki } from "../support/test_pki.ts";
import { ACME_ID, ACME_POLICY, ACME_REPO, GITHUB_ISSUER } from "../support/verify_fixtures.ts";

const pki = await createTestPki();
const trust = { trustedRoot: pki.trustedRoot };
const MIB = 1024 * 1024;

/** Counts blob fetches and tracks how many run at once. */
function counting(inner: RegistryClient, delayMs = 0) {
  const stats = { blobFetches: 0, active: 0, maxActive: 0 };
  const client: RegistryClient = {
    ping: inner.ping.bind(inner),
    getManifest: inner.getManifest.bind(inner),
    headManifest: inner.headManifest.bind(inner),
    getBlob: inner.getBlob.bind(inner),
    listTags: inner.listTags.bind(inner),
    catalog: inner.catalog.bind(inner),
    referrers: inner.referrers.bind(inner),
    getBlobBytes: async (repo, digest, options) => {
      stats.blobFetches++;
      stats.active++;
      stats.maxActive = Math.max(stats.maxActive, stats.active);
      try {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        return await inner.getBlobBytes(repo, digest, options);
      } finally {
        stats.active--;
      }
    },
  };
  return { client, stats };
}

Deno.test("ArtifactBudget.charge() refuses passing the limit with a trust error naming the budget", () => {
  const budget = new ArtifactBudget({ limitBytes: 32 * MIB });
  budget.charge(30 * MIB, "a");
  assert.equal(budget.usedBytes, 30 * MIB);
  assert.throws(() => budget.charge(3 * MIB, "layer 9"), (err: unknown) => {
    assert.ok(err instanceof ArtifactBudgetExceeded);
    assert.equal(err.code, "SIGNATURE_INVALID");
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /budget of 32 MiB \(layer 9 would bring them to 33 MiB\)/);
    return true;
  });
  assert.equal(budget.usedBytes, 30 * MIB, "a refused charge is not counted");
  budget.charge(2 * MIB, "exactly at the limit");
});

Deno.test("ArtifactBudget.fetchBlob() fetches and charges each digest once, at most N at a time", async () => {
  const reg = new MemoryRegistry();
  const repo: RepoRef = ACME_REPO;
  const digests: Digest[] = [];
  for (let i = 0; i < 10; i++) digests.push(await reg.putBlob(repo.repository, new Uint8Array(1000).fill(i)));
  const { client, stats } = counting(reg, 5);
  const budget = new ArtifactBudget({ concurrency: 3 });
  const all = await Promise.all(
    [...digests, ...digests, ...digests].map((digest) =>
      budget.fetchBlob(client, repo, { digest, size: 1000 }, digest)
    ),
  );
  assert.equal(all.length, 30);
  assert.equal(stats.blobFetches, 10);
  assert.equal(stats.maxActive, 3);
  assert.equal(budget.usedBytes, 10_000);
  assert.strictEqual(all[0], all[10], "the same bytes are shared, not copied");
  await assert.rejects(
    budget.fetchBlob(client, repo, { digest: digests[0]!.replace(/.$/, "0") as Digest, size: 5 * MIB }, "x"),
    /too large/,
  );
});

Deno.test("distinctLayers() drops exact duplicates and other media types, keeping positions", () => {
  const d = (n: number) => `sha256:${String(n).repeat(64)}` as Digest;
  const sig = MEDIA_TYPES.COSIGN_SIMPLE_SIGNING;
  const { layers, duplicates, otherTypes } = distinctLayers([
    { mediaType: sig, digest: d(1), size: 1, annotations: { a: "1", b: "2" } },
    { mediaType: sig, digest: d(1), size: 1, annotations: { b: "2", a: "1" } },
    { mediaType: sig, digest: d(1), size: 1, annotations: { a: "other signature" } },
    { mediaType: "text/plain", digest: d(2), size: 1 },
    { mediaType: sig, digest: d(3), size: 1 },
  ], sig);
  assert.deepEqual(layers.map((l) => l.position), [1, 3, 5]);
  assert.equal(duplicates, 1);
  assert.equal(otherTypes, 1);
});

Deno.test("verifyImageSignature() fetches a blob listed 161 times once and still finds the valid signature", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1.0");
  const good = await legacySignatureLayer(
    ACME_REPO.repository,
    digest,
    await pki.keyless({ identity: ACME_ID, issuer: GITHUB_ISSUER }),
  );
  // The same payload blob under junk signatures (distinct annotations), then the real one.
  for (let i = 0; i < 10; i++) {
    await appendLegacyLayer(reg, ACME_REPO.repository, digest, "sig", {
      ...good,
      annotations: { ...good.annotations, "dev.cosignproject.cosign/signature": btoa(`junk ${i}`) },
    });
  }
  await appendLegacyLayer(reg, ACME_REPO.repository, digest, "sig", good);
  // And the real one repeated: exact duplicates are read once and do not count against the candidate limit.
  for (let i = 0; i < 150; i++) await appendLegacyLayer(reg, ACME_REPO.repository, digest, "sig", good);
  const { client, stats } = counting(reg);
  const result = await verifyImageSignature({ client, repo: ACME_REPO, digest, policy: ACME_POLICY, trust });
  assert.equal(result.identity, ACME_ID);
  assert.equal(stats.blobFetches, 1);
});

Deno.test("verifyImageSignature() reads at most 100 candidates per artifact and says how many it skipped", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1.0");
  const signer = await pki.keyless({ identity: ACME_ID, issuer: GITHUB_ISSUER });
  const good = await legacySignatureLayer(ACME_REPO.repository, digest, signer);
  for (let i = 0; i < MAX_CANDIDATES_PER_ARTIFACT + 5; i++) {
    await appendLegacyLayer(reg, ACME_REPO.repository, digest, "sig", {
      ...good,
      annotations: { ...good.annotations, "dev.cosignproject.cosign/signature": btoa(`junk ${i}`) },
    });
  }
  // The valid signature is layer 106: past the limit, so it is not read.
  await appendLegacyLayer(reg, ACME_REPO.repository, digest, "sig", good);
  await assert.rejects(
    verifyImageSignature({ client: reg, repo: ACME_REPO, digest, policy: ACME_POLICY, trust }),
    (err: unknown) => {
      assert.ok(isDropzoneError(err, "SIGNATURE_INVALID"), String(err));
      assert.match(err.message, /\.sig: 6 more layers were not read \(dz reads at most 100 per artifact\)/);
      assert.match(err.message, /… and 91 more$/);
      return true;
    },
  );
});

Deno.test("verifyImageSignature() refuses before fetching when the layers exceed the budget", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1.0");
  for (let i = 0; i < 9; i++) {
    await appendLegacyLayer(reg, ACME_REPO.repository, digest, "sig", {
      mediaType: MEDIA_TYPES.COSIGN_SIMPLE_SIGNING,
      blob: new Uint8Array(4 * MIB).fill(i),
      annotations: {},
    });
  }
  const { client, stats } = counting(reg);
  await assert.rejects(
    verifyImageSignature({ client, repo: ACME_REPO, digest, policy: ACME_POLICY, trust }),
    (err: unknown) => {
      assert.ok(isDropzoneError(err, "SIGNATURE_INVALID"), String(err));
      assert.match(
        err.message,
        /^Cannot verify ".*": its signature and attestation artifacts exceed dz's budget of 32 MiB/,
      );
      return true;
    },
  );
  assert.ok(stats.blobFetches <= 8, `${stats.blobFetches} fetches`);
});

Deno.test("collectAttestations() reports a budget exhausted by signatures as an unverified attestation", async () => {
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1.0");
  await appendLegacyLayer(reg, ACME_REPO.repository, digest, "att", {
    mediaType: MEDIA_TYPES.DSSE_ENVELOPE,
    blob: new Uint8Array(2 * MIB),
    annotations: {},
  });
  const budget = new ArtifactBudget();
  budget.charge(31 * MIB, "signatures");
  const summaries = await collectAttestations({
    client: reg,
    repo: ACME_REPO,
    digest,
    policy: ACME_POLICY,
    trust,
    budget,
  });
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0]!.verified, false);
  assert.match(summaries[0]!.note ?? "", /^not read: .*budget of 32 MiB/);
});
