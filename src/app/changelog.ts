/**
 * What an update changes, from the verified attestations of the installed and the new digest: SBOM packages
 * added/removed/upgraded, vulnerability counts before and after, provenance source commit before and after. Pure.
 * Only verified attestations count; when either side lacks one, that part says so instead of guessing.
 */
import type { AttestationSummary } from "../verify/types.ts";

/** A version change of one SBOM package. */
export interface PackageChange {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

/** The changelog of one update. `null` parts mean "not known" (no verified attestation on one side). */
export interface Changelog {
  readonly packages: {
    readonly added: { name: string; version: string }[];
    readonly removed: { name: string; version: string }[];
    readonly upgraded: PackageChange[];
  } | null;
  readonly vulnerabilities: {
    readonly before: VulnCounts;
    readonly after: VulnCounts;
  } | null;
  readonly source_commit: { readonly before: string | null; readonly after: string | null } | null;
}

/** Severity counts. */
export interface VulnCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

function verified(summaries: readonly AttestationSummary[], kind: AttestationSummary["kind"]) {
  return summaries.find((s) => s.verified && s.kind === kind);
}

function counts(s: AttestationSummary | undefined): VulnCounts | undefined {
  const v = s?.vuln;
  return v
    ? { critical: v.critical, high: v.high, medium: v.medium, low: v.low, unknown: v.unknown }
    : undefined;
}

/** Computes the changelog between two sets of attestation summaries. */
export function computeChangelog(
  before: readonly AttestationSummary[],
  after: readonly AttestationSummary[],
): Changelog {
  const oldSbom = verified(before, "sbom")?.sbom?.packages;
  const newSbom = verified(after, "sbom")?.sbom?.packages;
  let packages: Changelog["packages"] = null;
  if (oldSbom && newSbom) {
    const added: { name: string; version: string }[] = [];
    const removed: { name: string; version: string }[] = [];
    const upgraded: PackageChange[] = [];
    for (const [name, version] of Object.entries(newSbom)) {
      const was = oldSbom[name];
      if (was === undefined) added.push({ name, version });
      else if (was !== version) upgraded.push({ name, from: was, to: version });
    }
    for (const [name, version] of Object.entries(oldSbom)) {
      if (newSbom[name] === undefined) removed.push({ name, version });
    }
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    packages = { added: added.sort(byName), removed: removed.sort(byName), upgraded: upgraded.sort(byName) };
  }
  const vb = counts(verified(before, "vuln"));
  const va = counts(verified(after, "vuln"));
  const pb = verified(before, "provenance")?.provenance;
  const pa = verified(after, "provenance")?.provenance;
  return {
    packages,
    vulnerabilities: vb && va ? { before: vb, after: va } : null,
    source_commit: pb || pa ? { before: pb?.sourceCommit ?? null, after: pa?.sourceCommit ?? null } : null,
  };
}
