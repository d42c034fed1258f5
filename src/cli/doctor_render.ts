/**
 * `dz doctor`'s human report (pure). Every finding kind belongs to a section through a `Record<FindingKind, …>`,
 * so a new kind that is not given a section is a compile error, never a finding that is counted but not shown.
 */
import type { DoctorReport, FindingKind } from "../app/doctor.ts";
import { plural } from "./render.ts";

/** Report sections, in print order. */
const SECTIONS = [
  "Configuration",
  "Packages",
  "Wrappers",
  "Cache",
  "Registries",
  "Environment",
  "Mirrors",
] as const;
type Section = typeof SECTIONS[number];

/** Where each kind of finding is shown. */
export const SECTION_OF: Readonly<Record<FindingKind, Section>> = {
  "config-invalid": "Configuration",
  "auth-permissions": "Configuration",
  "no-current": "Packages",
  "broken-current": "Packages",
  "incomplete-version": "Packages",
  "corrupt-metadata": "Packages",
  "damaged-rootfs": "Packages",
  "leftover": "Packages",
  "missing-wrapper": "Wrappers",
  "stale-wrapper": "Wrappers",
  "unplannable-wrapper": "Wrappers",
  "orphan-wrapper": "Wrappers",
  "bin-leftover": "Wrappers",
  "foreign-file": "Wrappers",
  "unreferenced-blob": "Cache",
  "rate-limit": "Registries",
  "path": "Environment",
  "trusted-root": "Environment",
  "mirror-unreachable": "Mirrors",
};

/** Renders the report as grouped human text (the command's stdout). */
export function renderReport(report: DoctorReport, options: { fixRequested: boolean }): string {
  const lines: string[] = [];
  if (report.fixed.length > 0) {
    lines.push("Fixed:");
    for (const c of report.fixed) lines.push(`  - ${c.message}`);
    lines.push("");
  } else if (options.fixRequested) {
    lines.push("Nothing to fix.", "");
  }
  for (const section of SECTIONS) {
    const items = report.findings.filter((f) => SECTION_OF[f.kind] === section);
    if (items.length === 0) continue;
    lines.push(`${section}:`);
    // Unused blobs are summed up: one line, not one per blob.
    const blobs = items.filter((f) => f.kind === "unreferenced-blob");
    if (blobs.length > 0) {
      const bytes = blobs.reduce((s, f) => s + (f.bytes ?? 0), 0);
      lines.push(
        `  info    ${plural(blobs.length, "cached blob")}, ${bytes} bytes, are not used by any installed ` +
          `version; "dz gc" frees them`,
      );
    }
    for (const f of items) {
      if (f.kind === "unreferenced-blob") continue;
      const tag = f.severity === "error" ? "error  " : f.severity === "warning" ? "warning" : "info   ";
      const hint = f.fixable && !options.fixRequested ? " [fixable: dz doctor --fix]" : "";
      lines.push(`  ${tag} ${f.message}${hint}`);
    }
    lines.push("");
  }
  if (report.healthy) {
    lines.push(report.findings.length === 0 ? "Everything looks fine." : "No problems found.");
  } else {
    const errors = report.findings.filter((f) => f.severity === "error").length;
    const warnings = report.findings.filter((f) => f.severity === "warning").length;
    const fixable = report.findings.filter((f) => f.fixable).length;
    lines.push(
      `${plural(errors, "error")}, ${plural(warnings, "warning")} remain` +
        (fixable > 0 && !options.fixRequested ? `; run "dz doctor --fix" to repair ${fixable}` : ""),
    );
  }
  return lines.join("\n") + "\n";
}
