/**
 * Attestations: discovery (`.att` DSSE layers and non-signature bundle referrers), verification with the same
 * policy as signatures, summaries of SBOM / SLSA provenance / vulnerability predicates, and optional gates.
 * Unverified attestations are still summarised but labelled `verified: false` with the reason.
 */
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import { fromBase64 } from "./legacy_bundle.ts";
import { discoverBundles, discoverLegacy, type Discovery } from "./signatures.ts";
import { ArtifactBudget, ArtifactBudgetExceeded } from "./artifact_budget.ts";
import type { InTotoStatement } from "./statement.ts";
import type { AttestationSummary, CosignPolicy } from "./types.ts";
import { type Candidate, type TrustContext, verifyCandidate } from "./verifier.ts";

/** Predicate type URIs dz summarises. */
export const PREDICATE_TYPES = {
  SPDX: "https://spdx.dev/Document",
  CYCLONEDX: "https://cyclonedx.org/bom",
  SLSA_V02: "https://slsa.dev/provenance/v0.2",
  SLSA_V1: "https://slsa.dev/provenance/v1",
  COSIGN_VULN: "https://cosign.sigstore.dev/attestation/vuln/v1",
} as const;

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => typeof v === "string" && v !== "" ? v : undefined;
const arr = (v: unknown): unknown[] => Array.isArray(v) ? v : [];

function addPackage(map: Record<string, string>, name: unknown, version: unknown): void {
  const n = str(name);
  if (!n) return;
  const v = str(version) ?? "";
  const prev = map[n];
  if (prev === undefined) map[n] = v;
  else if (v && !prev.split(", ").includes(v)) map[n] = prev ? `${prev}, ${v}` : v;
}

function summariseSpdx(predicate: unknown): Partial<AttestationSummary> {
  const p = isRec(predicate) ? predicate : {};
  const packages: Record<string, string> = {};
  if (Array.isArray(p.packages)) {
    for (const pkg of p.packages) if (isRec(pkg)) addPackage(packages, pkg.name, pkg.versionInfo);
    return { sbom: { format: "spdx", componentCount: p.packages.length, packages } };
  }
  if (Array.isArray(p["@graph"])) {
    const elements = p["@graph"].filter((e) => {
      if (!isRec(e)) return false;
      const type = e.type ?? e["@type"];
      return typeof type === "string" && type.includes("Package");
    }) as Rec[];
    for (const e of elements) addPackage(packages, e.name, e.software_packageVersion ?? e.packageVersion);
    return { sbom: { format: "spdx", componentCount: elements.length, packages } };
  }
  return { note: "SPDX document has neither packages[] (SPDX 2) nor @graph (SPDX 3)" };
}

function summariseCycloneDx(predicate: unknown): Partial<AttestationSummary> {
  const p = isRec(predicate) ? predicate : {};
  if (!Array.isArray(p.components)) return { note: "CycloneDX BOM has no components[]" };
  const packages: Record<string, string> = {};
  for (const c of p.components) if (isRec(c)) addPackage(packages, c.name, c.version);
  return { sbom: { format: "cyclonedx", componentCount: p.components.length, packages } };
}

/** Splits "git+https://github.com/o/r@refs/heads/main" into repo and ref-ish. */
function gitSource(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const noScheme = uri.replace(/^git\+/, "");
  const at = noScheme.lastIndexOf("@");
  return at > noScheme.indexOf("://") + 3 ? noScheme.slice(0, at) : noScheme;
}

function commitOf(digest: unknown): string | undefined {
  if (!isRec(digest)) return undefined;
  return str(digest.gitCommit) ?? str(digest.sha1) ?? str(digest.sha256);
}

function summariseSlsa(predicateType: string, predicate: unknown): Partial<AttestationSummary> {
  const p = isRec(predicate) ? predicate : {};
  let builderId: string | undefined;
  let buildType: string | undefined;
  let sourceRepo: string | undefined;
  let sourceCommit: string | undefined;
  if (predicateType.startsWith(PREDICATE_TYPES.SLSA_V1)) {
    const def = isRec(p.buildDefinition) ? p.buildDefinition : {};
    const run = isRec(p.runDetails) ? p.runDetails : {};
    builderId = str(isRec(run.builder) ? run.builder.id : undefined);
    buildType = str(def.buildType);
    const ext = isRec(def.externalParameters) ? def.externalParameters : {};
    const workflow = isRec(ext.workflow) ? ext.workflow : {};
    const source = isRec(ext.source) ? ext.source : {};
    const dep = arr(def.resolvedDependencies).find((d) => isRec(d) && str(d.uri)?.startsWith("git+")) as
      | Rec
      | undefined;
    sourceRepo = gitSource(str(dep?.uri)) ?? str(workflow.repository) ?? gitSource(str(source.uri)) ??
      str(ext.repository);
    sourceCommit = commitOf(dep?.digest) ?? commitOf(source.digest);
  } else {
    builderId = str(isRec(p.builder) ? p.builder.id : undefined);
    buildType = str(p.buildType);
    const invocation = isRec(p.invocation) ? p.invocation : {};
    const configSource = isRec(invocation.configSource) ? invocation.configSource : {};
    const material = arr(p.materials).find((m) => isRec(m) && str(m.uri)) as Rec | undefined;
    sourceRepo = gitSource(str(configSource.uri)) ?? gitSource(str(material?.uri));
    sourceCommit = commitOf(configSource.digest) ?? commitOf(material?.digest);
  }
  const provenance = {
    ...(builderId ? { builderId } : {}),
    ...(buildType ? { buildType } : {}),
    ...(sourceRepo ? { sourceRepo } : {}),
    ...(sourceCommit ? { sourceCommit } : {}),
  };
  return Object.keys(provenance).length > 0
    ? { provenance }
    : { note: "provenance has no builder or source" };
}

