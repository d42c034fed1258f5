import assert from "node:assert/strict";
import { embeddedTrustedRoot } from "../../src/verify/trusted_root.ts";
import {
  authPermissionFinding,
  classifyBinEntry,
  describeRepair,
  type Finding,
  hostFromPlatform,
  isHealthy,
  sortFindings,
  storeFindingToDoctor,
  TRUSTED_ROOT_WARN_AGE_SECONDS,
  trustedRootFinding,
  usesPublicGoodRoot,
} from "../../src/app/doctor.ts";
import { attestationSummary, looksLikePackageName } from "../../src/app/verify_cmd.ts";
import { WRAPPER_MARKER } from "../../src/shim/wrapper.ts";

const HEX = "a".repeat(64);
const wrapper = (name: string, pkg: string) =>
  `#!/bin/sh\n${WRAPPER_MARKER}\n# name=${JSON.stringify(name)} package=${
    JSON.stringify(pkg)
  } digest="sha256:${HEX}"\n`;

Deno.test("classifyBinEntry: only dz-marked files are wrappers; foreign files are never orphans", () => {
  const expected = new Map([["jq", "jq"], ["yq", "jq"]]);
  const dirs = new Set(["jq", "broken"]);
  assert.deepEqual(classifyBinEntry("mine", "#!/bin/sh\necho hi\n", expected, dirs), { kind: "foreign" });
  assert.deepEqual(classifyBinEntry("dir", null, expected, dirs), { kind: "foreign" });
  assert.deepEqual(classifyBinEntry("jq", wrapper("jq", "jq"), expected, dirs), {
    kind: "owned",
    package: "jq",
  });
  assert.deepEqual(classifyBinEntry("yq", wrapper("yq", "jq"), expected, dirs), {
    kind: "owned",
    package: "jq",
  });
  assert.deepEqual(classifyBinEntry("gone", wrapper("gone", "gone"), expected, dirs), {
    kind: "orphan",
    package: "gone",
  });
  // A wrapper under a name the package no longer provides is an orphan too.
  assert.deepEqual(classifyBinEntry("old", wrapper("old", "jq"), expected, dirs), {
    kind: "orphan",
    package: "jq",
  });
  // A package whose current is broken still has a directory: its wrappers wait for the store repair.
  assert.deepEqual(classifyBinEntry("b", wrapper("b", "broken"), expected, dirs), {
    kind: "damaged-package",
    package: "broken",
  });
  // A marker without a readable comment line: owned by name, orphan otherwise.
  assert.deepEqual(classifyBinEntry("jq", `#!/bin/sh\n${WRAPPER_MARKER}\n`, expected, dirs), {
    kind: "owned",
    package: "jq",
  });
  assert.deepEqual(classifyBinEntry("x", `#!/bin/sh\n${WRAPPER_MARKER}\n`, expected, dirs), {
    kind: "orphan",
    package: null,
  });
  // writeWrapper temp files: dz-marked or empty ones are crash leftovers; anything else is not ours.
  assert.deepEqual(classifyBinEntry(".jq.abc.tmp", wrapper("jq", "jq"), expected, dirs), {
    kind: "leftover",
  });
  assert.deepEqual(classifyBinEntry(".jq.abc.tmp", "", expected, dirs), { kind: "leftover" });
  assert.deepEqual(classifyBinEntry(".notes.tmp", "mine", expected, dirs), { kind: "foreign" });
});

Deno.test("trustedRootFinding: the embedded root is info while it covers the signatures, with the date it expires", () => {
  const now = new Date("2026-12-01T00:00:00Z");
  const root = embeddedTrustedRoot();
  const ok = trustedRootFinding({ source: "embedded", trustedRoot: root }, {
    now,
    signed: [{ name: "jq", timeMs: Date.parse("2026-06-01T00:00:00Z") }],
  })!;
  assert.equal(ok.severity, "info");
  assert.equal(ok.fixable, false);
  assert.match(ok.message, /covers the signatures of all 1 installed package/);
  assert.match(ok.message, /newest key from 2025-09-23/);
  assert.match(ok.message, /goes out of date only when Sigstore rotates keys/);

  // A signature from before every key it holds: the root cannot verify it.
  const old = trustedRootFinding({ source: "embedded", trustedRoot: root }, {
    now,
    signed: [{ name: "ancient", timeMs: Date.parse("2020-01-01T00:00:00Z") }],
  })!;
  assert.equal(old.severity, "warning");
  assert.equal(old.fixable, true);
  assert.match(old.message, /no key for the signatures of ancient \(signed 2020-01-01\)/);

  // A key with an end date says when the root becomes an error.
  const expiring = structuredClone(root) as { certificateAuthorities: { validFor: { end?: string } }[] };
  for (const ca of expiring.certificateAuthorities) ca.validFor.end ??= "2027-03-01T00:00:00Z";
  const dated = trustedRootFinding({ source: "embedded", trustedRoot: expiring }, { now })!;
  assert.equal(dated.severity, "info");
  assert.match(
    dated.message,
    /it becomes an error on 2027-03-01, when its certificate authority key expires/,
  );
});

