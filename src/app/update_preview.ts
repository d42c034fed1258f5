/**
 * What applying an update would do, before anything is pulled: the target tag is resolved and verified (no
 * layers) through the same plan as the update itself, giving the changelog and whether the target is a
 * downgrade (signed before the installed version). Costs manifest and signature GETs per available update.
 */
import { isDropzoneError } from "../errors.ts";
import type { RegistryEntry } from "../oci/reference.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { Host } from "../runtime.ts";
import type { Config } from "../store/config.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import type { CosignPolicy } from "../verify/types.ts";
import type { TrustContext } from "../verify/verifier.ts";
import { type Changelog, computeChangelog } from "./changelog.ts";
import { resolveImage, verifyResolvedImage } from "./image.ts";
import { planInstall } from "./install_plan.ts";
import { isDowngrade } from "./trust_history.ts";
import { type UpdateCheck, updateReference } from "./update.ts";

/** The result of {@linkcode previewUpdate}. */
export interface UpdatePreview {
  readonly changelog: Changelog | null;
  /** The target was signed before the installed version; null when unknown. */
  readonly downgrade: boolean | null;
  /** Why the target could not be resolved or verified. */
  readonly error: string | null;
}

/** What previewing needs. */
export interface PreviewDeps {
  readonly client: RegistryClient;
  readonly registries: readonly RegistryEntry[];
  readonly host: Host;
  readonly config: Pick<Config, "always_allow_unsigned" | "min_release_age" | "registries">;
  readonly loadTrust: (policy: CosignPolicy) => Promise<TrustContext>;
  readonly now: Date;
  readonly signal?: AbortSignal;
}

/** Resolves and verifies `check.target_tag` for `meta` (no layers). Never throws for a registry or trust error. */
export async function previewUpdate(
  meta: PackageMetadata,
  check: UpdateCheck,
  deps: PreviewDeps,
): Promise<UpdatePreview> {
  if (check.target_tag === null) return { changelog: null, downgrade: null, error: null };
  try {
    const ref = updateReference(meta, check.target_tag, deps.registries);
    const plan = planInstall({ origin: "update", ref, name: meta.name }, {
      config: deps.config,
      installed: meta,
    });
    const image = await resolveImage(ref, {
      client: deps.client,
      host: deps.host,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const verification = await verifyResolvedImage(image, {
      client: deps.client,
      decision: plan.trust,
      loadTrust: deps.loadTrust,
      now: deps.now,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const signedAt = verification.signature?.integratedTime;
    const installedAt = meta.signature?.integrated_time;
    return {
      changelog: computeChangelog(meta.attestations, verification.attestations),
      downgrade: image.digest === meta.digest
        ? false
        : signedAt === undefined || installedAt === null || installedAt === undefined
        ? null
        : isDowngrade(installedAt, signedAt),
      error: null,
    };
  } catch (err) {
    deps.signal?.throwIfAborted();
    return {
      changelog: null,
      downgrade: null,
      error: isDropzoneError(err) || err instanceof Error ? err.message : String(err),
    };
  }
}
