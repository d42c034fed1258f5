/** `dz list` and `dz info`. Reading commands never take the store lock. */
import { shortDigest } from "../../oci/digest.ts";
import { readPackageListing } from "../../store/package_listing.ts";
import { toListRow } from "../../store/package_state.ts";
import type { CliContext } from "../context.ts";
import { formatBytes, formatTime, json, sanitize, table } from "../render.ts";

/** dz list: every package directory, damaged ones marked (never silently left out). */
export async function list(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const { states, pinned } = await readPackageListing(ctx.layout);
  if (opts.json) {
    ctx.out(json(states.map((s) => ({ ...toListRow(s), pinned: pinned.has(s.name) }))));
    return;
  }
  if (states.length === 0) {
    ctx.log.info('No packages installed. Try "dz install jq".');
    return;
  }
  ctx.out(table(
    ["NAME", "TAG", "DIGEST", "SOURCE", "SIGNED", "INSTALLED"],
    states.map((s) => {
      if (s.state === "damaged") {
        const p = s.metadata;
        return [
          s.name,
          p?.tag ?? "-",
          s.digest ? shortDigest(s.digest) : "-",
          p ? `${p.registry.name}:${p.repository}` : "-",
          "-",
          `DAMAGED: ${s.reason}`,
        ];
      }
      const p = s.version.metadata;
      return [
        p.name,
        (p.tag ?? "-") + (pinned.has(p.name) ? " (pinned)" : ""),
        shortDigest(p.digest),
        `${p.registry.name}:${p.repository}`,
        p.signature ? "yes" : p.allow_unsigned ? "no (allowed)" : "no",
        formatTime(p.installed_at),
      ];
    }),
    // On a terminal the table fits its width: sources, then digests and tags give way; piped it is complete.
    { width: ctx.terminalWidth(), shrink: [3, 2, 1] },
  ));
  const damaged = states.filter((s) => s.state === "damaged").map((s) => s.name);
  if (damaged.length > 0) {
    ctx.log.warn(
      `${damaged.length} damaged package(s): ${damaged.join(", ")}; run "dz doctor --fix" to repair, or ` +
        `"dz remove NAME"`,
    );
  }
}

/** dz info */
export async function info(ctx: CliContext, name: string, opts: { json?: boolean }): Promise<void> {
  // Loaded here, not at the top: `dz list` (main.ts's fast path loads this module) needs neither.
  const [{ packageHistory }, { requireInstalled }] = await Promise.all([
    import("../../app/history.ts"),
    import("./shared.ts"),
  ]);
  const meta = await requireInstalled(ctx, name);
  const history = await packageHistory(ctx.layout, name);
  if (opts.json) {
    ctx.out(json({ ...meta, versions: history }));
    return;
  }
  const lines: [string, string][] = [
    ["Name", meta.name],
    ["Reference", meta.ref],
    ["Registry", `${meta.registry.name} (${meta.registry.url})`],
    ["Repository", meta.repository],
    ["Tag", meta.tag ?? "(by digest)"],
    ["Digest", meta.digest],
    ["Index digest", meta.index_digest ?? "-"],
    ["Platform", meta.platform],
    ["Served by", meta.served_by ? `mirror ${meta.served_by}` : "upstream"],
    ["Entrypoint", `${meta.entrypoint.raw.join(" ")} → ${meta.entrypoint.resolved}`],
    ["Loader", meta.loader ?? "(static)"],
    ["Binaries", meta.bins.map((b) => `${b.name} → ${b.path}`).join(", ")],
    ["Installed", meta.installed_at],
    ["Size", formatBytes(meta.size_bytes)],
  ];
  const { versionDiskUsage } = await import("../../app/layers.ts");
  const usage = await versionDiskUsage(ctx.layout, meta.name, meta.digest);
  lines.push([
    "Disk",
    `${formatBytes(usage.own)} own, ${formatBytes(usage.shared)} shared with other layers/packages`,
  ]);
  if (meta.signature) {
    const s = meta.signature;
    if (s.proof === "provenance") {
      lines.push(
        ["Proof", "SLSA provenance (attestation)"],
        ["Builder", sanitize(s.provenance?.builder_id ?? "(not stated)")],
        ["Source repo", sanitize(s.provenance?.source_repository ?? "(not stated)")],
      );
    }
    lines.push(
      ["Signed by", s.identity],
      ["Issuer", s.issuer ?? "(key)"],
      ["Signature", `${s.source}, bound to ${s.signed_digest}`],
      ["Rekor entry", s.rekor_log_index === null ? "-" : String(s.rekor_log_index)],
      ["Signed at", s.integrated_time === null ? "-" : new Date(s.integrated_time * 1000).toISOString()],
      ["Verified at", s.verified_at],
    );
  } else {
    lines.push([
      "Signature",
      meta.allow_unsigned ? "NOT VERIFIED (installed with --allow-unsigned)" : "none",
    ]);
    if (meta.cross_checked.length > 0) {
      lines.push(["Cross-checked", `${meta.cross_checked.join(", ")} served the same digest`]);
    }
  }
  for (const a of meta.attestations) {
    const tag = a.verified ? "verified" : "UNVERIFIED";
    let text = a.predicateType;
    if (a.sbom) text = `SBOM ${a.sbom.format.toUpperCase()}, ${a.sbom.componentCount} components`;
    if (a.provenance) {
      text = `Provenance: builder ${a.provenance.builderId ?? "?"}` +
        (a.provenance.sourceRepo ? `, source ${a.provenance.sourceRepo}` : "") +
        (a.provenance.sourceCommit ? `@${a.provenance.sourceCommit.slice(0, 12)}` : "");
    }
    if (a.vuln) {
      const v = a.vuln;
      text = `Vulnerabilities: ${v.critical}C/${v.high}H/${v.medium}M/${v.low}L` +
        (v.scanner ? ` (${v.scanner}${v.scannedAt ? `, ${v.scannedAt}` : ""})` : "");
    }
    if (a.note && !a.sbom && !a.provenance && !a.vuln) text += ` (${a.note})`;
    lines.push(["Attestation", `${text} [${tag}]`]);
  }
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  ctx.out(lines.map(([k, v]) => `${(k + ":").padEnd(width)} ${v}`).join("\n") + "\n");
  ctx.out(`\nHistory (newest first; "*" is current, roll back with "dz rollback ${name} --to N"):\n`);
  ctx.out(table(
    ["", "N", "DIGEST", "TAG", "INSTALLED", "VERIFIED", "SIGNER"],
    history.map((v) => [
      v.current ? "*" : "",
      v.rollback_step === null ? "-" : String(v.rollback_step),
      shortDigest(v.digest),
      v.tag ?? "-",
      formatTime(v.installed_at ?? undefined),
      formatTime(v.verified_at ?? undefined),
      v.state === "damaged" ? `DAMAGED: ${v.reason}` : v.signer ?? "unsigned",
    ]),
  ));
}