Deno.test("trustedRootFinding warns for a week-old TUF copy, which --fix can refresh", () => {
  const now = new Date();
  assert.equal(trustedRootFinding({ source: "tuf-cache", ageSeconds: 3600 }, { now }), null);
  const old = trustedRootFinding({
    source: "tuf-cache",
    ageSeconds: TRUSTED_ROOT_WARN_AGE_SECONDS + 86400 * 2,
  }, { now });
  assert.match(old!.message, /9 days old/);
  assert.match(old!.message, /dz doctor --fix/);
  assert.equal(old!.fixable, true);
});

Deno.test("authPermissionFinding requires 0600", () => {
  assert.equal(authPermissionFinding("/h/auth.json", null), null);
  assert.equal(authPermissionFinding("/h/auth.json", 0o100600), null);
  assert.equal(authPermissionFinding("/h/auth.json", 0o100400), null);
  const f = authPermissionFinding("/h/auth.json", 0o100644)!;
  assert.equal(f.fixable, true);
  assert.match(f.message, /mode 0644/);
});

Deno.test("usesPublicGoodRoot: keyless policies without a trusted_root override", () => {
  assert.equal(usesPublicGoodRoot({ registries: [{ name: "a", url: "x.io" }] }), false);
  assert.equal(
    usesPublicGoodRoot({ registries: [{ name: "a", url: "x.io", cosign_policy: { public_key: "/k.pub" } }] }),
    false,
  );
  assert.equal(
    usesPublicGoodRoot({
      registries: [{
        name: "a",
        url: "x.io",
        cosign_policy: { issuer: "i", identity: "s", trusted_root: "/r" },
      }],
    }),
    false,
  );
  assert.equal(
    usesPublicGoodRoot({
      registries: [{ name: "a", url: "x.io", cosign_policy: { issuer: "i", identity: "s" } }],
    }),
    true,
  );
});

Deno.test("store findings and repairs map to doctor findings and changes", () => {
  const digest = `sha256:${HEX}` as const;
  assert.deepEqual(storeFindingToDoctor({ kind: "leftover", path: "/h/packages/jq/.staging-x" }), {
    kind: "leftover",
    severity: "warning",
    subject: "/h/packages/jq/.staging-x",
    path: "/h/packages/jq/.staging-x",
    message: "leftover of an interrupted dz: /h/packages/jq/.staging-x",
    fixable: true,
  });
  assert.equal(storeFindingToDoctor({ kind: "broken-current", name: "jq", target: "x" }).severity, "error");
  assert.equal(
    storeFindingToDoctor({ kind: "corrupt-metadata", name: "jq", digest, path: "/p", message: "bad" })
      .fixable,
    false,
  );
  const blob = storeFindingToDoctor({ kind: "unreferenced-blob", digest, size: 42 });
  assert.equal(blob.severity, "info");
  assert.equal(blob.bytes, 42);
  const repoint = {
    kind: "repointed-current",
    name: "jq",
    digest,
    tag: "1.6",
    installedAt: "2026-01-02T00:00:00Z",
  } as const;
  assert.match(
    describeRepair({ ...repoint, from: null, older: false } as const).message,
    /re-pointed "jq" current \(missing\) at sha256:.* \(1\.6, installed 2026-01-02/,
  );
  // Going back to an earlier version is never silent: the report names both and says how to get the newer back.
  const back = describeRepair({ ...repoint, from: "sha256-" + "b".repeat(64), older: true } as const).message;
  assert.match(back, /from sha256-b{64}, which is damaged, to the EARLIER version sha256:/);
  assert.match(back, /dz update jq/);
});

Deno.test("sortFindings and isHealthy", () => {
  const f = (
    kind: Finding["kind"],
    severity: Finding["severity"],
    subject: string,
    fixable = false,
  ): Finding => ({
    kind,
    severity,
    subject,
    message: `${kind} ${subject}`,
    fixable,
  });
  const findings = sortFindings([
    f("foreign-file", "info", "/b/mine"),
    f("stale-wrapper", "warning", "/b/jq", true),
    f("missing-wrapper", "error", "/b/yq", true),
  ]);
  assert.deepEqual(findings.map((x) => x.severity), ["error", "warning", "info"]);
  assert.equal(isHealthy(findings), false);
  assert.equal(isHealthy([f("foreign-file", "info", "/b/mine")]), true);
});

Deno.test("hostFromPlatform and the verify helpers", () => {
  const fallback = { os: "linux", arch: "amd64" };
  assert.deepEqual(hostFromPlatform("linux/arm64/v8", fallback), {
    os: "linux",
    arch: "arm64",
    variant: "v8",
  });
  assert.deepEqual(hostFromPlatform("garbage", fallback), fallback);
  assert.equal(looksLikePackageName("jq"), true);
  assert.equal(looksLikePackageName("python-3.12"), true);
  for (const ref of ["lab/cat", "jq:1.7", "ghcr.io/o/r", `jq@sha256:${HEX}`, "Upper"]) {
    assert.equal(looksLikePackageName(ref), false, ref);
  }
  assert.equal(
    attestationSummary({
      predicateType: "https://spdx.dev/Document",
      verified: true,
      kind: "sbom",
      sbom: { format: "spdx", componentCount: 12 },
    }),
    "SBOM SPDX, 12 components [verified]",
  );
  assert.equal(
    attestationSummary({ predicateType: "x", verified: false, kind: "other", note: "no signature" }),
    "x [UNVERIFIED] (no signature)",
  );
});
