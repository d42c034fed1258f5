/**
 * `dz update [name] [--check] [--all] [--yes] [--json] [--allow-unsigned]`.
 *
 * - Checks every installed package (or only `name`) concurrently: a HEAD of the recorded tag compared with the
 *   recorded index digest, and the newer tags in the tag's track. Results go to stdout as a table
 *   (`NAME  INSTALLED  AVAILABLE  REASON`) or, with `--json`, as the array documented on `UpdateCheck`.
 * - `--check`: only check. Exit 100 when any update is available, else 1 when any check could not run, else 0.
 * - Without `--yes` (and without `--all`) it only reports and hints how to apply. Exit 1 when a check failed.
 * - `--yes` applies: `dz update NAME --yes` installs that package's target (the newest tag in its track, else
 *   the rebuilt same tag); `dz update --all --yes` does that for every package; `dz update --yes` alone
 *   applies same-tag rebuilds only, since moving to another tag needs the user to name the package or pass
 *   `--all`. `--all` without `--yes` asks on a terminal and refuses (exit 1, hint `--yes`) without one.
 * - Each available update's target is resolved and verified (no layers) to tell a downgrade (signed before the
 *   installed version: `DOWNGRADE` in the table, `downgrade: true` in JSON) from a rebuild.
 * - Every apply is a full install through the trust gate. A failing package does not stop the others; the
 *   command then exits 3 when any failure was a trust failure (bad or missing signature, changed signer
 *   without `--accept-new-signer`, a downgrade without `--allow-downgrade`), else 1 (a release younger than
 *   `--min-age` is RELEASE_TOO_NEW, exit 1).
 */
import {
  type ApplyResult,
  applyUpdate,
  checkExitCode,
  checkUpdates,
  type UpdateCheck,
} from "../../app/update.ts";
import { selectUpdates } from "../../app/update_plan.ts";
import { pinnedError } from "../../app/pin.ts";
import { pinnedNames } from "../../store/pins.ts";
import { renderChangelog } from "../changelog_render.ts";
import { previewUpdate, type UpdatePreview } from "../../app/update_preview.ts";
import { EXIT, exitCodeFor } from "../../errors.ts";
import { shortDigest } from "../../oci/digest.ts";
import type { PackageMetadata } from "../../store/metadata.ts";
import { listPackageStates, type PackageState } from "../../store/package_state.ts";
import { readCurrent } from "../../store/packages.ts";
import type { CliContext } from "../context.ts";
import { installProgress } from "../progress.ts";
import { formatError, json, plural, table } from "../render.ts";
import { createClient, createTrustLoader } from "../services.ts";
import { confirm, installDeps, requireInstalled, withStoreLock } from "./shared.ts";

/** Options of `dz update`. */
export interface UpdateOptions {
  check?: boolean;
  all?: boolean;
  yes?: boolean;
  json?: boolean;
  /** Verify each available update's attestations and show what it changes (costs manifest GETs). */
  changelog?: boolean;
  allowUnsigned?: boolean;
  acceptNewSigner?: boolean;
  allowDowngrade?: boolean;
  minAge?: string;
  /** Say what would be updated; change nothing. */
  dryRun?: boolean;
}

/** The check row of a damaged package: nothing can be checked until it is repaired or removed. */
function damagedCheck(s: PackageState & { state: "damaged" }): UpdateCheck {
  const digest = s.digest ?? s.metadata?.digest ?? null;
  return {
    name: s.name,
    tag: s.metadata?.tag ?? null,
    installed_digest: digest as UpdateCheck["installed_digest"],
    installed_index_digest: s.metadata?.index_digest ?? null,
    current_digest: null,
    rebuild: false,
    newer_tags: [],
    target_tag: null,
    downgrade: null,
    error: `damaged: ${s.reason}; run "dz doctor --fix" or "dz remove ${s.name}"`,
  };
}

function row(check: UpdateCheck, pinned: boolean): string[] {
  const cells = rowCells(check);
  if (pinned) cells[3] = cells[3] === "-" ? "pinned" : `pinned; ${cells[3]}`;
  return cells;
}

function rowCells(check: UpdateCheck): string[] {
  const installed = `${check.tag ?? "(digest)"} (${
    check.installed_digest ? shortDigest(check.installed_digest) : "-"
  })`;
  if (check.error !== null && check.current_digest === null) {
    return [check.name, installed, "<unreachable>", check.error];
  }
  if (check.tag === null) return [check.name, installed, "-", "pinned by digest; nothing to check"];
  const reasons: string[] = [];
  let available = "up to date";
  if (check.rebuild) {
    available = `${check.tag} (${shortDigest(check.current_digest ?? "")})`;
    reasons.push("same-tag rebuild");
  }
  if (check.newer_tags.length > 0) {
    if (!check.rebuild) available = check.newer_tags.join(", ");
    reasons.push(check.rebuild ? `newer tags: ${check.newer_tags.join(", ")}` : "newer tag");
  }
  if (check.downgrade === true) reasons.push("DOWNGRADE: signed before the installed version");
  if (check.error !== null) reasons.push(check.error);
  return [check.name, installed, available, reasons.length ? reasons.join(", ") : "-"];
}

