/**
 * `metadata.json`, the receipt of one installed version (`packages/<name>/sha256-<hex>/metadata.json`). It is
 * written last into the staging directory, so a version directory without it is by definition incomplete.
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import type { AttestationSummary, SignatureResult } from "../verify/types.ts";
import { ioError, writeJsonAtomic } from "../fs.ts";

/** The metadata schema version this dz writes and reads. */
export const METADATA_SCHEMA_VERSION = 1;

/** A verified signature as persisted (the Go tool kept only the signer; see anchor §11 item 31). */
export interface SignatureRecord {
  /** Always true: unsigned or unverified installs store `signature: null`. */
  verified: true;
  /** Certificate SAN, or "key:<fingerprint>" for key-based signatures. */
  identity: string;
  /** OIDC issuer from the certificate; null for key-based signatures. */
  issuer: string | null;
  /** Where the signature was found (same values as the verifier's `SignatureResult.source`). */
  source: SignatureResult["source"];
  /** The digest the signature is bound to: the platform manifest, or the index when only it was signed. */
  signed_digest: Digest;
  /** Rekor log index; null when verified without a transparency log entry (e.g. TSA only). */
  rekor_log_index: number | null;
  /** Unix seconds from Rekor or the RFC 3161 timestamp; null when absent. */
  integrated_time: number | null;
  /** When dz verified it (ISO 8601, UTC). */
  verified_at: string;
  /**
   * What proved the origin: "signature" (a cosign signature) or "provenance" (a SLSA v1 provenance attestation,
   * accepted by `cosign_policy.accept`). Absent in metadata written before provenance (read as "signature").
   */
  proof: "signature" | "provenance";
  /** For `proof: "provenance"`: the builder and source repository/commit the verified predicate names. */
  provenance:
    | { builder_id: string | null; source_repository: string | null; source_commit: string | null }
    | null;
}

/** One wrapper dz generated for the package. */
export interface BinRecord {
  /** The command name, i.e. the file name in `<home>/bin`. */
  name: string;
  /** Path of the executable inside the rootfs, absolute in image terms (e.g. "/usr/bin/jq"). */
  path: string;
}

/** metadata.json, schema version 1. Every field is always present (null rather than missing). */
export interface PackageMetadata {
  /** Always {@linkcode METADATA_SCHEMA_VERSION}; an unknown version is refused with a hint to upgrade dz. */
  schema_version: 1;
  /** Package (and default wrapper) name, unique in the store. */
  name: string;
  /**
   * "image": a container image, run through a wrapper. "artifact": a binary published as an OCI artifact (files
   * as layers), linked into `bin/` as it is (`bins[].path` is the file in the rootfs). Absent in metadata written
   * before artifacts were supported (read as "image").
   */
  kind: "image" | "artifact";
  /** For an artifact: the title (org.opencontainers.image.title) of the layer installed; null for images. */
  artifact_file: string | null;
  /** The reference exactly as the user typed it (e.g. "jq", "cgr/jq:1.7", "ghcr.io/o/r@sha256:…"). */
  ref: string;
  /** The registry it came from: configured name (or the host for ad-hoc installs) and base URL. */
  registry: { name: string; url: string };
  /** Repository path inside the registry (e.g. "chainguard/jq"). */
  repository: string;
  /** The tag installed, or null when installed by digest. */
  tag: string | null;
  /** Digest of the image index the tag resolved to, or null for single-platform images (update compares it). */
  index_digest: Digest | null;
  /** Digest of the platform manifest that was unpacked; the version directory is named after it. */
  digest: Digest;
  /** OCI platform, "os/arch" or "os/arch/variant". */
  platform: string;
  /** Image entrypoint as declared, and the path inside the rootfs it resolved to. */
  entrypoint: { raw: string[]; resolved: string };
  /** Dynamic loader inside the rootfs used by the wrapper (e.g. "/lib/ld-linux-x86-64.so.2"), or null. */
  loader: string | null;
  /** Wrappers generated for this version. */
  bins: BinRecord[];
  /** The verified signature, or null for an unsigned install (only possible with allow_unsigned). */
  signature: SignatureRecord | null;
  /** `signature.proof` at the top level for scripts: "signature", "provenance", or null when unsigned. */
  proof: "signature" | "provenance" | null;
  /**
   * The signer this package is pinned to: recorded at its first verified install and carried across updates;
   * a different issuer, repository or workflow is refused until accepted (--accept-new-signer). Null until a
   * signed version is installed. Absent in metadata written before dz 0.1 (read as null).
   *
   * `git_ref` pins the kind of git ref the workflow ran for: "tags" for any `refs/tags/*` (tag releases of one
   * workflow stay one signer), "heads/<branch>" for a branch, the full ref otherwise, null when the signature
   * names none. Absent (undefined) in metadata written before it existed: unknown, pinned on the next install.
   */
  trusted_signer: {
    issuer: string | null;
    repository: string | null;
    workflow: string;
    git_ref?: string | null;
  } | null;
  /** The user allowed an unsigned install; remembered so update does not need the flag again. */
  allow_unsigned: boolean;
  /** Attestation summaries (verified or labelled unverified) found at install time. */
  attestations: AttestationSummary[];
  /** Layer digests in manifest order (referenced blobs for cache gc). */
  layers: Digest[];
  /** Digest of the image config blob. */
  config_digest: Digest;
  /** When this version was committed (ISO 8601, UTC). */
  installed_at: string;
  /** Total size of the compressed layers in bytes. */
  size_bytes: number;
  /**
   * The mirror location (`host[/namespace]`) that served the installed manifest, or null when the upstream did.
   * Identity, policy and signer stay the upstream's either way. Absent before mirrors existed (read as null).
   */
  served_by: string | null;
  /**
   * Locations that resolved the same reference to the same digest before an unsigned install
   * (`--cross-check`, `cross_check:`); [] when none. Absent in older metadata (read as []).
   */
  cross_checked: string[];
}

