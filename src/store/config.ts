/**
 * config.yaml: versioned, validated on load with errors that name the bad field, and edited through the `yaml`
 * Document API so that a user's comments and ordering survive every change dz makes.
 */
import { dirname, isAbsolute, join } from "node:path";
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from "yaml";
import { DropzoneError } from "../errors.ts";
import type { RegistryEntry } from "../oci/reference.ts";
import { formatHostPath, hostPathKey, type MirrorEntry, parseHostPath } from "../registry/mirrors.ts";
import type { CosignPolicy, ProofKind } from "../verify/types.ts";
import { writeFileAtomic } from "../fs.ts";
import { CHAINGUARD_POLICY, SEED_REGISTRY, SEED_TEXT } from "./config_seed.ts";

export { CHAINGUARD_POLICY, SEED_REGISTRY };

/** A registry as configured in config.yaml, with its cosign policy. */
export type ConfiguredRegistry = RegistryEntry<CosignPolicy>;

/** The config schema version this dz reads and writes. */
export const CONFIG_VERSION = 1;

/** The parsed, validated configuration. */
export interface Config {
  readonly version: number;
  readonly default_registry?: string;
  readonly always_allow_unsigned: boolean;
  readonly registries: readonly ConfiguredRegistry[];
  /** Previous versions kept per package for rollback. */
  readonly keep_versions: number;
  /** Concurrent requests per registry host. */
  readonly concurrency: number;
  /** Share layer snapshots between versions and packages (cache/layers); false: independent copies. */
  readonly layer_cache: boolean;
  /** Skip digests signed more recently than this (e.g. "3d", "12h"); optional. */
  readonly min_release_age?: string;
  /** Registry mirrors and pull-through caches (see registry/mirrors.ts); [] when none. */
  readonly mirrors: readonly MirrorEntry[];
}

/** A loaded config: the validated values plus the document that keeps comments for edits. */
export interface LoadedConfig {
  readonly config: Config;
  readonly doc: Document;
  readonly path: string;
  /** True when the file did not exist and was seeded (not yet written). */
  readonly seeded: boolean;
}

const POLICY_KEYS = new Set([
  "issuer",
  "issuer_regex",
  "identity",
  "identity_regex",
  "public_key",
  "trusted_root",
  "require_provenance_builder",
  "max_vulnerability_severity",
]);
/** Policy keys that are lists, not strings. */
const POLICY_LIST_KEYS = new Set(["accept"]);
const PROOF_KINDS: ReadonlySet<string> = new Set(["signature", "provenance"]);
const REGISTRY_KEYS = new Set(["name", "url", "insecure", "cosign_policy", "min_release_age", "cross_check"]);
const MIRROR_KEYS = new Set(["prefix", "locations", "pull_from_mirror", "insecure"]);
const TOP_KEYS = new Set([
  "version",
  "default_registry",
  "always_allow_unsigned",
  "registries",
  "keep_versions",
  "concurrency",
  "min_release_age",
  "layer_cache",
  "mirrors",
  // Accepted and ignored: written by the Go predecessor.
  "local_store_path",
]);
const SEVERITIES = new Set(["critical", "high", "medium", "low", "none"]);

