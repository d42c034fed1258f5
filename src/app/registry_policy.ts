/**
 * Re-checking installed packages against a registry's changed policy (`dz add registry … --replace`), pure:
 * the recorded signer of each package is compared with the new policy's identity, issuer or key.
 */
import { createHash } from "node:crypto";
import type { PackageMetadata } from "../store/metadata.ts";
import { describeExpected, matchesKeylessPolicy } from "../verify/policy.ts";
import type { CosignPolicy } from "../verify/types.ts";

/** An installed package whose recorded signer the new policy would not accept. */
export interface SignerMismatch {
  readonly name: string;
  /** What was recorded at install ("identity X, issuer Y", "key sha256:…", "unsigned"). */
  readonly recorded: string;
  /** Why the new policy does not accept it. */
  readonly reason: string;
}

/** The `key:sha256:<hex>` fingerprint dz records for a PEM public key (sha256 of its SPKI DER). */
export function pemFingerprint(pem: string): string | undefined {
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/.exec(pem);
  if (!m) return undefined;
  const der = Uint8Array.from(atob(m[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  return `key:sha256:${createHash("sha256").update(der).digest("hex")}`;
}

/**
 * Packages of `registry` whose recorded signer `policy` no longer accepts. `keyFingerprint` is the
 * fingerprint of `policy.public_key` (read by the caller). No policy accepts nothing new and rejects nothing.
 */
export function recheckSigners(
  packages: readonly PackageMetadata[],
  registry: string,
  policy: CosignPolicy | undefined,
  options: { keyFingerprint?: string } = {},
): SignerMismatch[] {
  if (!policy) return [];
  const out: SignerMismatch[] = [];
  for (const meta of packages) {
    if (meta.registry.name !== registry) continue;
    const s = meta.signature;
    if (s === null) {
      out.push({
        name: meta.name,
        recorded: "unsigned (--allow-unsigned)",
        reason: "the new policy requires a signature",
      });
      continue;
    }
    const recorded = s.identity.startsWith("key:")
      ? `key ${s.identity.slice(4)}`
      : `identity "${s.identity}", issuer "${s.issuer ?? ""}"`;
    if (policy.public_key !== undefined) {
      if (s.identity !== options.keyFingerprint) {
        out.push({ name: meta.name, recorded, reason: `the new policy wants ${describeExpected(policy)}` });
      }
      continue;
    }
    const ok = !s.identity.startsWith("key:") &&
      matchesKeylessPolicy({ identity: s.identity, issuer: s.issuer ?? undefined }, policy);
    if (!ok) {
      out.push({ name: meta.name, recorded, reason: `the new policy wants ${describeExpected(policy)}` });
    }
  }
  return out;
}
