/**
 * `dz verify`: checks an image's signature and attestations against its registry's current policy without
 * pulling layers (manifests and signature artifacts; the config blob only to name a single-platform image's
 * platform, best effort), or re-verifies the digest an installed package runs.
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { parseImageConfig } from "../oci/manifest.ts";
import { sameRegistryHost } from "../oci/registry_host.ts";
import {
  formatReference,
  parseReference,
  type ResolvedReference,
  resolveReference,
  splitRegistryUrl,
} from "../oci/reference.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { Host } from "../runtime.ts";
import type { Config } from "../store/config.ts";
import type { StoreLayout } from "../store/layout.ts";
import { type PackageMetadata, proofRecord, signerRecord } from "../store/metadata.ts";
import { readCurrent } from "../store/packages.ts";
import type { TrustContext } from "../verify/verifier.ts";
import type { AttestationSummary, CosignPolicy } from "../verify/types.ts";
import { checkArchiveIndex, type IndexEntry } from "./archive_index.ts";
import { hostFromPlatform } from "./doctor.ts";
import { type ResolvedManifest, resolveManifest, verifyResolvedImage } from "./image.ts";

/**
 * The `dz verify --json` document (also printed, with `verified: false` and `error`, when verification fails).
 *
 * - `target`: the argument as given; `mode`: "installed" (a package name) or "reference".
 * - `package`: the installed package name (installed mode only).
 * - `reference`: host/repository[:tag]@digest that was verified; `registry`: `{name, url}`.
 * - `digest`: platform manifest digest; `index_digest`: the index the tag or digest resolved through, or null.
 * - `platform`: "os/arch[/variant]" (from the index entry, or the image config), or null when unknown: a
 *   single-platform image whose config blob cannot be read still verifies (signatures bind the manifest).
 * - `verified`: true only when the signature verified against the policy and the attestation gates passed.
 * - `policy`: the registry's cosign policy, or null ("no policy": exit 3).
 * - `signature`: `{identity, issuer, signed_digest, source, rekor_log_index, integrated_time,
 *   integrated_time_iso, extensions}` or null. `source` is "legacy-sig" (`.sig` tag), "legacy-att" or
 *   "bundle-referrer"; `integrated_time` is Unix seconds.
 * - `proof`: what proved the origin, "signature" (cosign) or "provenance" (SLSA v1 attestation accepted by
 *   `cosign_policy.accept`); null when nothing verified. `signature.provenance` then holds `{builder_id,
 *   source_repository, source_commit}` from the verified predicate (null for signatures).
 * - `attestations`: the verifier's summaries (`predicateType`, `kind`, `verified`, `sbom`/`provenance`/`vuln`,
 *   `note`, `source`, `signer`) plus `summary`, a one-line text.
 * - `trusted_root`: `{source, age_seconds}` of the trust material used, or null.
 * - `recorded_signer`, `signer_changed` (installed mode): the identity recorded at install time, and whether the
 *   signature now verifies for a different one.
 * - `error`: `{code, message, hint}` when verification failed.
 */
export interface VerifyReport {
  target: string;
  mode: "installed" | "reference";
  package?: string;
  reference: string;
  registry: { name: string; url: string };
  digest: Digest | null;
  index_digest: Digest | null;
  platform: string | null;
  verified: boolean;
  policy: CosignPolicy | null;
  signature: {
    identity: string;
    issuer: string | null;
    signed_digest: Digest;
    source: string;
    rekor_log_index: number | null;
    integrated_time: number | null;
    integrated_time_iso: string | null;
    extensions: Record<string, string>;
    proof: "signature" | "provenance";
    provenance:
      | { builder_id: string | null; source_repository: string | null; source_commit: string | null }
      | null;
  } | null;
  proof: "signature" | "provenance" | null;
  attestations: (AttestationSummary & { summary: string })[];
  trusted_root: { source: string; age_seconds: number | null } | null;
  recorded_signer?: string | null;
  signer_changed?: boolean;
  error?: { code: string; message: string; hint: string | null } | undefined;
}

