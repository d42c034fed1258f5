/**
 * The one trust decision for every way into the store. `planInstall()` decides, before any network access,
 * what an install request may do (source, policy, consent, name ownership, the signer it must keep, the
 * downgrade and cooldown rules); `gateVerified()` applies the rules that need the verified signature. `install
 * REF`, `install FILE.tar`, `install --locked`, `update`, `run` and `export` all build an {@linkcode
 * PlanRequest} and go through both, so no entry point assembles trust on its own. Pure: no I/O.
 *
 * Rules (README "Security model" lists the same, one bullet each):
 * 1. policy: a registry with a cosign policy is always verified against it;
 * 2. consent: a registry without one is installed unsigned only with `--allow-unsigned` on this command line
 *    (or the user's own `always_allow_unsigned`, or, for `update` and `rollback`, the consent recorded when the
 *    user installed this same source); a lockfile or an archive never grants it;
 * 3. name ownership: a name installed from another source is refused (`--locked`: exit 3, both shown);
 * 4. lockfile expectations: the locked digest, and the locked signer compared by fields (also when the digest
 *    is already installed); signed → unsigned is a signer change;
 * 5. signer continuity: issuer, repository, workflow and git ref kind of the first verified install; for a
 *    version proven by SLSA provenance (`cosign_policy.accept`), also the provenance's builder and source;
 * 6. downgrade: a candidate signed before the installed version is refused unless `--allow-downgrade`; a
 *    `rollback` (to a pruned version) is the user's explicit consent to go back, so it is never refused as one,
 *    but it must resolve to exactly the digest it names and passes every other rule like an install;
 * 7. cooldown: `min_release_age` (flag > registry > top level) against the verified signing time;
 * 8. attestation gates of the policy (provenance builder, vulnerability severity);
 * 9. archive index: every `index.json` entry of an archive points at a manifest verification used;
 * 10. cross-check: `--cross-check` / `cross_check:` only for an unsigned plan; every location must agree.
 *
 * Extension points: a mirror (issue 13) changes where bytes come from, never `source`/`trust` (it sets nothing
 * here); an artifact install (issue 14) is another `origin` with the same rules.
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import { canonicalHost, type ResolvedReference, splitRegistryUrl } from "../oci/reference.ts";
import { canonicalRegistryHost } from "../oci/registry_host.ts";
import type { Config } from "../store/config.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { applyAttestationGates } from "../verify/attestations.ts";
import type { CosignPolicy } from "../verify/types.ts";
import { checkArchiveIndex, type IndexEntry } from "./archive_index.ts";
import { crossCheckLocations } from "./cross_check.ts";
import type { TrustDecision, Verification } from "./image.ts";
import {
  checkProvenanceContinuity,
  checkReleaseAge,
  checkSignerContinuity,
  isDowngrade,
  parseAge,
  pinnedSigner,
  type SignerFingerprint,
  signerFingerprint,
} from "./trust_history.ts";

/** Which command asks. It decides which consent counts and which rules apply (see the module doc). */
export type InstallOrigin =
  | "install"
  | "archive"
  | "locked"
  | "update"
  | "rollback"
  | "run"
  | "export"
  | "pull";

/** A signer as a lockfile records it. */
export interface LockedSigner {
  readonly identity: string;
  readonly issuer: string | null;
}

/** What a command asks for: only facts from its own command line, plus the lockfile entry for `--locked`. */
export interface PlanRequest {
  readonly origin: InstallOrigin;
  readonly ref: ResolvedReference;
  /** Package name (`--name`); default: the reference's last path segment. */
  readonly name?: string;
  /** `--bin PATH[:NAME]` specs: extra binaries to expose (installs only). */
  readonly bins?: readonly string[];
  /** `--file TITLE`: for an OCI artifact, the file to install (default: chosen by name and platform). */
  readonly file?: string;
  /** `--allow-unsigned` given on this command line. Nothing else a request carries can grant consent. */
  readonly allowUnsigned?: boolean;
  /** `--accept-new-signer`. */
  readonly acceptNewSigner?: boolean;
  /** `--allow-downgrade`. */
  readonly allowDowngrade?: boolean;
  /** `--min-age`: overrides the registry's and the top-level `min_release_age`. */
  readonly minAge?: string;
  /** `--locked`: what the lockfile entry expects. Its `allow_unsigned` is deliberately not here. */
  readonly locked?: { readonly file: string; readonly digest: Digest; readonly signer: LockedSigner | null };
  /** `--cross-check` locations (default: the registry's `cross_check:`), for unsigned installs only. */
  readonly crossCheck?: readonly string[];
  /** For `origin: "rollback"`: the platform digest the user rolls back to; the reference must resolve to it. */
  readonly rollbackTo?: Digest;
}