function bad(path: string, field: string, why: string): DropzoneError {
  return new DropzoneError("CONFIG_INVALID", `Invalid config ${path}: ${field} ${why}`, {
    hint: `Fix "${field}" in ${path} (see README "Configuration"), or move the file away to start fresh`,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Throws CONFIG_INVALID for the first key of `obj` that `known` does not accept. */
function checkKeys(
  obj: Record<string, unknown>,
  path: string,
  f: string,
  known: (key: string) => boolean,
): void {
  for (const k of Object.keys(obj)) {
    if (!known(k)) throw bad(path, f ? `${f}.${k}` : k, "is not a known setting");
  }
}

/** `v` as a list of mappings holding only `keys` ([] when absent), each checked with its field name. */
function mappingList(
  v: unknown,
  path: string,
  f: string,
  keys: ReadonlySet<string>,
): { entry: Record<string, unknown>; f: string }[] {
  const list = v ?? [];
  if (!Array.isArray(list)) throw bad(path, f, "must be a list");
  return list.map((entry, i) => {
    const ef = `${f}[${i}]`;
    if (!isObject(entry)) throw bad(path, ef, "must be a mapping");
    checkKeys(entry, path, ef, (k) => keys.has(k));
    return { entry, f: ef };
  });
}

function compiles(re: string): boolean {
  try {
    new RegExp(re);
    return true;
  } catch {
    return false;
  }
}

/** Validates a plain config object. Pure; throws CONFIG_INVALID naming the field. */
export function validateConfig(raw: unknown, path: string): Config {
  if (raw === null || raw === undefined) raw = {};
  if (!isObject(raw)) throw bad(path, "the document", "must be a mapping");
  checkKeys(raw, path, "", (k) => TOP_KEYS.has(k));
  const version = raw.version ?? CONFIG_VERSION;
  if (typeof version !== "number" || !Number.isInteger(version)) {
    throw bad(path, "version", "must be an integer");
  }
  if (version > CONFIG_VERSION) {
    throw new DropzoneError(
      "CONFIG_VERSION",
      `Config ${path} has version ${version}; this dz reads ${CONFIG_VERSION}`,
      {
        hint: "Upgrade dz, or move the file away to start fresh",
      },
    );
  }
  const str = (v: unknown, f: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v.trim() === "") throw bad(path, f, "must be a non-empty string");
    return v;
  };
  const bool = (v: unknown, f: string): boolean => {
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw bad(path, f, "must be true or false");
    return v;
  };
  const int = (v: unknown, f: string, def: number, min: number, max: number): number => {
    if (v === undefined || v === null) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw bad(path, f, `must be an integer from ${min} to ${max}`);
    }
    return v;
  };
  /** A list of `host[/namespace]` strings, normalised; [] when absent. */
  const hostPathList = (v: unknown, f: string, what: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw bad(path, f, "must be a list");
    return v.map((item, i) => {
      const text = str(item, `${f}[${i}]`);
      if (text === undefined) throw bad(path, `${f}[${i}]`, "must be a non-empty string");
      try {
        return formatHostPath(parseHostPath(text, what));
      } catch {
        throw bad(path, `${f}[${i}]`, 'must be a host with an optional namespace, e.g. "mirror.example/hub"');
      }
    });
  };
  /** A release age ("3d", "12h", "30m"), or undefined when absent. */
  const age = (v: unknown, f: string): string | undefined => {
    const text = str(v, f);
    if (text !== undefined && !/^\d+[smhdw]$/.test(text.trim())) {
      throw bad(path, f, 'must look like "3d", "12h" or "30m"');
    }
    return text;
  };
  const names = new Set<string>();
  const registries = mappingList(raw.registries, path, "registries", REGISTRY_KEYS).map(
    ({ entry: r, f }): ConfiguredRegistry => {
      const name = str(r.name, `${f}.name`);
      const url = str(r.url, `${f}.url`);
      if (!name) throw bad(path, `${f}.name`, "is required");
      if (!url) throw bad(path, `${f}.url`, "is required");
      if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
        throw bad(path, `${f}.name`, "may hold only a-z, 0-9, '_' and '-'");
      }
      if (names.has(name)) throw bad(path, `${f}.name`, `"${name}" is used twice`);
      names.add(name);
      let policy: CosignPolicy | undefined;
      if (r.cosign_policy !== undefined && r.cosign_policy !== null) {
        const p = r.cosign_policy;
        const pf = `${f}.cosign_policy`;
        if (!isObject(p)) throw bad(path, pf, "must be a mapping");
        checkKeys(p, path, pf, (k) => POLICY_KEYS.has(k) || POLICY_LIST_KEYS.has(k));
        const out: CosignPolicy = {};
        for (const k of POLICY_KEYS) {
          const v = str(p[k], `${pf}.${k}`);
          if (v !== undefined) (out as Record<string, string>)[k] = v;
        }
        for (const k of ["issuer_regex", "identity_regex"] as const) {
          if (out[k] !== undefined && !compiles(out[k]!)) {
            throw bad(path, `${pf}.${k}`, "is not a valid regular expression");
          }
        }
        if (out.issuer && out.issuer_regex) throw bad(path, pf, "sets both issuer and issuer_regex");
        if (out.identity && out.identity_regex) throw bad(path, pf, "sets both identity and identity_regex");
        if (!out.public_key) {
          if (!out.issuer && !out.issuer_regex) {
            throw bad(path, `${pf}.issuer`, "is required (or public_key)");
          }
          if (!out.identity && !out.identity_regex) {
            throw bad(path, `${pf}.identity`, "is required (or public_key)");
          }
        }
        if (p.accept !== undefined && p.accept !== null) {
          const list = p.accept;
          if (
            !Array.isArray(list) || list.length === 0 ||
            list.some((v) => typeof v !== "string" || !PROOF_KINDS.has(v)) ||
            new Set(list).size !== list.length
          ) {
            throw bad(
              path,
              `${pf}.accept`,
              "must be a list of signature and/or provenance, e.g. [signature, provenance]",
            );
          }
          out.accept = list as ProofKind[];
        }
        // Key and root files are trust anchors: a relative path names a file next to config.yaml, never one in
        // the current directory (a hostile checkout's cosign.pub must not verify its own images).
        for (const k of ["public_key", "trusted_root"] as const) {
          if (out[k] !== undefined && !isAbsolute(out[k]!)) out[k] = join(dirname(path), out[k]!);
        }
        if (out.max_vulnerability_severity && !SEVERITIES.has(out.max_vulnerability_severity)) {
          throw bad(path, `${pf}.max_vulnerability_severity`, "must be critical, high, medium, low or none");
        }
        policy = out;
      }
      const insecure = bool(r.insecure, `${f}.insecure`);
      const regMinAge = age(r.min_release_age, `${f}.min_release_age`);
      const crossCheck = hostPathList(r.cross_check, `${f}.cross_check`, "cross-check location");
      if (crossCheck.length > 0 && policy) {
        throw bad(
          path,
          `${f}.cross_check`,
          "is only for registries without a cosign_policy (unsigned installs)",
        );
      }
      return {
        name,
        url,
        ...(insecure ? { insecure } : {}),
        ...(policy ? { cosign_policy: policy } : {}),
        ...(regMinAge ? { min_release_age: regMinAge.trim() } : {}),
        ...(crossCheck.length > 0 ? { cross_check: crossCheck } : {}),
      };
    },
  );
  const defaultRegistry = str(raw.default_registry, "default_registry");
  if (defaultRegistry !== undefined && !names.has(defaultRegistry)) {
    throw bad(path, "default_registry", `names "${defaultRegistry}", which is not in registries`);
  }
  const minAge = age(raw.min_release_age, "min_release_age");
  const prefixes = new Set<string>();
  const mirrors = mappingList(raw.mirrors, path, "mirrors", MIRROR_KEYS).map(
    ({ entry: m, f }): MirrorEntry => {
      const prefixText = str(m.prefix, `${f}.prefix`);
      if (!prefixText) throw bad(path, `${f}.prefix`, "is required");
      let prefix: string;
      try {
        prefix = formatHostPath(parseHostPath(prefixText, "mirror prefix"));
      } catch {
        throw bad(
          path,
          `${f}.prefix`,
          'must be a host with an optional namespace, e.g. "docker.io/chainguard"',
        );
      }
      const key = hostPathKey(prefix, "mirror prefix");
      if (prefixes.has(key)) throw bad(path, `${f}.prefix`, `"${prefix}" is used twice`);
      prefixes.add(key);
      const locations = hostPathList(m.locations, `${f}.locations`, "mirror location");
      if (locations.length === 0) throw bad(path, `${f}.locations`, "must list at least one location");
      if (locations.some((l) => hostPathKey(l, "mirror location") === key)) {
        throw bad(path, `${f}.locations`, "must not include the prefix itself");
      }
      const mode = m.pull_from_mirror ?? "all";
      if (mode !== "all" && mode !== "digest-only") {
        throw bad(path, `${f}.pull_from_mirror`, "must be all or digest-only");
      }
      return { prefix, locations, pull_from_mirror: mode, insecure: bool(m.insecure, `${f}.insecure`) };
    },
  );
  return {
    version,
    ...(defaultRegistry ? { default_registry: defaultRegistry } : {}),
    always_allow_unsigned: bool(raw.always_allow_unsigned, "always_allow_unsigned"),
    registries,
    keep_versions: int(raw.keep_versions, "keep_versions", 2, 0, 100),
    concurrency: int(raw.concurrency, "concurrency", 4, 1, 32),
    layer_cache: raw.layer_cache === undefined ? true : bool(raw.layer_cache, "layer_cache"),
    ...(minAge ? { min_release_age: minAge } : {}),
    mirrors,
  };
}

