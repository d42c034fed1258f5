/** `dz doctor`'s mirror check: can each configured mirror location be reached (an authenticated /v2/ ping)? */
import { parseHostPath } from "../registry/mirrors.ts";
import type { MirrorEntry } from "../registry/mirrors.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { Finding } from "./doctor_findings.ts";

/**
 * One `mirror-unreachable` warning per location that does not answer (or refuses dz), its subject the location
 * as configured. Installs still work through the next location or the upstream, so it never is an error.
 */
export async function mirrorFindings(
  client: Pick<RegistryClient, "ping">,
  mirrors: readonly MirrorEntry[],
  options: { timeoutMs?: number } = {},
): Promise<Finding[]> {
  const locations = mirrors.flatMap((m) => m.locations.map((location) => ({ location, prefix: m.prefix })));
  const out: Finding[] = [];
  await Promise.all(locations.map(async ({ location, prefix }) => {
    const { host } = parseHostPath(location, "mirror location");
    try {
      await client.ping(host, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
    } catch (err) {
      out.push({
        kind: "mirror-unreachable",
        severity: "warning",
        subject: location,
        message: `mirror ${location} (for ${prefix}) cannot be used: ${
          (err instanceof Error ? err.message : String(err)).split("\n")[0]
        }; dz falls back to the next location or the upstream`,
        fixable: false,
      });
    }
  }));
  return out;
}
