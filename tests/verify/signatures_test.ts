import assert from "node:assert/strict";
import { DropzoneError, isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { verifyImageSignature } from "../../src/verify/signatures.ts";
import type { CosignPolicy } from "../../src/verify/types.ts";
import { createTestPki, type TestSigner } from "../support/test_pki.ts";
import { ACME_ID, ACME_POLICY, ACME_REPO, GITHUB_ISSUER } from "../support/verify_fixtures.ts";
import { MemoryRegistry, type MemoryRegistryOptions } from "../support/memory_registry.ts";
import {
  appendLegacyLayer,
  attestImageBundle,
  legacySignatureLayer,
  pushTestImage,
  pushTestIndex,
  signImageBundle,
  signImageLegacy,
} from "../support/cosign_signer.ts";

const ID = ACME_ID;
const ISS = GITHUB_ISSUER;
const POLICY: CosignPolicy = ACME_POLICY;
const REPO = ACME_REPO;

const pki = await createTestPki();
const trust = { trustedRoot: pki.trustedRoot };
const keyless = (identity = ID, issuer = ISS): Promise<TestSigner> => pki.keyless({ identity, issuer });

async function image(options: MemoryRegistryOptions = {}): Promise<{ reg: MemoryRegistry; digest: Digest }> {
  const reg = new MemoryRegistry(options);
  const { digest } = await pushTestImage(reg, REPO.repository, "1.0");
  return { reg, digest };
}

function verify(reg: MemoryRegistry, digest: Digest, policy: CosignPolicy = POLICY, extra = {}) {
  return verifyImageSignature({ client: reg, repo: REPO, digest, policy, trust, now: new Date(), ...extra });
}

function rejectsWith(code: string, pattern?: RegExp) {
  return (err: unknown): boolean => {
    if (!isDropzoneError(err)) throw err;
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match((err as DropzoneError).message, pattern);
    return true;
  };
}

/** One image signed by `sign`; the result is checked by `check`, or the call must fail as `rejects` says. */
interface SignedCase {
  readonly name: string;
  /** Signs `digest`; returns the PEM of the key to trust when the case uses a public_key policy. */
  readonly sign: (reg: MemoryRegistry, digest: Digest) => Promise<string | void>;
  readonly check?: (result: Awaited<ReturnType<typeof verifyImageSignature>>, digest: Digest) => void;
  readonly rejects?: readonly [code: string, pattern?: RegExp];
}

/** Verifies under the keyless POLICY, or under a public_key policy trusting `publicKeyPem` when one is given. */
function verifyCase(reg: MemoryRegistry, digest: Digest, publicKeyPem: string | void) {
  if (publicKeyPem === undefined) return verify(reg, digest);
  return verifyImageSignature({
    client: reg,
    repo: REPO,
    digest,
    policy: { public_key: "cosign.pub" },
    trust: { ...trust, publicKeyPem },
  });
}

function runCases(cases: readonly SignedCase[]): void {
  for (const c of cases) {
    Deno.test(c.name, async () => {
      const { reg, digest } = await image();
      const publicKeyPem = await c.sign(reg, digest);
      if (c.rejects) {
        await assert.rejects(verifyCase(reg, digest, publicKeyPem), rejectsWith(...c.rejects));
      } else {
        c.check!(await verifyCase(reg, digest, publicKeyPem), digest);
      }
    });
  }
}

const legacy =
  (signer: () => TestSigner | Promise<TestSigner>, options?: Parameters<typeof signImageLegacy>[4]) =>
  async (reg: MemoryRegistry, digest: Digest) => {
    await signImageLegacy(reg, REPO.repository, digest, await signer(), options);
  };

runCases([
  {
    name: "verifyImageSignature() accepts a keyless legacy .sig signature",
    sign: legacy(() => keyless()),
    check: (result, digest) => {
      assert.equal(result.identity, ID);
      assert.equal(result.issuer, ISS);
      assert.equal(result.source, "legacy-sig");
      assert.equal(result.signedDigest, digest);
      assert.equal(typeof result.rekorLogIndex, "number");
      assert.equal(result.integratedTime, pki.clock.getTime() / 1000);
    },
  },
  {
    name: "verifyImageSignature() accepts a keyless legacy signature with an RFC 3161 timestamp",
    sign: legacy(() => pki.keyless({ identity: ID, issuer: ISS, tsa: true })),
    check: (result) => assert.equal(result.identity, ID),
  },
  {
    name: "verifyImageSignature() accepts a legacy certificate with only the v1 issuer extension",
    sign: legacy(() => pki.keyless({ identity: ID, issuer: ISS, legacyIssuerOnly: true })),
    check: (result) => assert.equal(result.issuer, ISS),
  },
  {
    name: "verifyImageSignature() accepts a keyless v0.3 bundle referrer via the referrers API",
    sign: async (reg, digest) => void await signImageBundle(reg, REPO.repository, digest, await keyless()),
    check: (result) => {
      assert.equal(result.source, "bundle-referrer");
      assert.equal(result.identity, ID);
    },
  },
  {
    name: "verifyImageSignature() accepts a key-based signature with a tlog entry",
    sign: async (reg, digest) => {
      const signer = pki.keyPair();
      await signImageLegacy(reg, REPO.repository, digest, signer);
      return signer.publicKeyPem;
    },
    check: (result) => {
      assert.match(result.identity, /^key:sha256:[0-9a-f]{64}$/);
      assert.equal(result.issuer, undefined);
      assert.equal(typeof result.rekorLogIndex, "number");
    },
  },
  {
    name: "verifyImageSignature() accepts a key-based signature without a tlog entry",
    sign: async (reg, digest) => {
      const signer = pki.keyPair({ tlog: false });
      await signImageLegacy(reg, REPO.repository, digest, signer);
      return signer.publicKeyPem;
    },
    check: (result) => assert.equal(result.rekorLogIndex, undefined),
  },
  {
    name: "verifyImageSignature() accepts a key-based bundle referrer",
    sign: async (reg, digest) => {
      const signer = pki.keyPair();
      await signImageBundle(reg, REPO.repository, digest, signer);
      return signer.publicKeyPem;
    },
    check: (result) => assert.equal(result.source, "bundle-referrer"),
  },
  {
    name: "verifyImageSignature() tries every layer: only the second one is valid",
    sign: async (reg, digest) => {
      await legacy(() => keyless(), { tamperPayload: true })(reg, digest);
      await legacy(() => keyless())(reg, digest);
    },
    check: (result) => assert.equal(result.identity, ID),
  },
]);

runCases([
  {
    name: "verifyImageSignature() refuses a key-based signature by another key",
    sign: async (reg, digest) => {
      await signImageLegacy(reg, REPO.repository, digest, pki.keyPair({ tlog: false }));
      return pki.keyPair().publicKeyPem;
    },
    rejects: ["SIGNATURE_INVALID"],
  },
  {
    name: "verifyImageSignature() refuses a keyless signature under a public_key policy",
    sign: async (reg, digest) => {
      await legacy(() => keyless())(reg, digest);
      return pki.keyPair().publicKeyPem;
    },
    rejects: ["POLICY_MISMATCH", /signed with a certificate/],
  },
  {
    name: "verifyImageSignature() refuses a signature by another identity and shows both",
    sign: legacy(() => keyless("https://github.com/evil/tools/x@refs/heads/main")),
    rejects: [
      "POLICY_MISMATCH",
      /evil\/tools.*token\.actions.*expected identity "https:\/\/github\.com\/acme/s,
    ],
  },
  {
    name: "verifyImageSignature() refuses a signature from another issuer",
    sign: legacy(() => keyless(ID, "https://accounts.google.com")),
    rejects: ["POLICY_MISMATCH", /accounts\.google\.com/],
  },
  {
    name: "verifyImageSignature() refuses a tampered payload",
    sign: legacy(() => keyless(), { tamperPayload: true }),
    rejects: ["SIGNATURE_INVALID", /TLOG_BODY_ERROR|SIGNATURE_ERROR/],
  },
  {
    name: "verifyImageSignature() refuses a certificate from an untrusted CA",
    sign: async (reg, digest) => {
      const other = await createTestPki();
      await legacy(() => other.keyless({ identity: ID, issuer: ISS }))(reg, digest);
    },
    rejects: ["SIGNATURE_INVALID", /CERTIFICATE_ERROR/],
  },
  {
    name: "verifyImageSignature() refuses a certificate that expired before the tlog entry",
    sign: legacy(() => pki.keyless({ identity: ID, issuer: ISS, tlogOffsetSeconds: 20 * 60 })),
    rejects: ["SIGNATURE_INVALID", /CERTIFICATE_ERROR/],
  },
  {
    name: "verifyImageSignature() reports SIGNATURE_MISSING for an unsigned image",
    sign: () => Promise.resolve(),
    rejects: ["SIGNATURE_MISSING", /No signature found/],
  },
  {
    name: "verifyImageSignature() does not count an attestation bundle as a signature",
    sign: async (reg, digest) => {
      await attestImageBundle(reg, REPO.repository, digest, await keyless(), {
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: {},
      });
    },
    rejects: ["SIGNATURE_MISSING"],
  },
  {
    name: "verifyImageSignature() refuses an unsupported Rekor entry kind with a clear reason",
    sign: async (reg, digest) => {
      const layer = await legacySignatureLayer(REPO.repository, digest, await keyless());
      const rekor = JSON.parse(layer.annotations["dev.sigstore.cosign/bundle"]!);
      rekor.Payload.body = btoa(JSON.stringify({ apiVersion: "0.0.1", kind: "alpine", spec: {} }));
      layer.annotations["dev.sigstore.cosign/bundle"] = JSON.stringify(rekor);
      await appendLegacyLayer(reg, REPO.repository, digest, "sig", layer);
    },
    rejects: ["SIGNATURE_INVALID", /alpine\/0\.0\.1" is not supported/],
  },
  {
    name: "verifyImageSignature() reports POLICY_MISMATCH when one candidate is by someone else",
    sign: async (reg, digest) => {
      await legacy(() => keyless(), { tamperPayload: true })(reg, digest);
      await legacy(() => keyless("https://example.com/other"))(reg, digest);
    },
    rejects: ["POLICY_MISMATCH", /layer 1:.*\n.*layer 2:/s],
  },
]);

Deno.test("verifyImageSignature() finds bundles through the fallback tag index next to attestations", async () => {
  const { reg, digest } = await image({ referrersApi: false });
  const signer = await keyless();
  await attestImageBundle(reg, REPO.repository, digest, signer, {
    predicateType: "https://spdx.dev/Document",
    predicate: { packages: [] },
  });
  await signImageBundle(reg, REPO.repository, digest, signer);
  const index = JSON.parse(
    new TextDecoder().decode((await reg.getManifestBytes(REPO.repository, digest.replace(":", "-")))!),
  );
  assert.equal(index.manifests.length, 2);
  assert.equal((await verify(reg, digest)).source, "bundle-referrer");
});

Deno.test("verifyImageSignature() accepts an index-only signature for a platform the index lists", async () => {
  const reg = new MemoryRegistry();
  const amd = await pushTestImage(reg, REPO.repository, "amd64", "amd");
  const arm = await pushTestImage(reg, REPO.repository, "arm64", "arm");
  const index = await pushTestIndex(reg, REPO.repository, "1.0", [
    { digest: amd.digest, size: amd.bytes.length, architecture: "amd64" },
    { digest: arm.digest, size: arm.bytes.length, architecture: "arm64" },
  ]);
  await signImageLegacy(reg, REPO.repository, index.digest, await keyless());
  const result = await verify(reg, arm.digest, POLICY, {
    index: { digest: index.digest, manifest: index.bytes },
  });
  assert.equal(result.signedDigest, index.digest);
  await assert.rejects(verify(reg, arm.digest), rejectsWith("SIGNATURE_MISSING"));
});

Deno.test("verifyImageSignature() does not use an index signature for a digest the index does not list", async () => {
  const reg = new MemoryRegistry();
  const amd = await pushTestImage(reg, REPO.repository, "amd64", "amd");
  const other = await pushTestImage(reg, REPO.repository, "other", "other");
  const index = await pushTestIndex(reg, REPO.repository, "1.0", [
    { digest: amd.digest, size: amd.bytes.length, architecture: "amd64" },
  ]);
  await signImageLegacy(reg, REPO.repository, index.digest, await keyless());
  await assert.rejects(
    verify(reg, other.digest, POLICY, { index: { digest: index.digest, manifest: index.bytes } }),
    rejectsWith("SIGNATURE_MISSING"),
  );
  // Index bytes that do not hash to the claimed digest are not trusted either.
  await assert.rejects(
    verify(reg, amd.digest, POLICY, {
      index: { digest: index.digest, manifest: new TextEncoder().encode("{}") },
    }),
    rejectsWith("SIGNATURE_MISSING"),
  );
});

Deno.test("verifyImageSignature() anchors identity_regex and issuer_regex", async () => {
  const { reg, digest } = await image();
  await signImageLegacy(reg, REPO.repository, digest, await keyless());
  // Would match unanchored (cosign/sigstore-js semantics), must not match here.
  await assert.rejects(
    verify(reg, digest, { identity_regex: "github\\.com/acme/tools", issuer: ISS }),
    rejectsWith("POLICY_MISMATCH"),
  );
  await assert.rejects(
    verify(reg, digest, { identity: ID, issuer_regex: "token\\.actions" }),
    rejectsWith("POLICY_MISMATCH"),
  );
  const ok = await verify(reg, digest, {
    identity_regex: "https://github\\.com/acme/tools/\\.github/workflows/.*",
    issuer_regex: "https://token\\.actions\\.githubusercontent\\.com",
  });
  assert.equal(ok.identity, ID);
});

Deno.test("verifyImageSignature() refuses a signature copied from another digest", async () => {
  const reg = new MemoryRegistry();
  const a = await pushTestImage(reg, REPO.repository, "a", "a");
  const b = await pushTestImage(reg, REPO.repository, "b", "b");
  await signImageLegacy(reg, REPO.repository, a.digest, await keyless());
  const sig = (await reg.getManifestBytes(REPO.repository, `${a.digest.replace(":", "-")}.sig`))!;
  await reg.putManifest(REPO.repository, `${b.digest.replace(":", "-")}.sig`, sig, MEDIA_TYPES.OCI_MANIFEST);
  await assert.rejects(verify(reg, b.digest), rejectsWith("SIGNATURE_INVALID", /signature is for sha256:/));
});

Deno.test("verifyImageSignature() refuses a bundle whose statement names another digest", async () => {
  const reg = new MemoryRegistry();
  const a = await pushTestImage(reg, REPO.repository, "a", "a");
  const b = await pushTestImage(reg, REPO.repository, "b", "b");
  const signer = await keyless();
  // Sign a's statement but attach it to b.
  const { dsseBundle, inTotoStatement, attachBundleReferrer, SIGN_PREDICATE } = await import(
    "../support/cosign_signer.ts"
  );
  const bundle = await dsseBundle(inTotoStatement(REPO.repository, a.digest, SIGN_PREDICATE, {}), signer);
  await attachBundleReferrer(reg, REPO.repository, b.digest, bundle, SIGN_PREDICATE);
  await assert.rejects(verify(reg, b.digest), rejectsWith("SIGNATURE_INVALID", /does not name/));
});

Deno.test("verifyImageSignature() refuses a keyless signature without a Rekor SET by default", async () => {
  const { reg, digest } = await image();
  await signImageLegacy(
    reg,
    REPO.repository,
    digest,
    await pki.keyless({ identity: ID, issuer: ISS, tlog: false }),
  );
  await assert.rejects(verify(reg, digest), rejectsWith("SIGNATURE_INVALID", /TIMESTAMP_ERROR/));
  const second = await image();
  await signImageLegacy(second.reg, REPO.repository, second.digest, await keyless(), {
    dropRekorBundle: true,
  });
  await assert.rejects(
    verify(second.reg, second.digest),
    rejectsWith("SIGNATURE_INVALID", /TIMESTAMP_ERROR/),
  );
});

Deno.test("verifyImageSignature() is not confused by a registry answering cosign tags with the image", async () => {
  const reg = new MemoryRegistry({ ghcrFallback: true, referrersApi: false });
  const amd = await pushTestImage(reg, REPO.repository, "amd64", "amd");
  const index = await pushTestIndex(reg, REPO.repository, "1.0", [
    { digest: amd.digest, size: amd.bytes.length, architecture: "amd64" },
  ]);
  await assert.rejects(verify(reg, amd.digest), rejectsWith("SIGNATURE_MISSING"));
  await assert.rejects(verify(reg, index.digest), rejectsWith("SIGNATURE_MISSING"));
  await assert.rejects(
    verify(reg, amd.digest, POLICY, { index: { digest: index.digest, manifest: index.bytes } }),
    rejectsWith("SIGNATURE_MISSING"),
  );
  // Once signed, the real signature is still found.
  await signImageLegacy(reg, REPO.repository, index.digest, await keyless());
  const ok = await verify(reg, amd.digest, POLICY, {
    index: { digest: index.digest, manifest: index.bytes },
  });
  assert.equal(ok.signedDigest, index.digest);
});

Deno.test("verifyImageSignature() surfaces registry failures instead of calling the image unsigned", async () => {
  const { reg, digest } = await image();
  const failing = Object.create(reg) as MemoryRegistry;
  failing.getManifest = () =>
    Promise.reject(new DropzoneError("REGISTRY_UNREACHABLE", "Cannot reach registry.test"));
  failing.referrers = () =>
    Promise.reject(new DropzoneError("REGISTRY_UNREACHABLE", "Cannot reach registry.test"));
  await assert.rejects(
    verifyImageSignature({ client: failing, repo: REPO, digest, policy: POLICY, trust }),
    rejectsWith("REGISTRY_UNREACHABLE"),
  );
});

Deno.test("verifyImageSignature() verifies a cosign ≤ 1.3 rekord/0.0.1 signature by its SET and body", async () => {
  const { reg, digest } = await image();
  await signImageLegacy(reg, REPO.repository, digest, await keyless(), { rekorKind: "rekord" });
  assert.equal((await verify(reg, digest)).identity, ID);
  const tampered = await image();
  await signImageLegacy(tampered.reg, REPO.repository, tampered.digest, await keyless(), {
    rekorKind: "rekord",
    tamperPayload: true,
  });
  await assert.rejects(
    verify(tampered.reg, tampered.digest),
    rejectsWith("SIGNATURE_INVALID", /TLOG_BODY_ERROR/),
  );
  const forged = await image();
  const layer = await legacySignatureLayer(REPO.repository, forged.digest, await keyless(), {
    rekorKind: "rekord",
  });
  const rekor = JSON.parse(layer.annotations["dev.sigstore.cosign/bundle"]!);
  rekor.Payload.integratedTime += 1;
  layer.annotations["dev.sigstore.cosign/bundle"] = JSON.stringify(rekor);
  await appendLegacyLayer(forged.reg, REPO.repository, forged.digest, "sig", layer);
  await assert.rejects(
    verify(forged.reg, forged.digest),
    rejectsWith("SIGNATURE_INVALID", /TLOG_INCLUSION_PROMISE_ERROR/),
  );
});
