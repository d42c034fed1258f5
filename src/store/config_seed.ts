/**
 * The config seeded on first run, kept apart from the YAML machinery so that initialising a dz home does not
 * load the YAML parser (start-up time of quick commands such as `dz list`).
 */
import type { RegistryEntry } from "../oci/reference.ts";
import type { CosignPolicy } from "../verify/types.ts";

/** Chainguard's public catalog signing identity (see README "Security model"). */
export const CHAINGUARD_POLICY: Readonly<CosignPolicy> = {
  issuer: "https://token.actions.githubusercontent.com",
  identity: "https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main",
};

/** The registry seeded on first run. */
export const SEED_REGISTRY: RegistryEntry<CosignPolicy> = {
  name: "chainguard",
  url: "docker.io/chainguard",
  cosign_policy: CHAINGUARD_POLICY,
};

/** The text of config.yaml written on first run. */
export const SEED_TEXT = `# dz configuration. dz keeps your comments when it edits this file.
# Schema: see README.md ("Configuration").
version: 1
default_registry: chainguard
# Refuse unsigned images unless --allow-unsigned is passed for a registry without a policy.
always_allow_unsigned: false
registries:
  - name: chainguard
    url: docker.io/chainguard
    cosign_policy:
      issuer: ${CHAINGUARD_POLICY.issuer}
      identity: ${CHAINGUARD_POLICY.identity}
`;
