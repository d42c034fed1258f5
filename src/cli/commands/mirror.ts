/** `dz add mirror`, `dz list mirrors`, `dz remove mirror`. */
import { DropzoneError } from "../../errors.ts";
import { formatHostPath, parseHostPath } from "../../registry/mirrors.ts";
import { addMirrorToDoc, removeMirrorFromDoc, revalidate, saveConfig } from "../../store/config.ts";
import type { CliContext } from "../context.ts";
import { json, table } from "../render.ts";
import { withStoreLock } from "./shared.ts";

/** One row of `dz list mirrors --json` (one per location, in the order they are tried). */
export interface MirrorRow {
  prefix: string;
  location: string;
  pull_from_mirror: "all" | "digest-only";
  insecure: boolean;
}

/** dz add mirror PREFIX LOCATION */
export async function addMirror(
  ctx: CliContext,
  prefixText: string,
  locationText: string,
  opts: { digestOnly?: boolean; insecure?: boolean },
): Promise<void> {
  const prefix = formatHostPath(parseHostPath(prefixText, "mirror prefix"));
  const location = formatHostPath(parseHostPath(locationText, "mirror location"));
  if (prefix === location) {
    throw new DropzoneError("INVALID_ARGUMENT", `Mirror location ${location} is the prefix itself`, {
      hint: "A mirror is another place serving the same images, e.g. dz add mirror docker.io 127.0.0.1:5000",
    });
  }
  let added = false;
  await withStoreLock(ctx, async () => {
    const loaded = await ctx.editableConfig();
    added = addMirrorToDoc(loaded.doc, {
      prefix,
      location,
      pull_from_mirror: opts.digestOnly ? "digest-only" : "all",
      insecure: opts.insecure === true,
    });
    revalidate(loaded.doc, loaded.path);
    if (added) await saveConfig(loaded);
  });
  if (!added) {
    ctx.log.info(`${location} is already a mirror for ${prefix}; nothing changed`);
    return;
  }
  ctx.log.info(
    `Added mirror ${location} for ${prefix}${
      opts.digestOnly ? " (digest-only: tags still resolve upstream)" : ""
    }` +
      `\nImages under ${prefix} are still verified against the upstream's policy.`,
  );
}

/** dz remove mirror PREFIX [LOCATION] */
export async function removeMirror(
  ctx: CliContext,
  prefixText: string,
  locationText?: string,
): Promise<void> {
  const prefix = formatHostPath(parseHostPath(prefixText, "mirror prefix"));
  const location = locationText === undefined
    ? undefined
    : formatHostPath(parseHostPath(locationText, "mirror location"));
  await withStoreLock(ctx, async () => {
    const loaded = await ctx.editableConfig();
    if (!removeMirrorFromDoc(loaded.doc, prefix, location)) {
      throw new DropzoneError(
        "INVALID_ARGUMENT",
        location ? `No mirror ${location} for ${prefix}` : `No mirrors for ${prefix}`,
        { hint: 'Run "dz list mirrors" to see the configured prefixes and locations' },
      );
    }
    revalidate(loaded.doc, loaded.path);
    await saveConfig(loaded);
  });
  ctx.log.info(location ? `Removed mirror ${location} for ${prefix}` : `Removed the mirrors for ${prefix}`);
}

/** dz list mirrors */
export async function listMirrors(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const { config } = await ctx.config();
  const rows: MirrorRow[] = config.mirrors.flatMap((m) =>
    m.locations.map((location) => ({
      prefix: m.prefix,
      location,
      pull_from_mirror: m.pull_from_mirror,
      insecure: m.insecure,
    }))
  );
  if (opts.json) {
    ctx.out(json(rows));
    return;
  }
  if (rows.length === 0) {
    ctx.log.info('No mirrors configured. Add one with "dz add mirror <prefix> <location>".');
    return;
  }
  ctx.out(table(
    ["PREFIX", "LOCATION", "PULL", "INSECURE"],
    rows.map((r) => [r.prefix, r.location, r.pull_from_mirror, r.insecure ? "yes" : "no"]),
  ));
}