/** What verify needs from the outside. */
export interface VerifyDeps {
  readonly layout: StoreLayout;
  readonly config: Config;
  readonly client: RegistryClient;
  readonly host: Host;
  readonly now: Date;
  readonly loadTrust: (policy: CosignPolicy) => Promise<TrustContext>;
  readonly signal?: AbortSignal;
  /**
   * A policy given on the command line (`--certificate-identity …`, like `cosign verify`): it replaces the
   * registry's identity/key rules for this check only (the registry's private trusted root is kept unless a
   * key is given). Nothing is stored; installs always use the configured policy.
   */
  readonly policyOverride?: CosignPolicy;
  /** Verifying an archive: its index.json entries and the manifests the archive client served. */
  readonly archive?: {
    readonly entries: readonly IndexEntry[];
    readonly consulted: ReadonlySet<Digest>;
  };
}

/** `ref` with the command line's policy, when there is one. */
function withOverride(
  ref: ResolvedReference<CosignPolicy>,
  override: CosignPolicy | undefined,
): ResolvedReference<CosignPolicy> {
  if (!override) return ref;
  const keepRoot = ref.policy?.trusted_root !== undefined && override.public_key === undefined &&
    override.trusted_root === undefined;
  return { ...ref, policy: { ...(keepRoot ? { trusted_root: ref.policy!.trusted_root } : {}), ...override } };
}

/** The outcome: the report, plus the error to raise (exit code from its DropzoneError code) when it failed. */
export interface VerifyOutcome {
  readonly report: VerifyReport;
  readonly error?: unknown;
}

const NAME_LIKE = /^[a-z0-9][a-z0-9._-]*$/;

/** True when `target` could be an installed package name (no registry, path, tag or digest). Pure. */
export function looksLikePackageName(target: string): boolean {
  return NAME_LIKE.test(target) && target.length <= 64;
}

/** A one-line summary of an attestation. Pure. */
export function attestationSummary(a: AttestationSummary): string {
  const label = a.verified ? "verified" : "UNVERIFIED";
  let what: string;
  if (a.sbom) what = `SBOM ${a.sbom.format.toUpperCase()}, ${a.sbom.componentCount} components`;
  else if (a.provenance) {
    what = `provenance ${a.provenance.builderId ?? a.provenance.buildType ?? "?"}` +
      (a.provenance.sourceRepo ? ` from ${a.provenance.sourceRepo}` : "") +
      (a.provenance.sourceCommit ? `@${a.provenance.sourceCommit.slice(0, 12)}` : "");
  } else if (a.vuln) {
    what = `vulnerabilities ${a.vuln.critical}C/${a.vuln.high}H/${a.vuln.medium}M/${a.vuln.low}L` +
      (a.vuln.scanner ? ` (${a.vuln.scanner})` : "");
  } else what = a.predicateType;
  return `${what} [${label}]${a.note ? ` (${a.note})` : ""}`;
}

/**
 * The reference to verify for an installed package: its registry looked up by name in the current config, its
 * recorded index digest (so index-bound signatures still verify) or platform digest. Throws REGISTRY_NOT_FOUND
 * when the registry is gone or no longer covers the repository.
 */
export function installedReference(
  meta: PackageMetadata,
  config: Config,
  digest: Digest,
): ResolvedReference<CosignPolicy> {
  const entry = config.registries.find((r) => r.name === meta.registry.name);
  const { host } = splitRegistryUrl(meta.registry.url);
  if (entry === undefined) {
    // Ad-hoc installs (and removed registries) have no policy: resolve by host; decide reports "no policy".
    return resolveReference(`${host}/${meta.repository}@${digest}`, { registries: [] });
  }
  const { host: entryHost, prefix } = splitRegistryUrl(entry.url);
  if (!sameRegistryHost(entryHost, host) || (prefix !== "" && !meta.repository.startsWith(prefix + "/"))) {
    throw new DropzoneError(
      "REGISTRY_NOT_FOUND",
      `Cannot re-verify "${meta.name}": registry "${entry.name}" now points at ${entry.url}, ` +
        `but the package came from ${meta.registry.url}`,
      { hint: `Verify the image by reference instead: dz verify ${host}/${meta.repository}@${meta.digest}` },
    );
  }
  const image = prefix === "" ? meta.repository : meta.repository.slice(prefix.length + 1);
  return resolveReference(`${entry.name}/${image}@${digest}`, {
    registries: config.registries,
  });
}

