/** `dz list` and `dz info`. Reading commands never take the store lock. */
import { shortDigest } from "../../oci/digest.ts";
import { toListEntry } from "../../store/metadata.ts";
import { pinnedNames } from "../../store/pins.ts";
import type { CliContext } from "../context.ts";
import { formatBytes, formatTime, json, table } from "../render.ts";
import { installedPackages, requireInstalled } from "./shared.ts";

/** dz list */
export async function list(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const packages = await installedPackages(ctx);
  const pinned = await pinnedNames(ctx.layout, packages.map((p) => p.name));
  if (opts.json) {
    ctx.out(json(packages.map((p) => ({ ...toListEntry(p), pinned: pinned.has(p.name) }))));
    return;
  }
  if (packages.length === 0) {
    ctx.log.info('No packages installed. Try "dz install jq".');
    return;
  }
  ctx.out(table(
    ["NAME", "TAG", "DIGEST", "SOURCE", "SIGNED", "INSTALLED"],
    packages.map((p) => [
      p.name,
      (p.tag ?? "-") + (pinned.has(p.name) ? " (pinned)" : ""),
      shortDigest(p.digest),
      `${p.registry.name}:${p.repository}`,
      p.signature ? "yes" : p.allow_unsigned ? "no (allowed)" : "no",
      formatTime(p.installed_at),
    ]),
    // On a terminal the table fits its width: sources, then digests and tags give way; piped it is complete.
    { width: ctx.terminalWidth(), shrink: [3, 2, 1] },
  ));
}

/** dz info */
export async function info(ctx: CliContext, name: string, opts: { json?: boolean }): Promise<void> {
  const meta = await requireInstalled(ctx, name);
  if (opts.json) {
    ctx.out(json(meta));
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
  if (meta.signature) {
    const s = meta.signature;
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
}