/** What the store and config say, read by the caller. */
export interface PlanFacts {
  readonly config: Pick<Config, "always_allow_unsigned" | "min_release_age" | "registries">;
  /** The current version of the package with the plan's name, or null when none is installed. */
  readonly installed: PackageMetadata | null;
}

/** Why an unsigned plan was allowed. */
export type UnsignedConsent = "command-line" | "always_allow_unsigned" | "recorded" | "export";

/** The decision. Every field is explicit so later layers (mirrors, artifacts) can read, not re-derive, it. */
export interface InstallPlan {
  readonly origin: InstallOrigin;
  /** Package name (validated by the caller's reference rules). */
  readonly name: string;
  /** `--bin PATH[:NAME]` specs to expose besides the entrypoint. */
  readonly bins: readonly string[];
  /** `--file TITLE` for an artifact, or null (chosen by name and platform). */
  readonly file: string | null;
  readonly ref: ResolvedReference;
  /**
   * `host/repository` the bytes must come from (mirrors may serve them; this stays). Shown in the address
   * spelling; compared with {@linkcode sourceKey} (loopback spellings and Docker Hub aliases fold).
   */
  readonly source: string;
  /** The configured registry (or the host for an ad-hoc one) whose policy applies. */
  readonly registry: { readonly name: string; readonly url: string };
  /** Verify against this policy, or install unsigned. */
  readonly trust: TrustDecision;
  /** Present exactly when `trust.kind === "unsigned"`: who consented. */
  readonly consent: UnsignedConsent | null;
  /** The installed version this replaces (same name, same source), or null (first install, run, export). */
  readonly replaces: PackageMetadata | null;
  /** The signer the package is pinned to (rule 5), from the installed package of this name and source. */
  readonly pinnedSigner: SignerFingerprint | null;
  /** Rule 5 for provenance: the builder and source repository the installed version's provenance named. */
  readonly pinnedProvenance:
    | { readonly builder_id: string | null; readonly source_repository: string | null }
    | null;
  /** The installed version had a verified signature: an unsigned candidate is a signer change. */
  readonly wasSigned: boolean;
  readonly acceptNewSigner: boolean;
  /** Rule 6: the installed version's verified signing time (Unix s), or null when unknown / nothing replaced. */
  readonly downgrade: { readonly installedSignedAt: number | null; readonly allow: boolean } | null;
  /** Rule 7, or null when no cooldown applies. */
  readonly cooldown: { readonly minAgeSeconds: number; readonly text: string } | null;
  /** Rule 4, or null. */
  readonly locked: PlanRequest["locked"] | null;
  /** Rule 6 for a rollback: the digest it must install (never refused as a downgrade), or null. */
  readonly rollbackTo: Digest | null;
  /** Rule 8: the policy whose attestation gates apply (null when unsigned). */
  readonly attestationPolicy: CosignPolicy | null;
  /**
   * Rule 10: locations that must serve the same digest before an unsigned install ([] when none). Refused
   * for a registry with a policy: a signature decides there (see cross_check.ts).
   */
  readonly crossCheck: readonly string[];
}

/** `host/repository` with the host in its address spelling (for messages and `plan.source`). */
export function sourceName(host: string, repository: string): string {
  return `${canonicalHost(host)}/${repository}`;
}

/** The identity of a source: equal exactly when two spellings name the same repository of the same registry. */
export function sourceKey(host: string, repository: string): string {
  return `${canonicalRegistryHost(host)}/${repository}`;
}

/** The source of an installed package, as shown. */
export function installedSource(meta: Pick<PackageMetadata, "registry" | "repository">): string {
  return sourceName(splitRegistryUrl(meta.registry.url).host, meta.repository);
}

