/** `dz pin NAME` / `dz unpin NAME`: keep a package out of `dz update --all` and `dz update --yes`. */
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { StoreLayout } from "../store/layout.ts";
import { readCurrent } from "../store/packages.ts";
import { readPin, removePin, writePin } from "../store/pins.ts";

/** What pinning or unpinning did. */
export interface PinOutcome {
  readonly name: string;
  /** False when the package already was in the asked state. */
  readonly changed: boolean;
  /** The current digest of the package. */
  readonly digest: Digest;
}

async function current(layout: StoreLayout, name: string): Promise<Digest> {
  const version = await readCurrent(layout, name);
  if (!version) {
    throw new DropzoneError("NOT_INSTALLED", `"${name}" is not installed`, {
      hint: 'Run "dz list" to see installed packages',
    });
  }
  return version.digest;
}

/** Pins an installed package. Call it holding the store lock. */
export async function pinPackage(layout: StoreLayout, name: string, now: Date): Promise<PinOutcome> {
  const digest = await current(layout, name);
  if (await readPin(layout, name)) return { name, changed: false, digest };
  await writePin(layout, name, digest, now);
  return { name, changed: true, digest };
}

/** Unpins an installed package. Call it holding the store lock. */
export async function unpinPackage(layout: StoreLayout, name: string): Promise<PinOutcome> {
  const digest = await current(layout, name);
  return { name, changed: await removePin(layout, name), digest };
}

/** The refusal for applying an update to a pinned package by name. */
export function pinnedError(name: string): DropzoneError {
  return new DropzoneError("PINNED", `"${name}" is pinned; dz does not update it`, {
    hint: `Run "dz unpin ${name}" first to let dz update it`,
  });
}
