/**
 * A package's installed versions as one view (`dz info NAME` and `versions` in `dz info NAME --json`): digest,
 * tag, when it was installed and verified, by whom it was signed, which one is current and how far back
 * `dz rollback --to N` it is.
 */
import type { Digest } from "../oci/digest.ts";
import type { StoreLayout } from "../store/layout.ts";
import { listVersions, previousVersions, readCurrentDigest } from "../store/packages.ts";

/**
 * One installed version, newest activation first. JSON element of `versions` in `dz info NAME --json`:
 *
 * - `digest`: the platform manifest digest; `index_digest`: the index its tag pointed at (null: single-platform)
 * - `current`: true for the version the wrappers run
 * - `rollback_step`: N for `dz rollback NAME --to N` (null for the current or a damaged version)
 * - `tag`, `installed_at`, `verified_at` (ISO 8601 UTC), `signer`, `issuer`: from its metadata (null: unsigned)
 * - `state`: "ok" or "damaged" (its metadata.json is missing or corrupt), with `reason`
 */
export interface VersionRecord {
  readonly digest: Digest;
  readonly current: boolean;
  readonly rollback_step: number | null;
  readonly tag: string | null;
  readonly index_digest: Digest | null;
  readonly installed_at: string | null;
  readonly verified_at: string | null;
  readonly signer: string | null;
  readonly issuer: string | null;
  readonly state: "ok" | "damaged";
  readonly reason: string | null;
}

/** Every version directory of `name`, newest activation first. */
export async function packageHistory(layout: StoreLayout, name: string): Promise<VersionRecord[]> {
  const versions = await listVersions(layout, name);
  const current = await readCurrentDigest(layout, name);
  const steps = current ? (await previousVersions(layout, name, current)).map((v) => v.digest) : [];
  return versions.map((v) => {
    const m = v.metadata;
    const step = steps.indexOf(v.digest);
    return {
      digest: v.digest,
      current: v.current,
      rollback_step: step >= 0 ? step + 1 : null,
      tag: m?.tag ?? null,
      index_digest: m?.index_digest ?? null,
      installed_at: m?.installed_at ?? null,
      verified_at: m?.signature?.verified_at ?? null,
      signer: m?.signature?.identity ?? null,
      issuer: m?.signature?.issuer ?? null,
      state: v.complete ? "ok" : "damaged",
      reason: v.complete ? null : v.problem ?? "incomplete",
    };
  });
}
