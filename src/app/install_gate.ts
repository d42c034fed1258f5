/** Verification of a resolved image under a plan's trust decision, then the plan's gate: shared by install and pull. */
import type { RegistryClient } from "../registry/types.ts";
import type { TrustContext } from "../verify/verifier.ts";
import type { CosignPolicy } from "../verify/types.ts";
import { type ResolvedImage, type Verification, verifyResolvedImage } from "./image.ts";
import { type GateEvidence, type GateResult, gateVerified, type InstallPlan } from "./install_plan.ts";

/** What verification needs from the outside. */
export interface GateDeps {
  readonly client: RegistryClient;
  readonly now: () => Date;
  readonly loadTrust: (policy: CosignPolicy) => Promise<TrustContext>;
}

/**
 * Verifies `image` as `plan.trust` decides, calls `onVerified` (progress: the signature is sound, whatever the
 * gate says next), then applies the plan's gate (signer continuity, downgrade, cooldown, attestations, lockfile,
 * archive index). Throws the first refusal.
 */
export async function verifyAndGate(
  plan: InstallPlan,
  image: ResolvedImage,
  deps: GateDeps,
  options: {
    readonly signal: AbortSignal;
    readonly archive?: GateEvidence["archive"];
    readonly onVerified?: (verification: Verification) => void;
  },
): Promise<{ verification: Verification } & GateResult> {
  const verification = await verifyResolvedImage(image, {
    client: deps.client,
    decision: plan.trust,
    loadTrust: deps.loadTrust,
    now: deps.now(),
    signal: options.signal,
  });
  options.onVerified?.(verification);
  const gate = gateVerified(plan, {
    digest: image.digest,
    indexDigest: image.index?.digest ?? null,
    verification,
    ...(options.archive ? { archive: options.archive } : {}),
  }, deps.now());
  return { ...gate, verification };
}