/** The fields of a report before (or without) a verification: nothing verified, nothing found. */
function notVerified(policy: CosignPolicy | null = null) {
  return {
    verified: false,
    policy,
    signature: null,
    proof: null,
    attestations: [],
    trusted_root: null,
  };
}

function baseReport(target: string, ref: ResolvedReference<CosignPolicy>): VerifyReport {
  return {
    target,
    mode: "reference",
    reference: formatReference(ref),
    registry: { name: ref.registryName, url: ref.registryUrl },
    digest: ref.digest ?? null,
    index_digest: null,
    platform: null,
    ...notVerified(ref.policy ?? null),
  };
}

function errorInfo(err: unknown): VerifyReport["error"] {
  if (err instanceof DropzoneError) return { code: err.code, message: err.message, hint: err.hint ?? null };
  return { code: "INTERNAL", message: err instanceof Error ? err.message : String(err), hint: null };
}

async function resolveInstalled(
  deps: VerifyDeps,
  meta: PackageMetadata,
  host: Host,
): Promise<{ ref: ResolvedReference<CosignPolicy>; image: ResolvedManifest }> {
  const opts = { client: deps.client, host, ...(deps.signal ? { signal: deps.signal } : {}) };
  if (meta.index_digest !== null) {
    const ref = installedReference(meta, deps.config, meta.index_digest);
    try {
      const image = await resolveManifest(ref, opts);
      if (image.digest === meta.digest) return { ref, image };
    } catch (err) {
      if (!isDropzoneError(err, "MANIFEST_UNKNOWN")) throw err;
    }
  }
  const ref = installedReference(meta, deps.config, meta.digest);
  return { ref, image: await resolveManifest(ref, opts) };
}

/**
 * The platform of a resolved manifest: from the index entry, else from the image config, read best effort (a
 * config that cannot be fetched or parsed leaves the platform unknown, null; verification does not need it).
 */