/** Parses config text. Pure. */
export function parseConfigText(text: string, path: string): { config: Config; doc: Document } {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new DropzoneError("CONFIG_INVALID", `Invalid config ${path}: ${e.message.split("\n")[0]}`, {
      hint: `Fix the YAML syntax in ${path}`,
    });
  }
  return { config: validateConfig(doc.toJS(), path), doc };
}

/** The text written on first run. */
export function seedConfigText(): string {
  return SEED_TEXT;
}

/** Loads config.yaml, or the seed when it does not exist (the caller writes it on first run). */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  let seeded = false;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    text = SEED_TEXT;
    seeded = true;
  }
  const { config, doc } = parseConfigText(text, path);
  return { config, doc, path, seeded };
}

/** Writes the document atomically. */
export async function saveConfig(loaded: Pick<LoadedConfig, "doc" | "path">): Promise<void> {
  await writeFileAtomic(loaded.path, new TextEncoder().encode(String(loaded.doc)), { mode: 0o644 });
}

/** The document's `key` list, created empty when it is missing or not a list. */
function seqOf(doc: Document, key: "registries" | "mirrors"): YAMLSeq {
  let seq = doc.get(key);
  if (!isSeq(seq)) {
    doc.set(key, doc.createNode([]));
    seq = doc.get(key);
  }
  return seq as YAMLSeq;
}

