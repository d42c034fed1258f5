/** The human lines of an update changelog (pure), for install/update progress and `dz update --changelog`. */
import type { Changelog, VulnCounts } from "../app/changelog.ts";

function fmtCounts(c: VulnCounts): string {
  return `${c.critical}C/${c.high}H/${c.medium}M/${c.low}L`;
}

/** Human-readable lines for a changelog (empty when nothing is known). */
export function renderChangelog(log: Changelog, options: { maxPackages?: number } = {}): string[] {
  const { maxPackages = 15 } = options;
  const lines: string[] = [];
  if (log.packages) {
    const { added, removed, upgraded } = log.packages;
    if (added.length + removed.length + upgraded.length === 0) lines.push("Packages: no changes");
    else {lines.push(
        `Packages: ${upgraded.length} upgraded, ${added.length} added, ${removed.length} removed`,
      );}
    const show = [
      ...upgraded.map((p) => `  ~ ${p.name} ${p.from} → ${p.to}`),
      ...added.map((p) => `  + ${p.name} ${p.version}`),
      ...removed.map((p) => `  - ${p.name} ${p.version}`),
    ];
    lines.push(...show.slice(0, maxPackages));
    if (show.length > maxPackages) lines.push(`  … and ${show.length - maxPackages} more`);
  } else {
    lines.push("Packages: unknown (no verified SBOM on both versions)");
  }
  if (log.vulnerabilities) {
    lines.push(
      `Vulnerabilities: ${fmtCounts(log.vulnerabilities.before)} → ${fmtCounts(log.vulnerabilities.after)}`,
    );
  }
  if (log.source_commit) {
    const short = (c: string | null) => (c ? c.slice(0, 12) : "unknown");
    lines.push(`Source commit: ${short(log.source_commit.before)} → ${short(log.source_commit.after)}`);
  }
  return lines;
}
