import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { createRegistryClient } from "../../src/registry/client.ts";
import { verifyImageSignature } from "../../src/verify/signatures.ts";
import { collectAttestations } from "../../src/verify/attestations.ts";
import { launchRegistry } from "../support/registry_launcher.ts";
import { createTestPki } from "../support/test_pki.ts";
import {
  attestImageBundle,
  attestImageLegacy,
  httpStore,
  pushTestImage,
  pushTestIndex,
  signImageBundle,
  signImageLegacy,
} from "../support/cosign_signer.ts";

const ID = "https://github.com/acme/tools/.github/workflows/release.yaml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const POLICY = { identity: ID, issuer: ISS };

Deno.test("verifyImageSignature() end to end against docker-registry with the real RegistryClient", async () => {
  await using registry = await launchRegistry();
  const store = httpStore({ url: registry.url });
  const client = createRegistryClient({
    fetch,
    userAgent: "dz-test",
    credentials: () => Promise.resolve(undefined),
  });
  const pki = await createTestPki();
  const trust = { trustedRoot: pki.trustedRoot };
  const repo = { registry: registry.host, repository: "acme/tool" };
  const signer = await pki.keyless({ identity: ID, issuer: ISS });

  // Legacy .sig on a platform manifest.
  const amd = await pushTestImage(store, repo.repository, "amd64", "amd");
  await assert.rejects(
    verifyImageSignature({ client, repo, digest: amd.digest, policy: POLICY, trust }),
    (err) => isDropzoneError(err, "SIGNATURE_MISSING"),
  );
  await signImageLegacy(store, repo.repository, amd.digest, signer);
  const legacy = await verifyImageSignature({ client, repo, digest: amd.digest, policy: POLICY, trust });
  assert.equal(legacy.source, "legacy-sig");
  assert.equal(legacy.identity, ID);

  // Bundle referrers through the sha256-<hex> fallback index (docker-registry 2.8 has no referrers API),
  // on the index only, with an attestation first so the index must be updated.
  const arm = await pushTestImage(store, repo.repository, "arm64", "arm");
  const index = await pushTestIndex(store, repo.repository, "1.0", [
    { digest: amd.digest, size: amd.bytes.length, architecture: "amd64" },
    { digest: arm.digest, size: arm.bytes.length, architecture: "arm64" },
  ]);
  await attestImageBundle(store, repo.repository, index.digest, signer, {
    predicateType: "https://spdx.dev/Document",
    predicate: { packages: [{ name: "openssl", versionInfo: "3.3.1" }] },
  });
  await signImageBundle(store, repo.repository, index.digest, signer);
  const viaIndex = await verifyImageSignature({
    client,
    repo,
    digest: arm.digest,
    index: { digest: index.digest, manifest: index.bytes },
    policy: POLICY,
    trust,
  });
  assert.equal(viaIndex.source, "bundle-referrer");
  assert.equal(viaIndex.signedDigest, index.digest);

  // Wrong identity is a policy mismatch, not a missing signature.
  await assert.rejects(
    verifyImageSignature({
      client,
      repo,
      digest: amd.digest,
      policy: { identity: `${ID}x`, issuer: ISS },
      trust,
    }),
    (err) => isDropzoneError(err, "POLICY_MISMATCH"),
  );

  // Attestations: the legacy .att tag and the SBOM bundle referrer.
  await attestImageLegacy(store, repo.repository, index.digest, signer, {
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { runDetails: { builder: { id: "https://builder.example" } } },
  });
  const summaries = await collectAttestations({ client, repo, digest: index.digest, policy: POLICY, trust });
  assert.deepEqual(
    summaries.map((s) => [s.predicateType, s.verified]).sort(),
    [["https://slsa.dev/provenance/v1", true], ["https://spdx.dev/Document", true]],
  );
});
