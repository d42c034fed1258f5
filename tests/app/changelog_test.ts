import assert from "node:assert/strict";
import { computeChangelog } from "../../src/app/changelog.ts";
import { renderChangelog } from "../../src/cli/changelog_render.ts";
import type { AttestationSummary } from "../../src/verify/types.ts";

function sbom(packages: Record<string, string>, verified = true): AttestationSummary {
  return {
    predicateType: "https://spdx.dev/Document",
    verified,
    kind: "sbom",
    sbom: { format: "spdx", componentCount: Object.keys(packages).length, packages },
  };
}
function vuln(critical: number, high: number): AttestationSummary {
  return {
    predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1",
    verified: true,
    kind: "vuln",
    vuln: { critical, high, medium: 0, low: 0, unknown: 0 },
  };
}

Deno.test("computeChangelog() lists upgraded, added and removed packages and vuln counts", () => {
  const log = computeChangelog(
    [sbom({ openssl: "3.1.0", zlib: "1.3", old: "1" }), vuln(1, 2)],
    [sbom({ openssl: "3.1.4", zlib: "1.3", curl: "8.5" }), vuln(0, 1)],
  );
  assert.deepEqual(log.packages, {
    added: [{ name: "curl", version: "8.5" }],
    removed: [{ name: "old", version: "1" }],
    upgraded: [{ name: "openssl", from: "3.1.0", to: "3.1.4" }],
  });
  assert.deepEqual(log.vulnerabilities?.after, { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 });
  const text = renderChangelog(log).join("\n");
  assert.match(text, /1 upgraded, 1 added, 1 removed/);
  assert.match(text, /~ openssl 3\.1\.0 → 3\.1\.4/);
  assert.match(text, /Vulnerabilities: 1C\/2H\/0M\/0L → 0C\/1H\/0M\/0L/);
});

Deno.test("computeChangelog() ignores unverified attestations and says what it cannot know", () => {
  const log = computeChangelog([sbom({ a: "1" }, false)], [sbom({ a: "2" })]);
  assert.equal(log.packages, null);
  assert.equal(log.vulnerabilities, null);
  assert.match(renderChangelog(log)[0]!, /unknown \(no verified SBOM/);
});