/** Adds a registry to the document (pure edit; validate with {@linkcode revalidate}). */
export function addRegistryToDoc(doc: Document, entry: ConfiguredRegistry): void {
  const plain: Record<string, unknown> = { name: entry.name, url: entry.url };
  if (entry.insecure) plain.insecure = true;
  if (entry.cosign_policy) plain.cosign_policy = { ...entry.cosign_policy };
  seqOf(doc, "registries").add(doc.createNode(plain));
}

/**
 * Replaces a registry's url, insecure flag and policy in place (same position, its other keys such as
 * min_release_age and the comments around it kept); returns false when absent.
 */
export function replaceRegistryInDoc(doc: Document, entry: RegistryEntry): boolean {
  const item = seqOf(doc, "registries").items.find((i) => isMap(i) && i.get("name") === entry.name);
  if (!isMap(item)) return false;
  item.set("url", entry.url);
  if (entry.insecure) item.set("insecure", true);
  else item.delete("insecure");
  if (entry.cosign_policy) item.set("cosign_policy", doc.createNode({ ...entry.cosign_policy }));
  else item.delete("cosign_policy");
  return true;
}

/** Removes a registry by name; returns false when absent. Clears default_registry when it pointed there. */
export function removeRegistryFromDoc(doc: Document, name: string): boolean {
  const seq = seqOf(doc, "registries");
  const index = seq.items.findIndex((item) => isMap(item) && item.get("name") === name);
  if (index < 0) return false;
  seq.delete(index);
  if (doc.get("default_registry") === name) doc.delete("default_registry");
  return true;
}

/** True when a document value names the same `host[/namespace]` as `text` (a hand-written spelling counts). */
function sameHostPath(value: unknown, text: string): boolean {
  if (typeof value !== "string") return false;
  try {
    return hostPathKey(value, "mirror") === hostPathKey(text, "mirror");
  } catch {
    return false;
  }
}

/**
 * Adds a mirror location: appended to the entry for `prefix` when there is one (its mode and insecure flag are
 * updated), otherwise a new entry. Returns false when the location was already listed. Pure edit.
 */
export function addMirrorToDoc(
  doc: Document,
  entry: {
    prefix: string;
    location: string;
    pull_from_mirror: MirrorEntry["pull_from_mirror"];
    insecure: boolean;
  },
): boolean {
  const seq = seqOf(doc, "mirrors");
  const existing = seq.items.find((item) => isMap(item) && sameHostPath(item.get("prefix"), entry.prefix));
  if (!isMap(existing)) {
    const plain: Record<string, unknown> = { prefix: entry.prefix, locations: [entry.location] };
    if (entry.pull_from_mirror !== "all") plain.pull_from_mirror = entry.pull_from_mirror;
    if (entry.insecure) plain.insecure = true;
    seq.add(doc.createNode(plain));
    return true;
  }
  let locations = existing.get("locations");
  if (!isSeq(locations)) {
    existing.set("locations", doc.createNode([]));
    locations = existing.get("locations");
  }
  const list = locations as YAMLSeq;
  if (list.items.some((item) => sameHostPath(isScalar(item) ? item.value : item, entry.location))) {
    return false;
  }
  list.add(doc.createNode(entry.location));
  if (entry.pull_from_mirror !== "all") existing.set("pull_from_mirror", entry.pull_from_mirror);
  if (entry.insecure) existing.set("insecure", true);
  return true;
}

/**
 * Removes a mirror entry (or one of its locations; the entry goes when its last location does). Returns false
 * when nothing matched. Pure edit.
 */
export function removeMirrorFromDoc(doc: Document, prefix: string, location?: string): boolean {
  const seq = seqOf(doc, "mirrors");
  const index = seq.items.findIndex((item) => isMap(item) && sameHostPath(item.get("prefix"), prefix));
  if (index < 0) return false;
  const entry = seq.items[index];
  if (location === undefined || !isMap(entry)) {
    seq.delete(index);
    return true;
  }
  const locations = entry.get("locations");
  if (!isSeq(locations)) return false;
  const at = locations.items.findIndex((item) => sameHostPath(isScalar(item) ? item.value : item, location));
  if (at < 0) return false;
  locations.delete(at);
  if (locations.items.length === 0) seq.delete(index);
  return true;
}

/** Sets default_registry. */
export function setDefaultRegistryInDoc(doc: Document, name: string): void {
  doc.set("default_registry", name);
}

/** Re-validates an edited document. */
export function revalidate(doc: Document, path: string): Config {
  return validateConfig(doc.toJS(), path);
}

/** A fresh document from the seed (for tests and `purge`-then-reinit). */
export function seedDocument(): Document {
  return parseDocument(SEED_TEXT);
}

export { Document };
