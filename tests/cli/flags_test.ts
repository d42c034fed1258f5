import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { ageFlag, hasPolicyFlags, parsePlatformFlag, withCosignSpellings } from "../../src/cli/flags.ts";

Deno.test("withCosignSpellings folds cosign's flags into dz's and refuses two different values", () => {
  assert.deepEqual(
    withCosignSpellings({
      certificateIdentity: "id",
      certificateOidcIssuerRegexp: "iss.+",
      key: "k.pub",
      certificateIdentityRegexp: undefined,
    }),
    { identity: "id", issuerRegex: "iss.+", publicKey: "k.pub", certificateIdentityRegexp: undefined },
  );
  assert.deepEqual(withCosignSpellings({ identity: "a", certificateIdentity: "a" }), { identity: "a" });
  assert.throws(
    () => withCosignSpellings({ identityRegex: "a", certificateIdentityRegexp: "b" }),
    (e) =>
      isDropzoneError(e, "INVALID_ARGUMENT") &&
      /--identity-regex and --certificate-identity-regexp/.test(e.message),
  );
  assert.equal(hasPolicyFlags({}), false);
  assert.equal(hasPolicyFlags({ key: "k" }), true);
});

Deno.test("flag value parsers accept OCI platforms and ages, and refuse the rest as usage errors", () => {
  assert.deepEqual(parsePlatformFlag("linux/arm64"), { os: "linux", arch: "arm64" });
  assert.deepEqual(parsePlatformFlag("linux/arm/v7"), { os: "linux", arch: "arm", variant: "v7" });
  for (
    const bad of [
      "linux",
      "linux/",
      "/amd64",
      "linux/amd64/v8/x",
      "Linux/amd64",
      "linux/x86_64",
      "linux/arm/7",
    ]
  ) {
    assert.throws(() => parsePlatformFlag(bad), (e) => isDropzoneError(e, "INVALID_ARGUMENT"), bad);
  }
  assert.equal(ageFlag("3d"), "3d");
  assert.throws(() => ageFlag("3x"), (e) => isDropzoneError(e, "INVALID_ARGUMENT"));
});
