/**
 * `dz rollback`: switch a package back to a previously installed digest with history-stack semantics, and
 * regenerate its wrappers for that digest (the Go tool flipped the link only, so a version with another
 * entrypoint or loader ran through the wrong wrapper, and a second rollback toggled back). A digest that
 * `keep_versions` pruned is reinstalled from its recorded source through the install gate (signature verified
 * again, same policy and signer pin, never refused as a downgrade), reusing cached blobs and layer snapshots.
 */
import { DropzoneError, isDropzoneError } from "../errors.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";
import type { Host } from "../runtime.ts";
import { removeWrapper } from "../shim/write.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { activate, listVersions, readCurrent, rollbackTarget } from "../store/packages.ts";
import { choosePruned, readPruned } from "../store/pruned.ts";
import { planInstalledArtifact, writeArtifactLinks } from "./artifact.ts";
import { type InstallDeps, installPackage, planForVersion, writeWrappers } from "./install.ts";
import { installedSource } from "./install_plan.ts";
import type { RootfsBuild } from "./layers.ts";
import { sourceReference } from "./update.ts";

/** What rollback needs. */
export interface RollbackDeps {
  readonly layout: StoreLayout;
  readonly host: Host;
  /**
   * What reinstalling a pruned version needs (called only then, so a plain rollback opens no registry client).
   * Without it a pruned digest is refused like one that was never installed.
   */
  readonly reinstall?: () => Promise<InstallDeps>;
}

/** The result of a rollback. */
export interface RollbackOutcome {
  readonly from: PackageMetadata;
  readonly to: PackageMetadata;
  readonly wrappers: string[];
  /** Wrappers of the previous version the target does not have, removed. */
  readonly removedWrappers: string[];
  /** Set when the target had been pruned and was reinstalled from its recorded source (`host/repository`). */
  readonly reinstalled: { readonly source: string; readonly layers: RootfsBuild | null } | null;
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
  if (typeof to === "string" && deps.reinstall !== undefined) {
    const installed = (await listVersions(deps.layout, name)).filter((v) => v.complete).map((v) => v.digest);
    const receipt = choosePruned({ name, to, installed, pruned: await readPruned(deps.layout, name) });
    if (receipt !== undefined) {
      return await reinstallPruned(await deps.reinstall(), current.metadata, receipt);
    }
  }
  let digest: Digest;
  let target: PackageMetadata;
  try {
    const t = await rollbackTarget(deps.layout, name, to === undefined ? {} : { to });
    digest = t.digest;
    target = t.version.metadata;
  } catch (err) {
    if (isDropzoneError(err, "NOT_INSTALLED")) {
      const pruned = (await readPruned(deps.layout, name)).find((m) => m.digest !== current.digest);
      throw new DropzoneError("NOT_INSTALLED", `Cannot roll back "${name}": no previous version is kept`, {
        hint: pruned
          ? `keep_versions pruned the earlier versions; "dz rollback ${name} --to ${
            shortDigest(pruned.digest)
          }" reinstalls the last one (verified again)`
          : `dz keeps previous versions after updates (keep_versions in config.yaml); ` +
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
  return { from: current.metadata, to: target, wrappers, removedWrappers, reinstalled: null };
}

/**
 * Reinstalls the pruned version `receipt` describes, as `origin: "rollback"`: its recorded source at its tag and
 * digest (the index it came through, so a signature on the index still counts), its extra wrappers or artifact
 * file, and the digest it must resolve to. The install gate decides trust as for any install.
 */
async function reinstallPruned(
  deps: InstallDeps,
  current: PackageMetadata,
  receipt: PackageMetadata,
): Promise<RollbackOutcome> {
  const top = receipt.index_digest ?? receipt.digest;
  const suffix = `${receipt.tag === null ? "" : `:${receipt.tag}`}@${top}`;
  const ref = sourceReference(receipt, suffix, deps.config.registries);
  const outcome = await installPackage(deps, {
    origin: "rollback",
    ref,
    name: receipt.name,
    rollbackTo: receipt.digest,
    ...(receipt.kind === "artifact" && receipt.artifact_file !== null
      ? { file: receipt.artifact_file }
      : { bins: receipt.bins.slice(1).map((b) => `${b.path}:${b.name}`) }),
  });
  const kept = new Set(outcome.metadata.bins.map((b) => b.name));
  return {
    from: current,
    to: outcome.metadata,
    wrappers: outcome.wrappers,
    removedWrappers: current.bins.map((b) => b.name).filter((n) => !kept.has(n)),
    reinstalled: { source: installedSource(receipt), layers: outcome.layers ?? null },
  };
}
