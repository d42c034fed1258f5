import assert from "node:assert/strict";
import {
  checkReleaseAge,
  checkSignerContinuity,
  parseAge,
  signerDifferences,
  signerFingerprint,
} from "../../src/app/trust_history.ts";
import { DropzoneError } from "../../src/errors.ts";

const GH = "https://token.actions.githubusercontent.com";

Deno.test("signerFingerprint() ignores the ref so tag releases of one workflow stay the same signer", () => {
  const v1 = signerFingerprint({
    identity: "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1",
    issuer: GH,
  });
  const v2 = signerFingerprint({
    identity: "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v2",
    issuer: GH,
  });
  assert.deepEqual(v1, v2);
  assert.equal(v1.repository, "https://github.com/o/r");
  assert.equal(v1.workflow, "https://github.com/o/r/.github/workflows/rel.yml");
});

Deno.test("signerFingerprint() prefers Fulcio's repository extension", () => {
  const fp = signerFingerprint({
    identity: "https://github.com/org/reusable/.github/workflows/build.yml@refs/heads/main",
    issuer: GH,
    extensions: { sourceRepositoryUri: "https://github.com/org/app" },
  });
  assert.equal(fp.repository, "https://github.com/org/app");
});

Deno.test("checkSignerContinuity() refuses another workflow, repository or issuer unless accepted", () => {
  const old = signerFingerprint({
    identity: "https://github.com/o/r/.github/workflows/rel.yml@refs/heads/main",
    issuer: GH,
  });
  const fork = signerFingerprint({
    identity: "https://github.com/x/r/.github/workflows/rel.yml@refs/heads/main",
    issuer: GH,
  });
  assert.deepEqual(signerDifferences(old, fork), [
    "repository: https://github.com/o/r → https://github.com/x/r",
    "workflow: https://github.com/o/r/.github/workflows/rel.yml → https://github.com/x/r/.github/workflows/rel.yml",
  ]);
  assert.throws(
    () => checkSignerContinuity("jq", old, fork, false),
    (e) =>
      e instanceof DropzoneError && e.code === "SIGNER_CHANGED" && e.exitCode === 3 && /x\/r/.test(e.message),
  );
  checkSignerContinuity("jq", old, fork, true);
  checkSignerContinuity("jq", null, fork, false);
  checkSignerContinuity("jq", old, old, false);
});

Deno.test("parseAge() reads s/m/h/d/w and 0", () => {
  assert.equal(parseAge("90s"), 90);
  assert.equal(parseAge("3d"), 259200);
  assert.equal(parseAge("2w"), 1209600);
  assert.equal(parseAge("0"), 0);
  assert.throws(() => parseAge("3 days"), (e) => e instanceof DropzoneError && e.code === "INVALID_ARGUMENT");
});

Deno.test("checkReleaseAge() skips digests signed too recently and explains why", () => {
  const now = new Date("2026-11-22T12:00:00Z");
  const signedAt = now.getTime() / 1000 - 3600;
  assert.throws(
    () => checkReleaseAge({ signedAt, minAgeSeconds: 86400, now, what: "jq", minAgeText: "1d" }),
    (e) => e instanceof DropzoneError && e.code === "RELEASE_TOO_NEW" && /1\.0 hours ago/.test(e.message),
  );
  checkReleaseAge({ signedAt, minAgeSeconds: 1800, now, what: "jq", minAgeText: "30m" });
  assert.throws(() =>
    checkReleaseAge({ signedAt: undefined, minAgeSeconds: 60, now, what: "jq", minAgeText: "1m" })
  );
  checkReleaseAge({ signedAt: undefined, minAgeSeconds: 0, now, what: "jq", minAgeText: "0" });
});

Deno.test("signerFingerprint() pins the git ref kind: every tag is one kind, each branch its own", () => {
  const fp = (identity: string, extensions?: Record<string, string>) =>
    signerFingerprint({ identity, issuer: GH, ...(extensions ? { extensions } : {}) }).git_ref;
  assert.equal(fp("https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1"), "tags");
  assert.equal(fp("https://github.com/o/r/.github/workflows/rel.yml@refs/heads/main"), "heads/main");
  assert.equal(fp("https://github.com/o/r/.github/workflows/rel.yml@refs/heads/pr-1234"), "heads/pr-1234");
  assert.equal(fp("https://github.com/o/r/.github/workflows/rel.yml@refs/pull/7/merge"), "pull/7/merge");
  assert.equal(fp("me@example.com", { sourceRepositoryRef: "refs/tags/v3" }), "tags");
  assert.equal(fp("me@example.com"), null);
});
