/** `dz doctor`'s pull-quota check: how many pulls each registry the installed packages come from still allows. */
import { splitRegistryUrl } from "../oci/reference.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import type { Finding } from "./doctor_findings.ts";

/**
 * Pull-quota findings: one HEAD per registry host that installed packages come from (HEADs are free on Docker
 * Hub), reporting `RateLimit-Remaining`. Below 10% of the limit it is a warning; otherwise information. A
 * registry that cannot be reached is reported as information and never fails doctor.
 */
export async function quotaFindings(
  client: Pick<RegistryClient, "headManifest">,
  packages: readonly PackageMetadata[],
  options: { timeoutMs?: number } = {},
): Promise<Finding[]> {
  const byHost = new Map<string, PackageMetadata>();
  for (const p of packages) {
    const host = splitRegistryUrl(p.registry.url).host;
    if (!byHost.has(host)) byHost.set(host, p);
  }
  const out: Finding[] = [];
  await Promise.all([...byHost].map(async ([host, p]) => {
    try {
      const head = await client.headManifest(
        { registry: host, repository: p.repository },
        p.tag ?? p.digest,
        {
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        },
      );
      const q = head?.rateLimit;
      if (!q) return;
      const window = q.windowSeconds ? ` per ${Math.round(q.windowSeconds / 3600)}h` : "";
      out.push({
        kind: "rate-limit",
        severity: q.remaining < q.limit * 0.1 ? "warning" : "info",
        subject: host,
        message:
          `${host}: ${q.remaining} of ${q.limit} pulls left${window} (update checks use HEAD and spend none)`,
        fixable: false,
      });
    } catch (err) {
      out.push({
        kind: "rate-limit",
        severity: "info",
        subject: host,
        message: `${host}: could not read the pull quota (${(err as Error).message.split("\n")[0]})`,
        fixable: false,
      });
    }
  }));
  return out;
}
