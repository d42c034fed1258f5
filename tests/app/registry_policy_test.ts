import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { pemFingerprint, recheckSigners } from "../../src/app/registry_policy.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";

const ISSUER = "https://token.actions.githubusercontent.com";
const WF = "https://github.com/corp/tool/.github/workflows/release.yml@refs/heads/main";

function pkg(name: string, signature: { identity: string; issuer: string | null } | null, registry = "corp") {
  return { name, registry: { name: registry, url: "ghcr.io/corp" }, signature } as unknown as PackageMetadata;
}

Deno.test("recheckSigners lists packages of the registry whose recorded signer the new policy rejects", () => {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const fp = pemFingerprint(pem)!;
  assert.match(fp, /^key:sha256:[0-9a-f]{64}$/);
  const packages = [
    pkg("keyless", { identity: WF, issuer: ISSUER }),
    pkg("keyed", { identity: fp, issuer: null }),
    pkg("unsigned", null),
    pkg("elsewhere", { identity: "x", issuer: "y" }, "other"),
  ];
  const names = (policy: Parameters<typeof recheckSigners>[2], opts = {}) =>
    recheckSigners(packages, "corp", policy, opts).map((m) => m.name);
  assert.deepEqual(names({ issuer: ISSUER, identity: WF }), ["keyed", "unsigned"]);
  assert.deepEqual(names({ issuer: ISSUER, identity_regex: "https://github\\.com/corp/.+" }), [
    "keyed",
    "unsigned",
  ]);
  assert.deepEqual(names({ issuer: ISSUER, identity_regex: "https://github\\.com/other/.+" }), [
    "keyless",
    "keyed",
    "unsigned",
  ]);
  assert.deepEqual(names({ public_key: "/k.pub" }, { keyFingerprint: fp }), ["keyless", "unsigned"]);
  assert.deepEqual(names(undefined), []);
  const why = recheckSigners(packages, "corp", { issuer: ISSUER, identity: "https://a" })[0]!;
  assert.equal(why.recorded, `identity "${WF}", issuer "${ISSUER}"`);
  assert.match(why.reason, /wants identity "https:\/\/a"/);
  assert.equal(pemFingerprint("not a key"), undefined);
});
