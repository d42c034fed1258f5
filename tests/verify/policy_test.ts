import assert from "node:assert/strict";
import { anchoredRegExp, checkPolicyShape, matchesKeylessPolicy } from "../../src/verify/policy.ts";

const ISS = "https://token.actions.githubusercontent.com";
const ID = "https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main";

Deno.test("anchoredRegExp() matches the whole string only", () => {
  assert.equal(anchoredRegExp("a|b").test("a"), true);
  assert.equal(anchoredRegExp("a|b").test("xb"), false);
  assert.equal(anchoredRegExp("mitr\\.redhat").test("mitr@redhat.com"), false);
});

Deno.test("matchesKeylessPolicy() compares exact values and anchored regexes", async (t) => {
  const cases: [string, Parameters<typeof matchesKeylessPolicy>[1], boolean][] = [
    ["exact", { identity: ID, issuer: ISS }, true],
    ["exact prefix is not enough", { identity: ID.slice(0, 30), issuer: ISS }, false],
    [
      "anchored regex",
      { identity_regex: "https://github\\.com/chainguard-images/images/.*", issuer: ISS },
      true,
    ],
    ["unanchored-only regex", { identity_regex: "chainguard-images/images", issuer: ISS }, false],
    [
      "issuer regex",
      { identity: ID, issuer_regex: "https://token\\.actions\\.githubusercontent\\.com" },
      true,
    ],
    ["wrong issuer", { identity: ID, issuer: "https://accounts.google.com" }, false],
    ["no identity rule", { issuer: ISS }, false],
    ["bad regex never matches", { identity_regex: "(", issuer: ISS }, false],
  ];
  for (const [name, policy, expected] of cases) {
    await t.step(
      name,
      () => assert.equal(matchesKeylessPolicy({ identity: ID, issuer: ISS }, policy), expected),
    );
  }
  assert.equal(
    matchesKeylessPolicy({ identity: undefined, issuer: ISS }, { identity_regex: ".*", issuer: ISS }),
    false,
  );
});

Deno.test("checkPolicyShape() accepts well-formed policies without warnings", () => {
  assert.deepEqual(checkPolicyShape({ identity: ID, issuer: ISS }), { errors: [], warnings: [] });
  assert.deepEqual(checkPolicyShape({ public_key: "/keys/cosign.pub" }), { errors: [], warnings: [] });
  assert.deepEqual(
    checkPolicyShape({ identity_regex: "https://github\\.com/acme/.+", issuer: ISS }),
    { errors: [], warnings: [] },
  );
});

Deno.test("checkPolicyShape() reports errors", () => {
  assert.match(checkPolicyShape({ issuer: ISS }).errors.join("\n"), /needs identity/);
  assert.match(checkPolicyShape({ identity: ID }).errors.join("\n"), /needs issuer/);
  assert.match(
    checkPolicyShape({ identity: ID, identity_regex: "x", issuer: ISS }).errors.join(),
    /mutually/,
  );
  assert.match(
    checkPolicyShape({ identity_regex: "([a-z]", issuer: ISS }).errors.join(),
    /not a valid regular/,
  );
  assert.match(
    checkPolicyShape({ identity: ID, issuer: ISS, max_vulnerability_severity: "severe" as "high" }).errors
      .join(),
    /max_vulnerability_severity/,
  );
});

Deno.test("checkPolicyShape() warns about over-broad and sloppy patterns", () => {
  assert.match(checkPolicyShape({ identity_regex: ".*", issuer: ISS }).warnings.join(), /matches any value/);
  assert.match(
    checkPolicyShape({ identity_regex: ".+", issuer_regex: ".*" }).warnings.join(),
    /issuer_regex/,
  );
  assert.match(
    checkPolicyShape({ identity_regex: "https://github.com/chainguard-images/images/.*", issuer: ISS })
      .warnings
      .join(),
    /unescaped dots/,
  );
  assert.match(
    checkPolicyShape({ identity_regex: ".*@acme\\.com", issuer: ISS }).warnings.join(),
    /any prefix/,
  );
  assert.match(
    checkPolicyShape({ identity_regex: "^https://x$", issuer: ISS }).warnings.join(),
    /unnecessary/,
  );
  assert.match(checkPolicyShape({ public_key: "k.pub", identity: ID }).warnings.join(), /ignored/);
});
