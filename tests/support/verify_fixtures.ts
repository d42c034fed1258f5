/** Shared fixtures for the verify tests (no @sigstore import here, so the crypto shim test's order holds). */
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import type { Candidate } from "../../src/verify/verifier.ts";
import type { CosignPolicy } from "../../src/verify/types.ts";

/** The signer identity the acme fixtures are signed with. */
export const ACME_ID = "https://github.com/acme/tools/.github/workflows/release.yaml@refs/heads/main";
/** GitHub Actions' OIDC issuer. */
export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";
/** The policy matching {@linkcode ACME_ID}. */
export const ACME_POLICY: CosignPolicy = { identity: ACME_ID, issuer: GITHUB_ISSUER };
/** The repository the in-memory fixtures live in. */
export const ACME_REPO = { registry: "registry.test", repository: "acme/tool" };

/** A legacy `.sig` candidate for `digest` from a layer built by cosign_signer.ts. */
export async function legacyCandidate(
  digest: Digest,
  layer: { mediaType: string; blob: Uint8Array; annotations: Record<string, string> },
): Promise<Candidate> {
  return {
    kind: "legacy-sig",
    signedDigest: digest,
    layer: {
      mediaType: layer.mediaType,
      digest: await sha256Digest(layer.blob),
      size: layer.blob.length,
      annotations: layer.annotations,
    },
    blob: layer.blob,
    label: "sig",
  };
}
