/**
 * The only module that imports @sigstore/*. `./crypto_compat.ts` is imported first: ES modules evaluate their
 * dependencies in import order, so the node:crypto shim is installed before any @sigstore module runs.
 */
import "./crypto_compat.ts";
export { bundleFromJSON } from "@sigstore/bundle";
export type { Bundle } from "@sigstore/bundle";
export { TrustedRoot } from "@sigstore/protobuf-specs";
export { json as canonicalJson, X509Certificate } from "@sigstore/core";
export { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from "@sigstore/verify";
export type { KeyFinderFunc, SignedEntity, Signer, TrustMaterial } from "@sigstore/verify";
import type { SignedEntity } from "@sigstore/verify";
/** What the library verifies a signature over (not exported by @sigstore/verify under this name). */
export type SignatureContent = SignedEntity["signature"];
import type { initTUF as InitTUF } from "@sigstore/tuf";
/**
 * @sigstore/tuf's `initTUF`, loaded on first use: only a TUF refresh needs it (most runs read the cached or a
 * registry's own trusted root), and its module graph is the largest of dz's dependencies (measured: lazy loading
 * cut the import of this module by about 40%).
 */
export async function initTUF(options: Parameters<typeof InitTUF>[0]): ReturnType<typeof InitTUF> {
  return (await import("@sigstore/tuf")).initTUF(options);
}
import seeds from "@sigstore/tuf/seeds.json" with { type: "json" };
import { fromBase64Text } from "../encoding.ts";

/** The `trusted_root.json` target embedded in @sigstore/tuf's seeds, as raw JSON text. */
export function embeddedTrustedRootText(): string {
  const repos = seeds as Record<string, { targets?: Record<string, string> }>;
  const repo = repos["https://tuf-repo-cdn.sigstore.dev"];
  const b64 = repo?.targets?.["trusted_root.json"];
  if (!b64) throw new Error("@sigstore/tuf seeds carry no trusted_root.json");
  return fromBase64Text(b64);
}
