/**
 * config.yaml as a document: parsed and edited through the `yaml` Document API so that a user's comments and
 * ordering survive every change dz makes, validated by config_values.ts. Commands that only read the config go
 * through config_values.ts `readConfig`, which loads this module (and `yaml`) only when it has to parse.
 */
import { hostPathKey, type MirrorEntry } from "../registry/mirrors.ts";
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from "yaml";
import { DropzoneError } from "../errors.ts";
import type { RegistryEntry } from "../oci/reference.ts";
import { writeFileAtomic } from "../fs.ts";
import { SEED_TEXT } from "./config_seed.ts";
import { type Config, type ConfiguredRegistry, validateConfig } from "./config_values.ts";

export {
  CHAINGUARD_POLICY,
  type Config,
  CONFIG_VERSION,
  type ConfiguredRegistry,
  SEED_REGISTRY,
  validateConfig,
} from "./config_values.ts";

/** A loaded config: the validated values plus the document that keeps comments for edits. */
export interface LoadedConfig {
  readonly config: Config;
  readonly doc: Document;
  readonly path: string;
  /** True when the file did not exist and was seeded (not yet written). */
  readonly seeded: boolean;
}

/**
 * Parses config text. Pure. `raw` is what the YAML says as plain values (before validation), for the parsed
 * copy config_values.ts keeps.
 */
export function parseConfigText(text: string, path: string): { config: Config; doc: Document; raw: unknown } {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new DropzoneError("CONFIG_INVALID", `Invalid config ${path}: ${e.message.split("\n")[0]}`, {
      hint: `Fix the YAML syntax in ${path}`,
    });
  }
  const raw: unknown = doc.toJS();
  return { config: validateConfig(raw, path), doc, raw };
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