function installedSourceKey(meta: Pick<PackageMetadata, "registry" | "repository">): string {
  return sourceKey(splitRegistryUrl(meta.registry.url).host, meta.repository);
}

function policyMissing(plan: Pick<PlanRequest, "origin" | "ref">): DropzoneError {
  const { ref, origin } = plan;
  const how = ref.adHoc
    ? `Add the registry with a policy ("dz add registry <name> ${ref.host} --template github --identity …") ` +
      `so dz can verify it, or pass --allow-unsigned to install without verification`
    : `Add a cosign_policy to registry "${ref.registryName}" ("dz remove registry ${ref.registryName}" and ` +
      `"dz add registry … --identity …"), or pass --allow-unsigned to install without verification`;
  const why = origin === "locked"
    ? "; a lockfile never grants consent to install unsigned, only --allow-unsigned on the command line does"
    : origin === "archive"
    ? "; an archive never grants consent to install unsigned, only --allow-unsigned on the command line does"
    : "";
  return new DropzoneError(
    "POLICY_MISSING",
    `Cannot ${
      origin === "run" ? "run" : origin === "pull" ? "pull" : "install"
    } "${ref.input}": registry "${ref.registryName}" has no ` +
      `signature policy${why}`,
    { hint: how },
  );
}

function decideConsent(
  request: PlanRequest,
  facts: PlanFacts,
  replaces: PackageMetadata | null,
): UnsignedConsent {
  if (request.allowUnsigned === true) return "command-line";
  if (facts.config.always_allow_unsigned) return "always_allow_unsigned";
  // The user's own earlier --allow-unsigned for this very source carries over to its updates.
  if ((request.origin === "update" || request.origin === "rollback") && replaces?.allow_unsigned === true) {
    return "recorded";
  }
  // Exporting copies bytes; it installs nothing and the importing machine decides with its own consent.
  if (request.origin === "export") return "export";
  throw policyMissing(request);
}

function ownershipError(request: PlanRequest, name: string, installed: PackageMetadata, source: string) {
  const have = installedSource(installed);
  if (request.origin === "locked" || request.origin === "update" || request.origin === "rollback") {
    return new DropzoneError(
      "SOURCE_MISMATCH",
      `Cannot install "${name}" from ${source}: "${name}" is installed from ${have}` +
        (request.origin === "locked" ? ` (lockfile ${request.locked?.file ?? ""})` : ""),
      {
        hint: request.origin === "locked"
          ? `A lockfile cannot move a package to another source; if ${source} is intended, ` +
            `"dz remove ${name}" first`
          : `The registry of "${name}" now points elsewhere; "dz remove ${name}" and install it again`,
      },
    );
  }
  return new DropzoneError(
    "NAME_CONFLICT",
    `Cannot install ${request.ref.input} as "${name}": "${name}" is already installed from ${have}`,
    { hint: `Pick another name with --name, or "dz remove ${name}" first` },
  );
}