type Counts = { critical: number; high: number; medium: number; low: number; unknown: number };

function bucket(counts: Counts, severity: unknown): void {
  const s = typeof severity === "string" ? severity.toLowerCase() : "";
  if (s === "critical") counts.critical++;
  else if (s === "high") counts.high++;
  else if (s === "medium" || s === "moderate") counts.medium++;
  else if (s === "low" || s === "negligible") counts.low++;
  else counts.unknown++;
}

function summariseVuln(predicate: unknown): Partial<AttestationSummary> {
  const p = isRec(predicate) ? predicate : {};
  const scanner = isRec(p.scanner) ? p.scanner : {};
  const result = scanner.result;
  const counts: Counts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  let read = false;
  if (isRec(result) && Array.isArray(result.Results)) {
    // Trivy JSON report.
    read = true;
    for (const r of result.Results) {
      for (const v of arr(isRec(r) ? r.Vulnerabilities : undefined)) {
        bucket(counts, isRec(v) ? v.Severity : undefined);
      }
    }
  } else if (isRec(result) && Array.isArray(result.matches)) {
    // Grype JSON report.
    read = true;
    for (const m of result.matches) {
      bucket(counts, isRec(m) && isRec(m.vulnerability) ? m.vulnerability.severity : undefined);
    }
  }
  const name = str(scanner.uri);
  if (!read) {
    return {
      note: `vulnerability scan${
        name ? ` by ${name}` : ""
      } has a scanner.result shape dz cannot read; no counts shown`,
    };
  }
  const metadata = isRec(p.metadata) ? p.metadata : {};
  const scannedAt = str(metadata.scanFinishedOn) ?? str(metadata.scanStartedOn);
  const version = str(scanner.version);
  return {
    vuln: {
      ...(name ? { scanner: version ? `${name}@${version}` : name } : {}),
      ...counts,
      ...(scannedAt ? { scannedAt } : {}),
    },
  };
}

/** Summarises a statement's predicate by type. */
export function summariseStatement(
  statement: Pick<InTotoStatement, "predicateType" | "predicate">,
): Omit<AttestationSummary, "verified"> {
  const t = statement.predicateType;
  if (t.startsWith(PREDICATE_TYPES.SPDX)) {
    return { predicateType: t, kind: "sbom", ...summariseSpdx(statement.predicate) };
  }
  if (t.startsWith(PREDICATE_TYPES.CYCLONEDX)) {
    return { predicateType: t, kind: "sbom", ...summariseCycloneDx(statement.predicate) };
  }
  if (t.startsWith(PREDICATE_TYPES.SLSA_V02) || t.startsWith(PREDICATE_TYPES.SLSA_V1)) {
    return { predicateType: t, kind: "provenance", ...summariseSlsa(t, statement.predicate) };
  }
  if (t === PREDICATE_TYPES.COSIGN_VULN) {
    return { predicateType: t, kind: "vuln", ...summariseVuln(statement.predicate) };
  }
  return { predicateType: t, kind: "other" };
}

