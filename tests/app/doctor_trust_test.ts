import assert from "node:assert/strict";
import {
  TRUSTED_ROOT_WARN_AGE_SECONDS,
  trustedRootFinding,
  usesPublicGoodRoot,
} from "../../src/app/doctor_trust.ts";
import { embeddedTrustedRoot } from "../../src/verify/trusted_root.ts";

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
