/**
 * The validated configuration, without the YAML machinery: its types, the validation of a parsed config.yaml
 * (errors name the bad field), and {@linkcode readConfig}, which commands that only read the config use. The
 * `yaml` library takes ~45 ms to load under Deno (it is CommonJS), more than the rest of a quick command's own
 * work, so readConfig keeps what a parse of config.yaml produced in `cache/config.json`, bound to the exact bytes
 * it came from, and validates that again on every read; config.ts (the document API) is loaded only when there
 * is no usable copy, and for edits.
 */
import { dirname, isAbsolute, join } from "node:path";
import meta from "../../deno.json" with { type: "json" };
import { DropzoneError } from "../errors.ts";
import { toHex } from "../encoding.ts";
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

/** A config as commands read it: the validated values, the file, and whether it was missing (seed values). */
export interface ReadConfig {
  readonly config: Config;
  readonly path: string;
  /** True when config.yaml did not exist and the seed's values were used. */
  readonly seeded: boolean;
}

/** Options for {@linkcode readConfig}. */
export interface ReadConfigOptions {
  /** Where the parsed copy is kept (`cache/config.parsed.json`); without it every read parses the YAML. */
  readonly copyFile?: string;
}

/** The shape of the parsed copy; bumped when it changes. */
const COPY_SCHEMA = 1;

/**
 * The YAML parser the copy came from (deno.json pins it): another parser version might read the same bytes
 * differently, so its copies are not used.
 */
const PARSER: string = meta.imports.yaml;

/** The parsed copy of config.yaml: what the YAML says as plain values, before validation. */
interface ParsedCopy {
  readonly schema: number;
  readonly parser: string;
  /** sha256 (hex) of the exact config.yaml bytes `raw` was parsed from. */
  readonly source_sha256: string;
  readonly raw: unknown;
}

/**
 * True for values a JSON round trip keeps exactly: null, booleans, finite numbers, strings, and arrays and plain
 * objects of those. YAML can say more (`.inf`, `.nan`, non-string keys become strings, dates with a custom
 * schema); a config that does is never copied, so its copy cannot validate where the YAML would not.
 */
export function isPlainData(value: unknown): boolean {
  if (value === null || typeof value === "boolean" || typeof value === "string") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainData);
  if (typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value as Record<string, unknown>).every(isPlainData);
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** The copy's raw values when it was parsed from exactly `sourceSha256` by this parser; else undefined. */
async function readCopy(copyFile: string, sourceSha256: string): Promise<{ raw: unknown } | undefined> {
  let copy: Partial<ParsedCopy>;
  try {
    copy = JSON.parse(await Deno.readTextFile(copyFile)) as Partial<ParsedCopy>;
  } catch {
    return undefined; // absent, unreadable or half-written by a killed dz: parse the YAML
  }
  if (typeof copy !== "object" || copy === null) return undefined;
  if (copy.schema !== COPY_SCHEMA || copy.parser !== PARSER || copy.source_sha256 !== sourceSha256) {
    return undefined;
  }
  return { raw: copy.raw };
}

/**
 * Reads config.yaml (the seed's values when it does not exist) and validates it. With `copyFile`, the values of
 * a previous parse of the very same bytes are validated instead of parsing the YAML again (see the module
 * comment); anything else about the copy (another file, another parser, damaged, or values that no longer
 * validate) means a parse, whose errors name the YAML's own fields, and a new copy (written 0600, best effort:
 * a read-only home still reads its config).
 */
export async function readConfig(path: string, options: ReadConfigOptions = {}): Promise<ReadConfig> {
  let bytes: Uint8Array<ArrayBuffer>;
  let seeded = false;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    bytes = new TextEncoder().encode(SEED_TEXT);
    seeded = true;
  }
  const { copyFile } = options;
  const sourceSha256 = copyFile !== undefined ? await sha256Hex(bytes) : "";
  const copy = copyFile !== undefined ? await readCopy(copyFile, sourceSha256) : undefined;
  if (copy !== undefined) {
    try {
      return { config: validateConfig(copy.raw, path), path, seeded };
    } catch {
      // Parsed below: the same verdict, from the YAML itself.
    }
  }
  const { parseConfigText } = await import("./config.ts");
  const parsed = parseConfigText(new TextDecoder().decode(bytes), path);
  if (copyFile !== undefined && isPlainData(parsed.raw)) {
    const record: ParsedCopy = {
      schema: COPY_SCHEMA,
      parser: PARSER,
      source_sha256: sourceSha256,
      raw: parsed.raw,
    };
    await writeFileAtomic(copyFile, JSON.stringify(record), { mode: 0o600 }).catch(() => {});
  }
  return { config: parsed.config, path, seeded };
}