/**
 * One row of `dz list --json`: a stable, flat projection of the current version's metadata. Fields are only
 * ever added, never renamed or removed. An empty store prints `[]`.
 */
export interface ListEntry {
  name: string;
  /** Tag installed, or null when installed by digest. */
  tag: string | null;
  /** Platform manifest digest. */
  digest: Digest;
  index_digest: Digest | null;
  /** Configured registry name (or host for ad-hoc installs). */
  registry: string;
  repository: string;
  platform: string;
  /** True when a signature was verified at install time. */
  signed: boolean;
  /** Signing identity, or null when unsigned. */
  signer: string | null;
  /** OIDC issuer of the signing certificate, or null. */
  issuer: string | null;
  allow_unsigned: boolean;
  /** ISO 8601 UTC. */
  installed_at: string;
  /** The reference as originally typed. */
  ref: string;
}

/** The list entry for a package's current metadata. */
export function toListEntry(meta: PackageMetadata): ListEntry {
  return {
    name: meta.name,
    tag: meta.tag,
    digest: meta.digest,
    index_digest: meta.index_digest,
    registry: meta.registry.name,
    repository: meta.repository,
    platform: meta.platform,
    signed: meta.signature !== null,
    signer: meta.signature?.identity ?? null,
    issuer: meta.signature?.issuer ?? null,
    allow_unsigned: meta.allow_unsigned,
    installed_at: meta.installed_at,
    ref: meta.ref,
  };
}

/** Converts a verifier result into its persisted form. */
export function signatureRecord(result: SignatureResult, verifiedAt: Date): SignatureRecord {
  return {
    verified: true,
    ...signerRecord(result),
    verified_at: verifiedAt.toISOString(),
    ...proofRecord(result),
  };
}

/** Who signed what, where it was found and logged, as dz records and reports it (`metadata.json`, `verify --json`). */
export function signerRecord(
  result: SignatureResult,
): Pick<
  SignatureRecord,
  "identity" | "issuer" | "signed_digest" | "source" | "rekor_log_index" | "integrated_time"
> {
  return {
    identity: result.identity,
    issuer: result.issuer ?? null,
    signed_digest: result.signedDigest,
    source: result.source,
    rekor_log_index: result.rekorLogIndex ?? null,
    integrated_time: result.integratedTime ?? null,
  };
}

/** What proved a result's origin as dz records and reports it: `proof`, and for provenance its named fields. */
export function proofRecord(result: SignatureResult): Pick<SignatureRecord, "proof" | "provenance"> {
  return {
    proof: result.proof ?? "signature",
    provenance: result.proof === "provenance"
      ? {
        builder_id: result.provenance?.builderId ?? null,
        source_repository: result.provenance?.sourceRepo ?? null,
        source_commit: result.provenance?.sourceCommit ?? null,
      }
      : null,
  };
}

