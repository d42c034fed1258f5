import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { validateTrustedRoot } from "../../src/verify/trusted_root_validate.ts";
import { verifyImageSignature } from "../../src/verify/signatures.ts";
import { createTestPki } from "../support/test_pki.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { pushTestImage, signImageLegacy } from "../support/cosign_signer.ts";
import { ACME_ID, ACME_POLICY, ACME_REPO, GITHUB_ISSUER } from "../support/verify_fixtures.ts";

const START = { start: "2020-01-01T00:00:00Z" };
const LOG = { publicKey: { rawBytes: "AA==", validFor: START }, logId: { keyId: "AA==" } };
const CA = { certChain: { certificates: [{ rawBytes: "AA==" }] }, validFor: START };
const ROOT = {
  mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  tlogs: [LOG],
  ctlogs: [LOG],
  certificateAuthorities: [CA],
  timestampAuthorities: [CA],
};

Deno.test("validateTrustedRoot() accepts a minimal well-formed root and roots without optional lists", () => {
  validateTrustedRoot(ROOT);
  validateTrustedRoot({ mediaType: "application/vnd.dev.sigstore.trustedroot.v0.2+json" });
  validateTrustedRoot({
    ...ROOT,
    tlogs: [{ ...LOG, publicKey: { ...LOG.publicKey, validFor: { ...START, end: "2030-01-01T00:00:00Z" } } }],
  });
});

Deno.test("validateTrustedRoot() refuses every structural gap with TRUSTED_ROOT_INVALID naming the field", async (t) => {
  const withLog = (log: unknown, field = "tlogs") => ({ ...ROOT, [field]: [LOG, log] });
  const withCa = (ca: unknown, field = "certificateAuthorities") => ({ ...ROOT, [field]: [ca] });
  const cases: [string, unknown, RegExp][] = [
    ["not an object", [], /not a JSON object/],
    ["null", null, /not a JSON object/],
    ["no mediaType", { ...ROOT, mediaType: undefined }, /unexpected mediaType "undefined"/],
    [
      "other mediaType",
      { ...ROOT, mediaType: "application/json" },
      /unexpected mediaType "application\/json"/,
    ],
    ["tlogs not a list", { ...ROOT, tlogs: {} }, /"tlogs" must be a list/],
    ["ctlogs not a list", { ...ROOT, ctlogs: "x" }, /"ctlogs" must be a list/],
    ["tlog without publicKey", withLog({ logId: LOG.logId }), /tlogs\[1\] has no publicKey\.rawBytes/],
    [
      "tlog key bytes not a string",
      withLog({ ...LOG, publicKey: { ...LOG.publicKey, rawBytes: 5 } }),
      /tlogs\[1\] has no publicKey\.rawBytes/,
    ],
    ["tlog without logId", withLog({ publicKey: LOG.publicKey }), /tlogs\[1\] has no logId\.keyId/],
    [
      "tlog key without validFor",
      withLog({ ...LOG, publicKey: { rawBytes: "AA==" } }),
      /tlogs\[1\]\.publicKey has no valid "validFor\.start"/,
    ],
    [
      "tlog key with unparsable start",
      withLog({ ...LOG, publicKey: { rawBytes: "AA==", validFor: { start: "yesterday" } } }),
      /tlogs\[1\]\.publicKey has no valid "validFor\.start"/,
    ],
    [
      "ctlog key with invalid end",
      withLog({ ...LOG, publicKey: { rawBytes: "AA==", validFor: { ...START, end: "soon" } } }, "ctlogs"),
      /ctlogs\[1\]\.publicKey has an invalid "validFor\.end"/,
    ],
    [
      "certificateAuthorities not a list",
      { ...ROOT, certificateAuthorities: CA },
      /"certificateAuthorities" must be a list/,
    ],
    [
      "CA with empty chain",
      withCa({ ...CA, certChain: { certificates: [] } }),
      /certificateAuthorities\[0\] has no certificate chain/,
    ],
    [
      "CA with a certificate without bytes",
      withCa({ ...CA, certChain: { certificates: [{}] } }),
      /certificateAuthorities\[0\] has no certificate chain/,
    ],
    [
      "CA without validFor",
      withCa({ certChain: CA.certChain }),
      /certificateAuthorities\[0\] has no valid "validFor\.start"/,
    ],
    [
      "TSA without chain",
      withCa({ validFor: START }, "timestampAuthorities"),
      /timestampAuthorities\[0\] has no certificate chain/,
    ],
    [
      "TSA with numeric end",
      withCa({ ...CA, validFor: { ...START, end: 42 } }, "timestampAuthorities"),
      /timestampAuthorities\[0\] has an invalid "validFor\.end"/,
    ],
  ];
  for (const [name, root, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(() => validateTrustedRoot(root, "/etc/dz/root.json"), (err) => {
        assert.ok(isDropzoneError(err, "TRUSTED_ROOT_INVALID"), String(err));
        assert.equal(err.exitCode, 3);
        assert.match(err.message, /^Cannot use trusted root "\/etc\/dz\/root\.json": /);
        assert.match(err.message, pattern);
        assert.match(err.hint ?? "", /trusted_root/);
        return true;
      });
    });
  }
  await t.step("without a source the message names none", () => {
    assert.throws(
      () => validateTrustedRoot({}),
      (err) =>
        err instanceof Error && err.message === 'Cannot use trusted root: unexpected mediaType "undefined"',
    );
  });
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
