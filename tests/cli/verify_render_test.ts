/** Tests for src/cli/verify_render.ts: `dz verify`'s human report from the VerifyReport shape. */
import assert from "node:assert/strict";
import type { VerifyReport } from "../../src/app/verify_cmd.ts";
import { renderVerifyReport } from "../../src/cli/verify_render.ts";

const IDX = `sha256:${"1".repeat(64)}` as const;
const DIG = `sha256:${"2".repeat(64)}` as const;

function report(over: Partial<VerifyReport> = {}): VerifyReport {
  return {
    target: "cgr/jq:1.7",
    mode: "reference",
    reference: "cgr/jq:1.7",
    registry: { name: "cgr", url: "cgr.dev/chainguard" },
    digest: DIG,
    index_digest: IDX,
    platform: "linux/amd64",
    verified: true,
    policy: { issuer: "https://issuer", identity: "https://id" },
    signature: {
      identity: "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main",
      issuer: "https://token.actions.githubusercontent.com",
      signed_digest: IDX,
      source: "bundle-referrer",
      rekor_log_index: 42,
      integrated_time: 1_760_000_000,
      integrated_time_iso: "2025-10-09T08:53:20.000Z",
      extensions: {},
      proof: "signature",
      provenance: null,
    },
    proof: "signature",
    attestations: [],
    trusted_root: { source: "embedded", age_seconds: 7200 },
    ...over,
  };
}

Deno.test("renderVerifyReport(): a verified reference shows digests, signer, binding, source, log and root", () => {
  assert.equal(
    renderVerifyReport(report()),
    [
      "Verified: cgr/jq:1.7",
      "  Registry:    cgr (cgr.dev/chainguard)",
      `  Digest:      ${DIG}`,
      `  Index:       ${IDX}`,
      "  Platform:    linux/amd64",
      "  Signed by:   https://github.com/o/r/.github/workflows/release.yml@refs/heads/main",
      "  Issuer:      https://token.actions.githubusercontent.com",
      `  Bound to:    ${IDX} (index)`,
      "  Source:      Sigstore bundle (OCI referrer)",
      "  Rekor:       log index 42",
      "  Logged at:   2025-10-09T08:53:20.000Z",
      "  Trust root:  embedded, 2 h old",
      "  Attestation: none found",
      "",
    ].join("\n"),
  );
});

Deno.test("renderVerifyReport(): legacy tags, key signatures, attestations, unknown platform, signer change", () => {
  const sig = report().signature!;
  const text = renderVerifyReport(report({
    mode: "installed",
    package: "jq",
    platform: null,
    signature: { ...sig, source: "legacy-sig", issuer: null, signed_digest: DIG, rekor_log_index: null },
    attestations: [{
      predicateType: "https://spdx.dev/Document",
      verified: true,
      kind: "sbom",
      summary: "SBOM (spdx)",
    }],
    trusted_root: { source: "tuf", age_seconds: null },
    signer_changed: true,
    recorded_signer: "https://old",
  } as Partial<VerifyReport>));
  assert.match(text, /^Verified: jq \(cgr\/jq:1\.7\)$/m);
  assert.match(text, /^ {2}Platform: {4}unknown \(the image config could not be read\)$/m);
  assert.match(text, /^ {2}Issuer: {6}\(key\)$/m);
  assert.match(
    text,
    new RegExp(`^  Bound to:    ${DIG}$`, "m"),
    "no (index) when bound to the platform digest",
  );
  assert.match(text, /^ {2}Source: {6}legacy \.sig tag$/m);
  assert.ok(!text.includes("Rekor:"));
  assert.match(text, /^ {2}Trust root: {2}tuf$/m);
  assert.match(text, /^ {2}Attestation: SBOM \(spdx\)$/m);
  assert.ok(!text.includes("none found"));
  assert.match(text, /^ {2}Note: {8}the signer differs from the one recorded at install \(https:\/\/old\)$/m);
  assert.match(
    renderVerifyReport(report({ signature: { ...sig, source: "legacy-att" } })),
    /legacy \.att tag/,
  );
});

Deno.test("renderVerifyReport(): a failure says NOT VERIFIED, names a missing policy, and claims no attestation", () => {
  const text = renderVerifyReport(report({
    verified: false,
    policy: null,
    signature: null,
    registry: { name: "127.0.0.1:5000", url: "" },
    error: { code: "POLICY_MISSING", message: "no policy", hint: null },
  }));
  assert.match(text, /^NOT VERIFIED: cgr\/jq:1\.7$/m);
  assert.match(text, /^ {2}Registry: {4}127\.0\.0\.1:5000$/m);
  assert.match(text, /^ {2}Policy: {6}no policy$/m);
  assert.ok(!text.includes("Signed by") && !text.includes("Attestation"), text);
});

Deno.test("renderVerifyReport(): a provenance proof names the builder and source repository", () => {
  const sig = report().signature!;
  const text = renderVerifyReport(report({
    proof: "provenance",
    signature: {
      ...sig,
      proof: "provenance",
      provenance: { builder_id: "https://builder", source_repository: null, source_commit: null },
    },
  }));
  assert.match(text, /^ {2}Proof: {7}SLSA provenance \(attestation\)$/m);
  assert.match(text, /^ {2}Builder: {5}https:\/\/builder$/m);
  assert.match(text, /^ {2}Source repo: \(not stated\)$/m);
});
