/** Trust types shared by config, the verifier and the install pipeline. */
import type { Digest } from "../oci/digest.ts";

/**
 * A registry's cosign policy, as stored in config.yaml. Exactly one of issuer/issuer_regex and (for keyless)
 * one of identity/identity_regex. Regexes are always matched anchored (the whole string).
 */
export interface CosignPolicy {
  issuer?: string;
  issuer_regex?: string;
  identity?: string;
  identity_regex?: string;
  /** Path to a PEM public key (cosign key pair). When set, keyless identity fields are not required. */
  public_key?: string;
  /** Path to a trusted_root.json for a private Sigstore deployment. */
  trusted_root?: string;
  /**
   * Proofs of origin accepted: a cosign signature, a SLSA v1 provenance attestation (GitHub artifact
   * attestations), or either. Default `["signature"]`.
   */
  accept?: readonly ProofKind[];
  /** Beyond the Go tool: require SLSA provenance from this builder id (exact). */
  require_provenance_builder?: string;
  /** Beyond the Go tool: refuse when a verified vuln scan reports findings above this severity. */
  max_vulnerability_severity?: "critical" | "high" | "medium" | "low" | "none";
}

/** Who signed, as proven by a verified signature. */
export interface SignatureResult {
  /** The digest the signature is bound to (the platform manifest or the index). */
  readonly signedDigest: Digest;
  /** Where it came from. */
  readonly source: "legacy-sig" | "legacy-att" | "bundle-referrer";
  /** Certificate SAN, or "key:<fingerprint>" for key-based signatures. */
  readonly identity: string;
  /** OIDC issuer from the certificate; undefined for key-based signatures. */
  readonly issuer?: string;
  readonly rekorLogIndex?: number;
  /** Unix seconds from Rekor, or from the RFC 3161 timestamp. */
  readonly integratedTime?: number;
  /** Extra Fulcio extensions (GitHub workflow repository, ref, …) keyed by short name. */
  readonly extensions?: Readonly<Record<string, string>>;
  /** What proved the origin: a cosign signature (default when absent) or a SLSA v1 provenance attestation. */
  readonly proof?: "signature" | "provenance";
  /** For `proof: "provenance"`: the builder and source the verified predicate names. */
  readonly provenance?: { builderId?: string; sourceRepo?: string; sourceCommit?: string };
}

/** Which proofs of origin a policy accepts (`cosign_policy.accept`); default `["signature"]`. */
export type ProofKind = "signature" | "provenance";

/** Summaries of attestations attached to an image. */
export interface AttestationSummary {
  readonly predicateType: string;
  /** True only when the DSSE signature verified against the policy and the subject matched the digest. */
  readonly verified: boolean;
  readonly kind: "sbom" | "provenance" | "vuln" | "other";
  readonly sbom?: { format: "spdx" | "cyclonedx"; componentCount: number; packages?: Record<string, string> };
  readonly provenance?: {
    builderId?: string;
    buildType?: string;
    sourceRepo?: string;
    sourceCommit?: string;
  };
  readonly vuln?: {
    scanner?: string;
    critical: number;
    high: number;
    medium: number;
    low: number;
    unknown: number;
    scannedAt?: string;
  };
  /** Why it could not be verified or summarised. */
  readonly note?: string;
  /** Where it was found: "legacy-att" (`.att` tag) or "bundle-referrer". */
  readonly source?: "legacy-att" | "bundle-referrer";
  /** The verified signer identity (SAN or key fingerprint), when verified. */
  readonly signer?: string;
}