class FieldError extends Error {
  constructor(readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`);
  }
}

type Obj = Record<string, unknown>;

function obj(value: unknown, field: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FieldError(field, "expected an object");
  }
  return value as Obj;
}
function str(o: Obj, key: string, prefix: string, nonEmpty = true): string {
  const v = o[key];
  if (typeof v !== "string" || (nonEmpty && v.length === 0)) {
    throw new FieldError(prefix + key, "expected a non-empty string");
  }
  return v;
}
function strOrNull(o: Obj, key: string, prefix: string): string | null {
  return o[key] === null ? null : str(o, key, prefix);
}
function digest(o: Obj, key: string, prefix: string): Digest {
  const v = o[key];
  if (typeof v !== "string" || !isDigest(v)) throw new FieldError(prefix + key, "expected sha256:<64 hex>");
  return v;
}
function digestOrNull(o: Obj, key: string, prefix: string): Digest | null {
  return o[key] === null ? null : digest(o, key, prefix);
}
function bool(o: Obj, key: string, prefix: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new FieldError(prefix + key, "expected true or false");
  return v;
}
function num(o: Obj, key: string, prefix: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new FieldError(prefix + key, "expected a non-negative number");
  }
  return v;
}
function numOrNull(o: Obj, key: string, prefix: string): number | null {
  return o[key] === null ? null : num(o, key, prefix);
}
function arr(o: Obj, key: string, prefix: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new FieldError(prefix + key, "expected an array");
  return v;
}
function isoDate(o: Obj, key: string, prefix: string): string {
  const v = str(o, key, prefix);
  if (Number.isNaN(Date.parse(v))) throw new FieldError(prefix + key, "expected an ISO 8601 date");
  return v;
}

const SIGNATURE_SOURCES: ReadonlySet<string> = new Set<SignatureResult["source"]>([
  "legacy-sig",
  "legacy-att",
  "bundle-referrer",
]);
const ATTESTATION_KINDS = new Set(["sbom", "provenance", "vuln", "other"]);

function parseSignature(value: unknown): SignatureRecord | null {
  if (value === null) return null;
  const s = obj(value, "signature");
  const p = "signature.";
  if (s.verified !== true) throw new FieldError(p + "verified", "expected true");
  const source = str(s, "source", p) as SignatureResult["source"];
  if (!SIGNATURE_SOURCES.has(source)) {
    throw new FieldError(p + "source", `expected one of ${[...SIGNATURE_SOURCES].join(", ")}`);
  }
  return {
    verified: true,
    identity: str(s, "identity", p),
    issuer: strOrNull(s, "issuer", p),
    source,
    signed_digest: digest(s, "signed_digest", p),
    rekor_log_index: numOrNull(s, "rekor_log_index", p),
    integrated_time: numOrNull(s, "integrated_time", p),
    verified_at: isoDate(s, "verified_at", p),
    proof: parseProof(s.proof, p + "proof") ?? "signature",
    provenance: parseProvenance(s.provenance),
  };
}

function parseProof(value: unknown, field: string): "signature" | "provenance" | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "signature" || value === "provenance") return value;
  throw new FieldError(field, 'expected "signature" or "provenance"');
}

function parseProvenance(value: unknown): SignatureRecord["provenance"] {
  if (value === undefined || value === null) return null;
  const o = obj(value, "signature.provenance");
  const p = "signature.provenance.";
  const opt = (k: string) => o[k] === undefined ? null : strOrNull(o, k, p);
  return {
    builder_id: opt("builder_id"),
    source_repository: opt("source_repository"),
    source_commit: opt("source_commit"),
  };
}

function parseTrustedSigner(value: unknown): PackageMetadata["trusted_signer"] {
  if (value === undefined || value === null) return null;
  const s = obj(value, "trusted_signer");
  const p = "trusted_signer.";
  return {
    issuer: strOrNull(s, "issuer", p),
    repository: strOrNull(s, "repository", p),
    workflow: str(s, "workflow", p),
    ...(s.git_ref !== undefined ? { git_ref: strOrNull(s, "git_ref", p) } : {}),
  };
}

function parseKind(value: unknown): PackageMetadata["kind"] {
  if (value === undefined || value === "image") return "image";
  if (value === "artifact") return "artifact";
  throw new FieldError("kind", 'expected "image" or "artifact"');
}

/** Validates a parsed metadata document. Throws FieldError naming the first bad field. */
function validate(value: unknown): PackageMetadata {
  const o = obj(value, "(document)");
  const entrypoint = obj(o.entrypoint, "entrypoint");
  const registry = obj(o.registry, "registry");
  const raw = arr(entrypoint, "raw", "entrypoint.");
  raw.forEach((v, i) => {
    if (typeof v !== "string") throw new FieldError(`entrypoint.raw[${i}]`, "expected a string");
  });
  const bins = arr(o, "bins", "").map((b, i) => {
    const bo = obj(b, `bins[${i}]`);
    return { name: str(bo, "name", `bins[${i}].`), path: str(bo, "path", `bins[${i}].`) };
  });
  const attestations = arr(o, "attestations", "").map((a, i) => {
    const ao = obj(a, `attestations[${i}]`);
    str(ao, "predicateType", `attestations[${i}].`);
    bool(ao, "verified", `attestations[${i}].`);
    if (!ATTESTATION_KINDS.has(ao.kind as string)) {
      throw new FieldError(`attestations[${i}].kind`, "expected sbom, provenance, vuln or other");
    }
    return ao as unknown as AttestationSummary;
  });
  const signature = parseSignature(o.signature);
  const layers = arr(o, "layers", "").map((l, i) => {
    if (typeof l !== "string" || !isDigest(l)) {
      throw new FieldError(`layers[${i}]`, "expected sha256:<64 hex>");
    }
    return l;
  });
  return {
    schema_version: 1,
    name: str(o, "name", ""),
    kind: parseKind(o.kind),
    artifact_file: o.artifact_file === undefined ? null : strOrNull(o, "artifact_file", ""),
    ref: str(o, "ref", ""),
    registry: { name: str(registry, "name", "registry."), url: str(registry, "url", "registry.") },
    repository: str(o, "repository", ""),
    tag: strOrNull(o, "tag", ""),
    index_digest: digestOrNull(o, "index_digest", ""),
    digest: digest(o, "digest", ""),
    platform: str(o, "platform", ""),
    entrypoint: { raw: raw as string[], resolved: str(entrypoint, "resolved", "entrypoint.") },
    loader: strOrNull(o, "loader", ""),
    bins,
    signature,
    proof: o.proof === undefined ? signature?.proof ?? null : parseProof(o.proof, "proof") ?? null,
    trusted_signer: parseTrustedSigner(o.trusted_signer),
    allow_unsigned: bool(o, "allow_unsigned", ""),
    attestations,
    layers,
    config_digest: digest(o, "config_digest", ""),
    installed_at: isoDate(o, "installed_at", ""),
    size_bytes: num(o, "size_bytes", ""),
    served_by: o.served_by === undefined ? null : strOrNull(o, "served_by", ""),
    cross_checked: o.cross_checked === undefined || o.cross_checked === null
      ? []
      : arr(o, "cross_checked", "").map((l, i) => {
        if (typeof l !== "string" || l === "") {
          throw new FieldError(`cross_checked[${i}]`, "expected a location");
        }
        return l;
      }),
  };
}

/**
 * Parses and validates metadata text. `source` names the file in errors. Throws IO naming the field for
 * invalid content and CONFIG_VERSION for a schema version this dz does not know.
 */
export function parseMetadata(text: string, source: string): PackageMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DropzoneError("IO", `Cannot read package metadata "${source}": invalid JSON`, {
      hint: 'Run "dz doctor" to find and repair damaged packages',
      cause: err,
    });
  }
  const version = (value as Obj | null)?.schema_version;
  if (typeof version === "number" && version > METADATA_SCHEMA_VERSION) {
    throw new DropzoneError(
      "CONFIG_VERSION",
      `Cannot read package metadata "${source}": schema version ${version} is newer than this dz supports (${METADATA_SCHEMA_VERSION})`,
      { hint: "Upgrade dz to manage packages installed by a newer version" },
    );
  }
  if (version !== METADATA_SCHEMA_VERSION) {
    throw new DropzoneError(
      "IO",
      `Cannot read package metadata "${source}": schema_version: expected ${METADATA_SCHEMA_VERSION}`,
      { hint: 'Run "dz doctor" to find and repair damaged packages' },
    );
  }
  try {
    return validate(value);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    throw new DropzoneError("IO", `Cannot read package metadata "${source}": ${err.field}: ${err.problem}`, {
      hint: 'Run "dz doctor" to find and repair damaged packages',
    });
  }
}

/** Reads and validates a metadata.json. */
export async function readMetadata(path: string): Promise<PackageMetadata> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw ioError("read package metadata", path, err);
  }
  return parseMetadata(text, path);
}

/** Writes metadata.json atomically (0644, 2-space JSON) after validating it. */
export async function writeMetadata(path: string, meta: PackageMetadata): Promise<void> {
  parseMetadata(JSON.stringify(meta), path);
  await writeJsonAtomic(path, meta, { mode: 0o644 });
}