/** dz update */
export async function update(
  ctx: CliContext,
  name: string | undefined,
  opts: UpdateOptions,
): Promise<number> {
  const { config } = await ctx.config();
  // Damaged packages are never silently left out: they get a row whose error says what is wrong.
  const states = name ? [] : await listPackageStates(ctx.layout);
  const packages: PackageMetadata[] = name
    ? [await requireInstalled(ctx, name)]
    : states.flatMap((s) => s.state === "ok" ? [s.version.metadata] : []);
  const damaged = states.flatMap((s) => s.state === "damaged" ? [damagedCheck(s)] : []);
  if (packages.length === 0 && damaged.length === 0) {
    if (opts.json) ctx.out(json([]));
    else ctx.log.info("No packages installed.");
    return EXIT.OK;
  }
  const pinned = await pinnedNames(ctx.layout, packages.map((p) => p.name));
  const applying = !opts.check && (opts.yes === true || opts.dryRun === true || opts.all === true);
  // Refused before any network access: a pinned package named for an update stays as it is.
  if (name !== undefined && applying && pinned.has(name)) throw pinnedError(name);
  // Tags resolve on the upstream when it is reachable, so a stale mirror cannot hide an update (or make one up);
  // content addressed by digest still comes from the mirrors.
  const client = createClient(ctx, config, { tagsUpstreamFirst: true });
  const rawChecks = await checkUpdates(packages, {
    client,
    registries: config.registries,
    concurrency: config.concurrency,
    ...(ctx.runtime.signal ? { signal: ctx.runtime.signal } : {}),
  });
  // Each available update is resolved and verified (no layers): that tells a downgrade (a tag moved back to an
  // older signed digest) from a rebuild, and gives the --changelog.
  const previews = new Map<string, UpdatePreview>();
  const loadTrust = createTrustLoader(ctx);
  for (const [i, c] of rawChecks.entries()) {
    if (c.target_tag === null || c.error !== null) continue;
    previews.set(
      c.name,
      await previewUpdate(packages[i]!, c, {
        client,
        registries: config.registries,
        host: ctx.runtime.host,
        config,
        loadTrust,
        now: ctx.runtime.now(),
        ...(ctx.runtime.signal ? { signal: ctx.runtime.signal } : {}),
      }),
    );
  }
  const checks = [
    ...rawChecks.map((c) => ({ ...c, downgrade: previews.get(c.name)?.downgrade ?? null })),
    ...damaged,
  ].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (opts.json) {
    ctx.out(json(checks.map((c) => ({
      ...c,
      pinned: pinned.has(c.name),
      ...(opts.changelog
        ? {
          changelog: previews.get(c.name)?.changelog ?? null,
          changelog_error: previews.get(c.name)?.error ?? null,
        }
        : {}),
    }))));
  } else {
    ctx.out(table(
      ["NAME", "INSTALLED", "AVAILABLE", "REASON"],
      checks.map((c) => row(c, pinned.has(c.name))),
      { width: ctx.terminalWidth(), shrink: [3, 2] },
    ));
    for (const [pkg, p] of opts.changelog ? previews : []) {
      const lines = p.changelog ? renderChangelog(p.changelog) : [`changelog unavailable: ${p.error}`];
      ctx.out(`\n${pkg}:\n  ${lines.join("\n  ")}\n`);
    }
  }

  const explicit = name !== undefined || opts.all === true;
  const selection = selectUpdates(checks, { explicit, pinned });
  const failedChecks = selection.failed.length > 0;
  if (opts.check) return checkExitCode(checks.filter((c) => !pinned.has(c.name)));
  const { targets, skippedTagMoves } = selection;
  if (selection.pinned.length > 0 && (applying || targets.length > 0)) {
    ctx.log.info(
      `Not updating pinned ${
        selection.pinned.map((c) => c.name).join(", ")
      }; "dz unpin NAME" lets dz update it`,
    );
  }

  if (targets.length === 0) {
    if (failedChecks) {
      ctx.log.warn(
        `could not check ${selection.failed.map((c) => c.name).join(", ")}` +
          (skippedTagMoves.length + selection.available.length > 0 ? "" : "; nothing was updated") +
          " (see REASON; run again with --verbose for details)",
      );
    }
    if (skippedTagMoves.length > 0) {
      ctx.log.info(
        `Newer tags are available; move to them with "dz update <name> --yes" or "dz update --all --yes"`,
      );
    } else if (!failedChecks && selection.pinned.length === 0) ctx.log.info("Everything is up to date.");
    else if (!failedChecks) ctx.log.info("Everything that is not pinned is up to date.");
    return failedChecks ? EXIT.FAILURE : EXIT.OK;
  }
  if (opts.dryRun) {
    for (const { check, tag } of targets) {
      const to = check.rebuild && tag === check.tag
        ? `${tag} (rebuild ${shortDigest(check.current_digest ?? "")})`
        : tag;
      ctx.log.info(
        `Would update ${check.name} ${check.tag ?? ""} (${
          shortDigest(check.installed_digest ?? "")
        }) -> ${to}`,
      );
    }
    if (skippedTagMoves.length > 0) {
      ctx.log.info(
        `Would not move ${
          skippedTagMoves.map((c) => c.name).join(", ")
        } to a newer tag (needs NAME or --all)`,
      );
    }
    ctx.log.info(`Dry run: ${plural(targets.length, "update")} would be applied; nothing was changed`);
    return failedChecks ? EXIT.FAILURE : EXIT.OK;
  }
  if (!opts.yes) {
    if (!opts.all) {
      const moves = skippedTagMoves.filter((c) => !targets.some((t) => t.check.name === c.name)).length;
      const how = name
        ? `"dz update ${name} --yes"`
        : moves > 0
        ? `"dz update --yes" (rebuilds) or "dz update --all --yes" (also newer tags)`
        : `"dz update --yes"`;
      ctx.log.info(`${plural(selection.available.length, "update")} available; apply with ${how}`);
      return failedChecks ? EXIT.FAILURE : EXIT.OK;
    }
    await confirm(ctx, `Apply ${plural(targets.length, "update")}?`, false);
  }
  if (skippedTagMoves.length > 0) {
    ctx.log.info(
      `Not moving ${skippedTagMoves.map((c) => c.name).join(", ")} to a newer tag without consent; ` +
        `use "dz update <name> --yes" or "dz update --all --yes"`,
    );
  }

  let exit: number = failedChecks ? EXIT.FAILURE : EXIT.OK;
  await withStoreLock(ctx, async () => {
    for (const { check, tag } of targets) {
      const current = await readCurrent(ctx.layout, check.name);
      if (!current) {
        ctx.log.warn(`${check.name} was removed meanwhile; skipping it`);
        continue;
      }
      const meta = current.metadata;
      ctx.log.info(`Updating ${check.name} ${meta.tag ?? ""} -> ${tag}…`);
      const progress = installProgress(ctx);
      let result: ApplyResult;
      try {
        result = await applyUpdate(
          installDeps(ctx, { config, client, loadTrust: createTrustLoader(ctx), onEvent: progress.onEvent }),
          meta,
          tag,
          {
            allowUnsigned: opts.allowUnsigned === true,
            acceptNewSigner: opts.acceptNewSigner === true,
            allowDowngrade: opts.allowDowngrade === true,
            ...(opts.minAge !== undefined ? { minAge: opts.minAge } : {}),
            registries: config.registries,
          },
        )
          .finally(progress.done);
      } catch (err) {
        ctx.runtime.signal?.throwIfAborted();
        ctx.runtime.stderr.write(formatError(err, { verbose: ctx.options.verbose }));
        ctx.log.info(`  ${check.name}: failed; the installed version is unchanged`);
        const code = exitCodeFor(err);
        if (code === EXIT.TRUST || exit === EXIT.OK) exit = code === EXIT.TRUST ? EXIT.TRUST : EXIT.FAILURE;
        continue;
      }
      const m = result.outcome.metadata;
      if (result.outcome.status === "unchanged") {
        ctx.log.info(
          `  ${check.name}: this platform's image is unchanged (${shortDigest(m.digest)})` +
            (result.indexRefreshed ? "; recorded the new index digest" : ""),
        );
      } else {
        const prev = result.outcome.previous;
        ctx.log.info(
          `  Updated ${check.name} to ${m.tag ?? tag} (${shortDigest(m.digest)})` +
            (prev ? `, replacing ${shortDigest(prev.digest)}` : "") +
            (result.outcome.pruned.length ? `; pruned ${result.outcome.pruned.length} old version(s)` : "") +
            (result.outcome.layers
              ? `; layers: ${result.outcome.layers.reused} reused from the layer cache, ` +
                `${result.outcome.layers.extracted} extracted`
              : ""),
        );
      }
    }
  });
  return exit;
}