/** Decides everything that does not need the signature. Throws the refusal (policy, consent, ownership). */
export function planInstall(request: PlanRequest, facts: PlanFacts): InstallPlan {
  const { ref, origin } = request;
  const name = request.name ?? ref.packageName;
  const source = sourceName(ref.host, ref.repository);
  const installed = facts.installed;
  const sameSource = installed !== null &&
    installedSourceKey(installed) === sourceKey(ref.host, ref.repository);
  const replacing = origin !== "run" && origin !== "export" && origin !== "pull";
  if (installed && !sameSource && replacing) throw ownershipError(request, name, installed, source);
  const replaces = replacing && sameSource ? installed : null;
  // run, export and pull replace nothing but must still honour the pin of the package they would shadow.
  const related = sameSource ? installed : null;

  let trust: TrustDecision;
  let consent: UnsignedConsent | null = null;
  if (ref.policy) trust = { kind: "verify", policy: ref.policy };
  else {
    consent = decideConsent(request, facts, replaces);
    trust = { kind: "unsigned" };
  }

  let cooldown: InstallPlan["cooldown"] = null;
  if (origin !== "export") {
    const text = request.minAge ??
      facts.config.registries.find((r) => r.name === ref.registryName)?.min_release_age ??
      facts.config.min_release_age;
    if (text !== undefined) {
      const minAgeSeconds = parseAge(text);
      if (minAgeSeconds > 0) cooldown = { minAgeSeconds, text };
    }
  }
  return {
    origin,
    name,
    bins: request.bins ?? [],
    file: request.file ?? null,
    ref,
    source,
    registry: { name: ref.registryName, url: ref.registryUrl },
    trust,
    consent,
    replaces,
    pinnedSigner: related?.trusted_signer ?? null,
    pinnedProvenance: related?.signature?.provenance ?? null,
    wasSigned: (related?.signature ?? null) !== null,
    acceptNewSigner: request.acceptNewSigner === true,
    downgrade: replaces
      ? {
        installedSignedAt: replaces.signature?.integrated_time ?? null,
        allow: request.allowDowngrade === true || origin === "rollback",
      }
      : null,
    cooldown,
    locked: request.locked ?? null,
    rollbackTo: origin === "rollback" ? request.rollbackTo ?? null : null,
    attestationPolicy: trust.kind === "verify" ? trust.policy : null,
    // Archives install offline and export installs nothing: there is nothing to cross-check against.
    crossCheck: origin === "archive" || origin === "export"
      ? []
      : crossCheckLocations(ref, trust, request.crossCheck ?? [], facts.config),
  };
}

/** What verification produced, for the gate. */
export interface GateEvidence {
  /** The platform manifest digest that would be installed. */
  readonly digest: Digest;
  /** The index it was reached through, or null. */
  readonly indexDigest: Digest | null;
  readonly verification: Verification;
  /** For archives: the `index.json` entries, and every manifest digest verification read from the archive. */
  readonly archive?: { readonly entries: readonly IndexEntry[]; readonly consulted: ReadonlySet<Digest> };
}

/** The gate's result: the signer pin to record with the new version. */
export interface GateResult {
  readonly trustedSigner: SignerFingerprint | null;
}

function lockedSignerError(plan: InstallPlan, got: LockedSigner | null): DropzoneError {
  const want = plan.locked!.signer;
  const show = (s: LockedSigner | null) => s ? `${s.identity} (issuer ${s.issuer ?? "key"})` : "unsigned";
  return new DropzoneError(
    "SIGNER_CHANGED",
    `Cannot install ${plan.ref.input} as locked: signed by ${
      got ? show(got) : "nobody"
    }, the lockfile says ` +
      show(want),
    {
      hint:
        "Do not trust this image until you know why its signer changed; regenerate the lockfile if intended",
    },
  );
}

/** Rule 4 by fields: identity and issuer must both match; a missing signature on either side is a change. */
export function sameLockedSigner(a: LockedSigner | null, b: LockedSigner | null): boolean {
  if (a === null || b === null) return a === b;
  return a.identity === b.identity && (a.issuer ?? null) === (b.issuer ?? null);
}

/** Rule 4, the digest half: throws DIGEST_MISMATCH unless `digest` is the locked one (no-op without a lock). */
export function checkLockedDigest(plan: InstallPlan, digest: Digest): void {
  if (!plan.locked || digest === plan.locked.digest) return;
  throw new DropzoneError(
    "DIGEST_MISMATCH",
    `Cannot install ${plan.ref.input} as locked: it resolves to ${shortDigest(digest)}, the lockfile says ` +
      shortDigest(plan.locked.digest),
    {
      hint:
        "The lockfile and the registry disagree; regenerate the lockfile with dz lock if this is intended",
    },
  );
}

/**
 * The digest halves of rules 4 and 6, checked as soon as the reference is resolved (before anything is pulled)
 * and again by the gate: a locked install must get the locked digest, a rollback the digest it names.
 */
