import assert from "node:assert/strict";
import { attestationSummary, looksLikePackageName } from "../../src/app/verify_cmd.ts";

Deno.test("looksLikePackageName and attestationSummary", () => {
  const HEX = "a".repeat(64);
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
