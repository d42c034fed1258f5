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
export { initTUF } from "@sigstore/tuf";
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
