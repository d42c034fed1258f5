/**
 * `dz rollback`: switch a package back to a previously installed digest with history-stack semantics, and
 * regenerate its wrappers for that digest (the Go tool flipped the link only, so a version with another
 * entrypoint or loader ran through the wrong wrapper, and a second rollback toggled back).
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { Host } from "../runtime.ts";
import { removeWrapper } from "../shim/write.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { activate, readCurrent, rollbackTarget } from "../store/packages.ts";
import { planInstalledArtifact, writeArtifactLinks } from "./artifact.ts";
import { planForVersion, writeWrappers } from "./install.ts";

/** What rollback needs. */
export interface RollbackDeps {
  readonly layout: StoreLayout;
  readonly host: Host;
}

/** The result of a rollback. */
export interface RollbackOutcome {
  readonly from: PackageMetadata;
  readonly to: PackageMetadata;
  readonly wrappers: string[];
  /** Wrappers of the previous version the target does not have, removed. */
  readonly removedWrappers: string[];
}

/**
 * Parses `--to`: up to three decimal digits are a step count; anything else is a digest or hex prefix (at
 * least four hex characters, so a prefix like "1234" is a digest prefix, not 1234 steps). Pure.
 */
export function parseRollbackTo(to: string | undefined): number | string | undefined {
  if (to === undefined) return undefined;
  const trimmed = to.trim();
  return /^\d{1,3}$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * Rolls `name` back (one step, `to` steps, or to a digest or prefix). The wrapper plan for the target is built
 * before anything changes; then `current` flips (history pops back to the target), then the wrappers are
 * rewritten and wrappers the target does not have are removed. Wrappers run `<name>/current/rootfs`, so a
 * crash between the flip and the rewrite leaves a working package. Call it holding the store lock.
 */
export async function rollbackPackage(
  deps: RollbackDeps,
  name: string,
  to?: number | string,
): Promise<RollbackOutcome> {
  const current = await readCurrent(deps.layout, name);
  if (!current) {
    throw new DropzoneError("NOT_INSTALLED", `"${name}" is not installed`, {
      hint: `Run "dz list" to see installed packages`,
    });
  }
  let digest: Digest;
  let target: PackageMetadata;
  try {
    const t = await rollbackTarget(deps.layout, name, to === undefined ? {} : { to });
    digest = t.digest;
    target = t.version.metadata;
  } catch (err) {
    if (isDropzoneError(err, "NOT_INSTALLED")) {
      throw new DropzoneError("NOT_INSTALLED", `Cannot roll back "${name}": no previous version is kept`, {
        hint: `dz keeps previous versions after updates (keep_versions in config.yaml); ` +
          `see "dz info ${name}", or install another version with "dz install"`,
      });
    }
    if (isDropzoneError(err, "INVALID_ARGUMENT") && !err.hint) {
      throw new DropzoneError("INVALID_ARGUMENT", err.message, {
        hint: `Use "--to N" (steps back) or "--to <digest prefix>" of a version in "dz info ${name}"`,
      });
    }
    throw err;
  }
  // Plan first (the target must still run here), then flip, then rewrite what bin/ holds for it.
  let wrappers: string[];
  let keep: Set<string>;
  if (target.kind === "artifact") {
    const links = await planInstalledArtifact(deps.layout, target, deps.host);
    await activate(deps.layout, name, digest, { rollback: true });
    wrappers = await writeArtifactLinks(deps.layout, target);
    keep = new Set(links.map((l) => l.name));
  } else {
    const plan = await planForVersion(deps.layout, target, deps.host);
    await activate(deps.layout, name, digest, { rollback: true });
    wrappers = await writeWrappers(deps.layout, name, plan, digest);
    keep = new Set([plan.name, ...plan.extraBins.map((b) => b.name)]);
  }
  const removedWrappers: string[] = [];
  for (const bin of current.metadata.bins) {
    if (keep.has(bin.name)) continue;
    if (await removeWrapper(deps.layout.bin, bin.name).catch(() => false)) removedWrappers.push(bin.name);
  }
  return { from: current.metadata, to: target, wrappers, removedWrappers };
}