async function platformOf(deps: VerifyDeps, image: ResolvedManifest): Promise<string | null> {
  if (image.indexPlatform !== null) return image.indexPlatform;
  try {
    const bytes = await deps.client.getBlobBytes(image.repo, image.manifest.config.digest, {
      size: image.manifest.config.size,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const config = parseImageConfig(bytes);
    if (!config.os || !config.architecture) return null;
    return `${config.os}/${config.architecture}${config.variant ? `/${config.variant}` : ""}`;
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    return null;
  }
}

/**
 * Verifies `target`: an installed package name (re-verifies its installed digest against the current policy
 * of its registry) or a reference (resolved now; only manifests and config are fetched). Never throws for a
 * verification or registry failure: the outcome carries the error, so --json can still print the report.
 */
export async function verifyTarget(deps: VerifyDeps, target: string): Promise<VerifyOutcome> {
  let meta: PackageMetadata | undefined;
  if (looksLikePackageName(target)) meta = (await readCurrent(deps.layout, target))?.metadata;
  let ref: ResolvedReference<CosignPolicy>;
  const host = meta ? hostFromPlatform(meta.platform, deps.host) : deps.host;
  let report: VerifyReport;
  let image: ResolvedManifest;
  try {
    if (meta) {
      const r = await resolveInstalled(deps, meta, host);
      ref = withOverride(r.ref, deps.policyOverride);
      image = r.image;
    } else {
      parseReference(target);
      ref = withOverride(
        resolveReference(target, {
          registries: deps.config.registries,
          defaultRegistry: deps.config.default_registry,
        }),
        deps.policyOverride,
      );
      if (!ref.policy) {
        report = baseReport(target, ref);
        const error = noPolicy(ref);
        return { report: { ...report, error: errorInfo(error) }, error };
      }
      image = await resolveManifest(ref, {
        client: deps.client,
        host,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
    }
  } catch (err) {
    const fallback: VerifyReport = {
      ...(meta ? baseReportFromMeta(target, meta) : {
        target,
        mode: "reference" as const,
        reference: target,
        registry: { name: "", url: "" },
        digest: null,
        index_digest: null,
        platform: null,
        ...notVerified(),
      }),
      error: errorInfo(err),
    };
    return { report: fallback, error: err };
  }
  report = {
    ...baseReport(target, ref),
    ...(meta ? { mode: "installed" as const, package: meta.name } : {}),
    reference: formatReference({
      host: ref.host,
      repository: ref.repository,
      ...(ref.tag && !meta ? { tag: ref.tag } : {}),
      digest: image.digest,
    }),
    digest: image.digest,
    index_digest: image.index?.digest ?? null,
    platform: await platformOf(deps, image) ?? meta?.platform ?? null,
    ...(meta ? { recorded_signer: meta.signature?.identity ?? null } : {}),
  };
  if (!ref.policy) {
    const error = noPolicy(ref);
    return { report: { ...report, error: errorInfo(error) }, error };
  }
  let rootInfo: VerifyReport["trusted_root"] = null;
  const loadTrust = async (policy: CosignPolicy) => {
    const t = await deps.loadTrust(policy);
    const root = (t as TrustContext & { root?: { source: string; ageSeconds?: number } }).root;
    if (root) rootInfo = { source: root.source, age_seconds: root.ageSeconds ?? null };
    return t;
  };
  try {
    const v = await verifyResolvedImage(image, {
      client: deps.client,
      decision: { kind: "verify", policy: ref.policy },
      loadTrust,
      now: deps.now,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const s = v.signature!;
    // An archive is verified as a whole: what skopeo/umoci would import (index.json) must be what verified.
    if (deps.archive) {
      checkArchiveIndex(deps.archive.entries, {
        verified: new Set([image.digest, ...(image.index ? [image.index.digest] : [])]),
        consulted: deps.archive.consulted,
      });
    }
    report = {
      ...report,
      verified: true,
      signature: {
        ...signerRecord(s),
        integrated_time_iso: s.integratedTime !== undefined
          ? new Date(s.integratedTime * 1000).toISOString()
          : null,
        extensions: { ...(s.extensions ?? {}) },
        ...proofRecord(s),
      },
      proof: s.proof ?? "signature",
      attestations: v.attestations.map((a) => ({ ...a, summary: attestationSummary(a) })),
      trusted_root: rootInfo,
      ...(meta ? { signer_changed: meta.signature !== null && meta.signature.identity !== s.identity } : {}),
    };
    return { report };
  } catch (err) {
    return { report: { ...report, trusted_root: rootInfo, error: errorInfo(err) }, error: err };
  }
}

function baseReportFromMeta(target: string, meta: PackageMetadata): VerifyReport {
  return {
    target,
    mode: "installed",
    package: meta.name,
    reference: `${meta.registry.url.split("/")[0]}/${meta.repository}@${meta.digest}`,
    registry: { ...meta.registry },
    digest: meta.digest,
    index_digest: meta.index_digest,
    platform: meta.platform,
    ...notVerified(),
    recorded_signer: meta.signature?.identity ?? null,
  };
}

function noPolicy(ref: ResolvedReference<CosignPolicy>): DropzoneError {
  return new DropzoneError(
    "POLICY_MISSING",
    `Cannot verify ${ref.input}: registry "${ref.registryName}" has no signature policy (no policy)`,
    {
      hint: ref.adHoc
        ? `Add the registry with a policy: dz add registry <name> ${ref.host} --template github --identity …`
        : `Give registry "${ref.registryName}" a cosign_policy (dz remove registry ${ref.registryName}, then ` +
          `dz add registry … --identity …)`,
    },
  );
}
