/** `dz verify`'s human report (pure): one block per verification, from the `VerifyReport` JSON shape. */
import type { VerifyReport } from "../app/verify_cmd.ts";

/** Renders a report as human text (stdout). Pure. */
export function renderVerifyReport(r: VerifyReport): string {
  const lines: string[] = [];
  const head = r.mode === "installed" ? `${r.package} (${r.reference})` : r.reference;
  lines.push(`${r.verified ? "Verified" : "NOT VERIFIED"}: ${head}`);
  lines.push(`  Registry:    ${r.registry.name}${r.registry.url ? ` (${r.registry.url})` : ""}`);
  if (r.digest) lines.push(`  Digest:      ${r.digest}`);
  if (r.index_digest) lines.push(`  Index:       ${r.index_digest}`);
  if (r.platform) lines.push(`  Platform:    ${r.platform}`);
  else if (r.digest) lines.push(`  Platform:    unknown (the image config could not be read)`);
  if (r.policy === null && r.error?.code === "POLICY_MISSING") lines.push(`  Policy:      no policy`);
  const s = r.signature;
  if (s?.proof === "provenance") {
    lines.push(`  Proof:       SLSA provenance (attestation)`);
    lines.push(`  Builder:     ${s.provenance?.builder_id ?? "(not stated)"}`);
    lines.push(`  Source repo: ${s.provenance?.source_repository ?? "(not stated)"}`);
  }
  if (s) {
    lines.push(`  Signed by:   ${s.identity}`);
    lines.push(`  Issuer:      ${s.issuer ?? "(key)"}`);
    lines.push(`  Bound to:    ${s.signed_digest}${s.signed_digest === r.index_digest ? " (index)" : ""}`);
    lines.push(
      `  Source:      ${
        s.source === "bundle-referrer"
          ? "Sigstore bundle (OCI referrer)"
          : `legacy ${s.source === "legacy-sig" ? ".sig" : ".att"} tag`
      }`,
    );
    if (s.rekor_log_index !== null) lines.push(`  Rekor:       log index ${s.rekor_log_index}`);
    if (s.integrated_time_iso) lines.push(`  Logged at:   ${s.integrated_time_iso}`);
  }
  if (r.trusted_root) {
    lines.push(
      `  Trust root:  ${r.trusted_root.source}` +
        (r.trusted_root.age_seconds !== null
          ? `, ${Math.floor(r.trusted_root.age_seconds / 3600)} h old`
          : ""),
    );
  }
  for (const a of r.attestations) lines.push(`  Attestation: ${a.summary}`);
  if (r.verified && r.attestations.length === 0) lines.push(`  Attestation: none found`);
  if (r.signer_changed) {
    lines.push(`  Note:        the signer differs from the one recorded at install (${r.recorded_signer})`);
  }
  return lines.join("\n") + "\n";
}