export function checkResolvedDigest(plan: InstallPlan, digest: Digest): void {
  checkLockedDigest(plan, digest);
  if (plan.origin !== "rollback") return;
  if (plan.rollbackTo === null) {
    throw new TypeError("A rollback plan names the digest it rolls back to");
  }
  if (digest === plan.rollbackTo) return;
  throw new DropzoneError(
    "DIGEST_MISMATCH",
    `Cannot roll back "${plan.name}" to ${shortDigest(plan.rollbackTo)}: ${plan.ref.input} now resolves to ` +
      shortDigest(digest),
    {
      hint: "The registry no longer serves that version for this platform; " +
        `"dz info ${plan.name}" lists the versions still installed`,
    },
  );
}

/** Rule 4 when the locked digest is already installed: the recorded signature must be the locked signer. */
export function gateUnchanged(plan: InstallPlan, installed: PackageMetadata): void {
  if (!plan.locked) return;
  const got = installed.signature
    ? { identity: installed.signature.identity, issuer: installed.signature.issuer }
    : null;
  if (!sameLockedSigner(got, plan.locked.signer)) throw lockedSignerError(plan, got);
}

/** Applies every rule that needs the verified signature (4–9). Throws the refusal; returns the pin to record. */
export function gateVerified(plan: InstallPlan, evidence: GateEvidence, now: Date): GateResult {
  const { verification, digest } = evidence;
  const signature = verification.signature;
  if (plan.trust.kind === "verify" && signature === null) {
    // verifyResolvedImage never returns this; a future verification source (a mirror) must not either.
    throw new DropzoneError("SIGNATURE_MISSING", `No verified signature for ${plan.ref.input}`, {
      hint: "The registry policy requires one",
    });
  }
  if (evidence.archive) {
    checkArchiveIndex(evidence.archive.entries, {
      verified: new Set([digest, ...(evidence.indexDigest ? [evidence.indexDigest] : [])]),
      consulted: evidence.archive.consulted,
    });
  }
  if (plan.attestationPolicy) applyAttestationGates(verification.attestations, plan.attestationPolicy);
  checkResolvedDigest(plan, digest);
  if (plan.locked) {
    checkLockedDigest(plan, digest);
    const got = signature ? { identity: signature.identity, issuer: signature.issuer ?? null } : null;
    if (!sameLockedSigner(got, plan.locked.signer)) throw lockedSignerError(plan, got);
  }

  let trustedSigner = plan.pinnedSigner;
  if (signature) {
    const fingerprint = signerFingerprint(signature);
    checkSignerContinuity(plan.name, plan.pinnedSigner, fingerprint, plan.acceptNewSigner);
    checkProvenanceContinuity(plan.name, plan.pinnedProvenance, signature.provenance, plan.acceptNewSigner);
    trustedSigner = pinnedSigner(plan.pinnedSigner, fingerprint, plan.acceptNewSigner);
  } else if (plan.wasSigned && !plan.acceptNewSigner) {
    throw new DropzoneError(
      "SIGNER_CHANGED",
      `Cannot ${plan.origin === "run" ? "run" : "install"} ${plan.ref.input} unsigned: "${plan.name}" is ` +
        `installed signed by ${plan.pinnedSigner?.workflow ?? "a verified signer"}`,
      {
        hint:
          "Going from signed to unsigned is a signer change; pass --accept-new-signer if you really mean it",
      },
    );
  }

  if (plan.downgrade && isDowngrade(plan.downgrade.installedSignedAt, signature?.integratedTime)) {
    if (!plan.downgrade.allow) {
      const when = (s: number) => new Date(s * 1000).toISOString();
      throw new DropzoneError(
        "DOWNGRADE",
        `Cannot install ${plan.ref.input} (${shortDigest(digest)}): it was signed ${
          when(signature!.integratedTime!)
        }, before the installed ${shortDigest(plan.replaces!.digest)} (signed ${
          when(plan.downgrade.installedSignedAt!)
        }); this is a downgrade`,
        {
          hint:
            `Pass --allow-downgrade if you mean to go back, or use "dz rollback ${plan.name}" for a version ` +
            "installed before",
        },
      );
    }
  }
  if (plan.cooldown) {
    checkReleaseAge({
      signedAt: signature?.integratedTime,
      minAgeSeconds: plan.cooldown.minAgeSeconds,
      now,
      what: `${plan.ref.input} (${shortDigest(digest)})`,
      minAgeText: plan.cooldown.text,
    });
  }
  return { trustedSigner };
}