/** The statement inside a candidate, without any verification (for labelling unverified attestations). */
function peekStatement(candidate: Candidate): { predicateType: string; predicate: unknown } | undefined {
  try {
    let payload: unknown;
    if (candidate.kind === "bundle") {
      payload = (candidate.bundle as { dsseEnvelope?: { payload?: unknown } }).dsseEnvelope?.payload;
    } else {
      payload = JSON.parse(new TextDecoder().decode(candidate.blob)).payload;
    }
    if (typeof payload !== "string") return undefined;
    const st = JSON.parse(new TextDecoder().decode(fromBase64(payload)));
    return typeof st?.predicateType === "string"
      ? { predicateType: st.predicateType, predicate: st.predicate }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Options for {@linkcode collectAttestations}. */
export interface CollectAttestationsOptions {
  client: RegistryClient;
  repo: RepoRef;
  digest: Digest;
  policy: CosignPolicy;
  trust: TrustContext;
  signal?: AbortSignal;
  /** The image's artifact budget, shared with its signature discovery (default: a fresh one). */
  budget?: ArtifactBudget;
}

/** Finds, verifies and summarises the attestations attached to `digest`. Never throws for bad attestations. */
export async function collectAttestations(
  options: CollectAttestationsOptions,
): Promise<AttestationSummary[]> {
  const { client, repo, digest, policy, trust, signal } = options;
  const budget = options.budget ?? new ArtifactBudget();
  let discoveries: Discovery[];
  try {
    discoveries = await Promise.all([
      discoverBundles(client, repo, digest, "attestation", signal, budget),
      discoverLegacy(client, repo, digest, "att", signal, budget),
    ]);
  } catch (err) {
    if (!(err instanceof ArtifactBudgetExceeded)) throw err;
    // Reported as an unverified attestation, so a gate that needs one fails closed.
    return [{ predicateType: "unknown", kind: "other", verified: false, note: `not read: ${err.message}` }];
  }
  const out: AttestationSummary[] = [];
  for (const d of discoveries) {
    for (const candidate of d.candidates) {
      const source = candidate.kind === "bundle" ? "bundle-referrer" as const : "legacy-att" as const;
      try {
        const { result, statement } = verifyCandidate(candidate, policy, trust);
        if (!statement) throw new TypeError("attestation carries no in-toto statement");
        out.push({ ...summariseStatement(statement), verified: true, source, signer: result.identity });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const peeked = peekStatement(candidate);
        const base = peeked ? summariseStatement(peeked) : {
          predicateType: candidate.kind === "bundle"
            ? "unknown"
            : candidate.layer.annotations?.predicateType ?? "unknown",
          kind: "other" as const,
        };
        const note = `not verified: ${reason}${"note" in base && base.note ? `; ${base.note}` : ""}`;
        out.push({ ...base, verified: false, source, note });
      }
    }
    for (const e of d.errors) {
      const reason = e instanceof Error ? e.message : String(e);
      out.push({
        predicateType: "unknown",
        kind: "other",
        verified: false,
        note: `Cannot look up attestations: ${reason}`,
      });
    }
    for (const b of d.broken) {
      out.push({
        predicateType: "unknown",
        kind: "other",
        verified: false,
        note: `${b.label}: ${b.message}`,
      });
    }
  }
  return out;
}

const SEVERITY_ORDER = ["none", "low", "medium", "high", "critical"] as const;

/**
 * Enforces a policy's attestation gates on verified attestations only. Throws ATTESTATION_POLICY when
 * `require_provenance_builder` has no verified provenance from that builder, or when
 * `max_vulnerability_severity` is exceeded or no verified, readable vulnerability scan exists (fail closed).
 */
export function applyAttestationGates(summaries: readonly AttestationSummary[], policy: CosignPolicy): void {
  const verified = summaries.filter((s) => s.verified);
  if (policy.require_provenance_builder !== undefined) {
    const builders = verified.filter((s) => s.kind === "provenance").map((s) =>
      s.provenance?.builderId ?? "(none)"
    );
    if (!builders.includes(policy.require_provenance_builder)) {
      throw new DropzoneError(
        "ATTESTATION_POLICY",
        `Cannot accept image: no verified SLSA provenance from builder "${policy.require_provenance_builder}"` +
          (builders.length ? ` (found: ${builders.join(", ")})` : " (none found)"),
        { hint: "Ask the publisher to attach signed provenance, or remove require_provenance_builder" },
      );
    }
  }
  if (policy.max_vulnerability_severity !== undefined) {
    const max = SEVERITY_ORDER.indexOf(policy.max_vulnerability_severity);
    const scans = verified.filter((s) => s.kind === "vuln" && s.vuln);
    if (scans.length === 0) {
      throw new DropzoneError(
        "ATTESTATION_POLICY",
        `Cannot accept image: max_vulnerability_severity is "${policy.max_vulnerability_severity}" but no verified, ` +
          `readable vulnerability scan is attached`,
        { hint: "Ask the publisher to attach a signed cosign vuln attestation, or remove the gate" },
      );
    }
    for (const s of scans) {
      const v = s.vuln!;
      const worst = v.critical > 0
        ? 4
        : v.high > 0
        ? 3
        : v.medium > 0
        ? 2
        : v.low > 0
        ? 1
        : v.unknown > 0 && max === 0
        ? 1
        : 0;
      if (worst > max) {
        throw new DropzoneError(
          "ATTESTATION_POLICY",
          `Cannot accept image: vulnerability scan${v.scanner ? ` by ${v.scanner}` : ""} reports ` +
            `${v.critical} critical, ${v.high} high, ${v.medium} medium, ${v.low} low, ${v.unknown} unknown; ` +
            `allowed up to "${policy.max_vulnerability_severity}"`,
          { hint: "Pick a newer tag, or relax max_vulnerability_severity for this registry" },
        );
      }
    }
  }
}
