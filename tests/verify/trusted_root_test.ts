import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import {
  embeddedTrustedRoot,
  loadTrustContext,
  loadTrustedRoot,
  validateTrustedRoot,
} from "../../src/verify/trusted_root.ts";
import { createTestPki } from "../support/test_pki.ts";
import { verifyImageSignature } from "../../src/verify/signatures.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { pushTestImage, signImageLegacy } from "../support/cosign_signer.ts";
import { ACME_ID, ACME_POLICY, ACME_REPO, GITHUB_ISSUER } from "./_helpers.ts";

const NOW = new Date("2026-11-01T00:00:00Z");

Deno.test("embeddedTrustedRoot() decodes the public-good root from @sigstore/tuf seeds", () => {
  const root = embeddedTrustedRoot();
  validateTrustedRoot(root);
  const tlogs = root.tlogs as { baseUrl: string }[];
  assert.ok(tlogs.some((t) => t.baseUrl === "https://rekor.sigstore.dev"));
});

Deno.test("validateTrustedRoot() refuses a tlog key without validFor.start", async () => {
  const pki = await createTestPki();
  const root = structuredClone(pki.trustedRoot) as { tlogs: { publicKey: { validFor?: unknown } }[] };
  delete root.tlogs[0]!.publicKey.validFor;
  assert.throws(
    () => validateTrustedRoot(root, "x.json"),
    (err) => isDropzoneError(err, "TRUSTED_ROOT_INVALID"),
  );
  assert.throws(() => validateTrustedRoot({ mediaType: "nope" }), /mediaType/);
  assert.throws(
    () =>
      validateTrustedRoot({
        ...pki.trustedRoot,
        certificateAuthorities: [{ certChain: { certificates: [] } }],
      }),
    /certificate chain/,
  );
});

Deno.test("validateTrustedRoot() treats validFor.end null (protobuf JSON for unset) as open-ended", async () => {
  const pki = await createTestPki();
  type Range = { validFor: { start: string; end?: unknown } };
  const root = structuredClone(pki.trustedRoot) as {
    tlogs: { publicKey: Range }[];
    certificateAuthorities: Range[];
  };
  for (const t of root.tlogs) t.publicKey.validFor.end = null;
  for (const ca of root.certificateAuthorities) ca.validFor.end = null;
  validateTrustedRoot(root, "open-ended.json");
  // And it verifies: null reaches the library as "no end".
  const reg = new MemoryRegistry();
  const { digest } = await pushTestImage(reg, ACME_REPO.repository, "1.0");
  await signImageLegacy(
    reg,
    ACME_REPO.repository,
    digest,
    await pki.keyless({ identity: ACME_ID, issuer: GITHUB_ISSUER }),
  );
  const result = await verifyImageSignature({
    client: reg,
    repo: ACME_REPO,
    digest,
    policy: ACME_POLICY,
    trust: { trustedRoot: root },
  });
  assert.equal(result.identity, ACME_ID);
  // An end that is present but not a time is still refused.
  for (const bad of ["soon", 42, {}]) {
    const broken = structuredClone(root);
    broken.tlogs[0]!.publicKey.validFor.end = bad;
    assert.throws(() => validateTrustedRoot(broken, "x.json"), /invalid "validFor.end"/);
  }
});

Deno.test("loadTrustedRoot() offline with no cache uses the embedded root", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    let called = false;
    const loaded = await loadTrustedRoot({
      cacheDir,
      now: NOW,
      offline: true,
      refresh: () => {
        called = true;
        return Promise.reject(new Error("network"));
      },
    });
    assert.equal(loaded.source, "embedded");
    assert.equal(called, false);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadTrustedRoot() refreshes when online, then serves the fresh cache, then falls back", async () => {
  const cacheDir = await Deno.makeTempDir();
  const pki = await createTestPki();
  try {
    const now = new Date();
    const refreshed = await loadTrustedRoot({
      cacheDir,
      now,
      offline: false,
      refresh: () => Promise.resolve(pki.trustedRootText),
    });
    assert.equal(refreshed.source, "tuf-refresh");
    assert.deepEqual(refreshed.trustedRoot, pki.trustedRoot);
    const cached = await loadTrustedRoot({
      cacheDir,
      now,
      offline: false,
      refresh: () => Promise.reject(new Error("must not be called")),
    });
    assert.equal(cached.source, "tuf-cache");
    // Two days later: the refresh fails, the stale cache is used with a warning.
    const later = new Date(now.getTime() + 2 * 86_400_000);
    const stale = await loadTrustedRoot({
      cacheDir,
      now: later,
      offline: false,
      refresh: () => Promise.reject(new Error("fetch failed")),
    });
    assert.equal(stale.source, "tuf-cache");
    assert.ok((stale.ageSeconds ?? 0) >= 2 * 86_400 - 5);
    assert.match(stale.warning ?? "", /fetch failed/);
    // A refresh that returns an invalid root is refused, not cached.
    const invalid = await loadTrustedRoot({
      cacheDir,
      now: later,
      offline: false,
      refresh: () => Promise.resolve(JSON.stringify({ mediaType: "x" })),
    });
    assert.equal(invalid.source, "tuf-cache");
    assert.match(invalid.warning ?? "", /mediaType/);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadTrustContext() reads a registry's trusted_root and public_key", async () => {
  const dir = await Deno.makeTempDir();
  const pki = await createTestPki();
  try {
    await Deno.writeTextFile(`${dir}/root.json`, pki.trustedRootText);
    await Deno.writeTextFile(`${dir}/cosign.pub`, pki.keyPair().publicKeyPem);
    const ctx = await loadTrustContext({
      cacheDir: dir,
      now: NOW,
      offline: true,
      policy: { public_key: `${dir}/cosign.pub`, trusted_root: `${dir}/root.json` },
    });
    assert.equal(ctx.root.source, "override");
    assert.match(ctx.publicKeyPem ?? "", /BEGIN PUBLIC KEY/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{}");
    await assert.rejects(
      loadTrustContext({
        cacheDir: dir,
        now: NOW,
        offline: true,
        policy: { trusted_root: `${dir}/bad.json` },
      }),
      (err) => isDropzoneError(err, "TRUSTED_ROOT_INVALID"),
    );
    await assert.rejects(
      loadTrustContext({
        cacheDir: dir,
        now: NOW,
        offline: true,
        policy: { public_key: `${dir}/root.json` },
      }),
      (err) => isDropzoneError(err, "CONFIG_INVALID"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
