/**
 * Package pins (`dz pin NAME`): `packages/<name>/pin.json`, next to `history.json`, so a pin lives and dies
 * with its package (removing the package removes the pin) and is written atomically (temp file + rename).
 *
 * ```json
 * { "version": 1, "pinned_at": "2026-12-01T15:20:00.000Z", "digest": "sha256:…" }
 * ```
 *
 * `digest` is the version that was current when pinned (for display); a pin keeps the package out of
 * `dz update --all` / `dz update --yes` whatever is current.
 */
import { join } from "../path.ts";
import type { Digest } from "../oci/digest.ts";
import { readTextIfExists, removeIfExists, writeJsonAtomic } from "../fs.ts";
import type { StoreLayout } from "./layout.ts";
import { packageDir } from "./packages.ts";

/** The file name of a package's pin. */
export const PIN_FILE = "pin.json";

/** A package's pin. */
export interface Pin {
  readonly version: 1;
  readonly pinned_at: string;
  readonly digest: Digest;
}

function pinPath(layout: StoreLayout, name: string): string {
  return join(packageDir(layout, name), PIN_FILE);
}

/** The pin of `name`, or undefined. A pin file that cannot be parsed still pins (fail safe: never update). */
export async function readPin(layout: StoreLayout, name: string): Promise<Pin | undefined> {
  const path = pinPath(layout, name);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    const doc = JSON.parse(text) as Partial<Pin>;
    return {
      version: 1,
      pinned_at: typeof doc.pinned_at === "string" ? doc.pinned_at : "",
      digest: (typeof doc.digest === "string" ? doc.digest : "") as Digest,
    };
  } catch {
    return { version: 1, pinned_at: "", digest: "" as Digest };
  }
}

/** Names of the pinned packages among `names`. */
export async function pinnedNames(layout: StoreLayout, names: readonly string[]): Promise<Set<string>> {
  const pins = await Promise.all(names.map(async (n) => [n, await readPin(layout, n)] as const));
  return new Set(pins.filter(([, p]) => p !== undefined).map(([n]) => n));
}

/** Pins `name` at `digest`. Call it holding the store lock, for an installed package. */
export async function writePin(layout: StoreLayout, name: string, digest: Digest, now: Date): Promise<void> {
  const pin: Pin = { version: 1, pinned_at: now.toISOString(), digest };
  await writeJsonAtomic(pinPath(layout, name), pin);
}

/** Removes the pin of `name`; false when there was none. Call it holding the store lock. */
export async function removePin(layout: StoreLayout, name: string): Promise<boolean> {
  return await removeIfExists(pinPath(layout, name));
}
