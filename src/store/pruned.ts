/**
 * Receipts of versions `keep_versions` pruned (`packages/<name>/pruned.json`, next to history.json): the
 * metadata.json each had, so `dz rollback NAME --to <digest>` can reinstall a pruned version from its recorded
 * source. A receipt grants nothing: the reinstall verifies the signature again through the install gate. It
 * lives and dies with the package directory (`dz remove` forgets it).
 */
import { join } from "../path.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import { DropzoneError } from "../errors.ts";
import { readTextIfExists, writeJsonAtomic } from "../fs.ts";
import type { StoreLayout } from "./layout.ts";
import { type PackageMetadata, parseMetadata } from "./metadata.ts";

/** Name of the receipts file inside `packages/<name>/`. */
export const PRUNED_FILE = "pruned.json";
/** Receipts kept per package, most recently pruned first; older ones are forgotten. */
export const MAX_PRUNED_RECEIPTS = 20;
const SCHEMA_VERSION = 1;

/**
 * Parses pruned.json text. Receipts this dz cannot read (damaged, a newer schema) are skipped: a lost receipt
 * only means that version cannot be reinstalled by rollback. Pure.
 */
export function parsePruned(text: string, path: string): PackageMetadata[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const pruned = (value as { pruned?: unknown } | null)?.pruned;
  if (!Array.isArray(pruned)) return [];
  const out: PackageMetadata[] = [];
  for (const item of pruned) {
    try {
      out.push(parseMetadata(JSON.stringify(item), path));
    } catch (err) {
      if (!(err instanceof DropzoneError)) throw err;
    }
  }
  return out;
}

/** The receipts after pruning `removed`: newest first, one per digest, at most `max`. Pure. */
export function mergePruned(
  existing: readonly PackageMetadata[],
  removed: readonly PackageMetadata[],
  max: number = MAX_PRUNED_RECEIPTS,
): PackageMetadata[] {
  const out: PackageMetadata[] = [];
  for (const m of [...removed, ...existing]) {
    if (!out.some((o) => o.digest === m.digest)) out.push(m);
  }
  return out.slice(0, Math.max(0, max));
}

/**
 * The pruned receipt a rollback target names: `to` is a digest or hex prefix (as `dz rollback --to` takes it)
 * that matches no installed version (`installed`) and exactly one receipt. Undefined when it matches none (or
 * an installed version: the ordinary rollback handles that); INVALID_ARGUMENT when it matches several. Pure.
 */
export function choosePruned(input: {
  readonly name: string;
  readonly to: string;
  readonly installed: readonly Digest[];
  readonly pruned: readonly PackageMetadata[];
}): PackageMetadata | undefined {
  const wanted = input.to.trim().toLowerCase().replace(/^sha256[:-]/, "");
  if (wanted.length < 4 || /[^0-9a-f]/.test(wanted)) return undefined;
  const matches = (d: Digest) => d.slice("sha256:".length).startsWith(wanted);
  if (input.installed.some(matches)) return undefined;
  const found = input.pruned.filter((m) => matches(m.digest));
  if (found.length > 1) {
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Rollback target "${input.to}" is ambiguous for "${input.name}"`,
      {
        hint: `Give more characters; it matches ${found.map((m) => shortDigest(m.digest)).join(", ")}`,
      },
    );
  }
  return found[0];
}

function prunedPath(layout: StoreLayout, name: string): string {
  return join(layout.packages, name, PRUNED_FILE);
}

/** The receipts of `name`'s pruned versions, most recently pruned first ([] when none). */
export async function readPruned(layout: StoreLayout, name: string): Promise<PackageMetadata[]> {
  const path = prunedPath(layout, name);
  const text = await readTextIfExists(path);
  return text === undefined ? [] : parsePruned(text, path);
}

/**
 * Adds the receipts of versions about to be pruned (atomic write). Call it before removing their directories,
 * holding the store lock: a crash in between leaves a receipt for a version still present, which is harmless.
 */
export async function recordPruned(
  layout: StoreLayout,
  name: string,
  removed: readonly PackageMetadata[],
): Promise<void> {
  if (removed.length === 0) return;
  const merged = mergePruned(await readPruned(layout, name), removed);
  await writeJsonAtomic(prunedPath(layout, name), { schema_version: SCHEMA_VERSION, pruned: merged });
}
