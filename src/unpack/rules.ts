/**
 * Pure rules of layer application: entry-name cleaning, symlink-target containment, whiteout classification and
 * the caps on what a layer may create. No I/O; the write pipeline (extract.ts) and composition use these.
 */
import { DropzoneError } from "../errors.ts";

/** Caps on what a layer (or a sequence of layers sharing a state) may create. */
export interface LayerLimits {
  /** Tar entries, all layers together. */
  readonly maxEntries: number;
  /** Path components in one entry name. */
  readonly maxDepth: number;
  /** Regular file bytes written, all layers together. */
  readonly maxBytes: number;
}

/** The default caps: 1,000,000 entries, depth 256, 16 GiB. */
export const DEFAULT_LAYER_LIMITS: LayerLimits = {
  maxEntries: 1_000_000,
  maxDepth: 256,
  maxBytes: 16 * 1024 ** 3,
};

/** Whiteout prefix and opaque marker (OCI image-spec layer.md). */
export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
const WHITEOUT_META_PREFIX = ".wh..wh.";

/** What a `.wh.`-prefixed base name means. */
export type WhiteoutKind =
  /** `.wh..wh..opq`: hide every lower-layer child of the parent directory. */
  | { readonly kind: "opaque" }
  /** Other `.wh..wh.` names are aufs metadata (e.g. `.wh..wh.plnk`): skipped, never materialised. */
  | { readonly kind: "meta" }
  /** `.wh.<name>`: hide `<name>` of the lower layers. */
  | { readonly kind: "hide"; readonly hidden: string }
  /** `.wh.`, `.wh..`, `.wh...`: refused. */
  | { readonly kind: "invalid" };

/** True when an entry's base name is a whiteout or opaque marker. */
export function isWhiteoutName(base: string): boolean {
  return base.startsWith(WHITEOUT_PREFIX);
}

/** Classifies a whiteout base name (call only when {@linkcode isWhiteoutName} is true). */
export function classifyWhiteout(base: string): WhiteoutKind {
  if (base === OPAQUE_MARKER) return { kind: "opaque" };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: "meta" };
  const hidden = base.slice(WHITEOUT_PREFIX.length);
  if (hidden === "" || hidden === "." || hidden === "..") return { kind: "invalid" };
  return { kind: "hide", hidden };
}

/**
 * Cleans a tar path into components relative to the root. Leading `/` and `./` are dropped; `..` above the root
 * returns undefined.
 */
export function cleanEntryPath(name: string): string[] | undefined {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out;
}

/** Lexical clean of an absolute (chroot) path: `..` at the root stays at the root, as the kernel does. */
function clampComponents(parts: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * The symlink target to store for a link whose parent directory is `parent` (components under the root). Absolute
 * targets are interpreted inside the rootfs and made relative; relative targets are kept verbatim unless they
 * climb above the root, in which case they are clamped there (chroot semantics) and made relative.
 */
export function rootfsLinkTarget(parent: readonly string[], target: string): string {
  let absolute: string[];
  if (target.startsWith("/")) {
    absolute = clampComponents(target.split("/"));
  } else {
    let depth = parent.length;
    let climbs = false;
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (depth === 0) {
          climbs = true;
          break;
        }
        depth--;
      } else {
        depth++;
      }
    }
    if (!climbs) return target;
    absolute = clampComponents([...parent, ...target.split("/")]);
  }
  let common = 0;
  while (common < parent.length && common < absolute.length && parent[common] === absolute[common]) common++;
  const up = parent.length - common;
  const rest = absolute.slice(common);
  const parts = [...Array.from({ length: up }, () => ".."), ...rest];
  return parts.length === 0 ? "." : parts.join("/");
}

/** The UNSAFE_LAYER error for an entry of layer `what`. */
export function unsafeEntry(what: string, name: string, reason: string): DropzoneError {
  return new DropzoneError("UNSAFE_LAYER", `Cannot apply ${what}: entry "${name}" ${reason}`, {
    hint:
      "The image tries to write outside its root or is malformed; do not install it and report it to the publisher",
  });
}

/** LAYER_LIMIT: more entries than allowed. */
export function tooManyEntries(what: string, limits: LayerLimits): DropzoneError {
  return new DropzoneError("LAYER_LIMIT", `Cannot apply ${what}: more than ${limits.maxEntries} entries`, {
    hint: "The image has more files than dz allows; raise the limit only if you trust the image",
  });
}

/** LAYER_LIMIT: an entry nests deeper than allowed. */
export function tooDeep(what: string, name: string, limits: LayerLimits): DropzoneError {
  return new DropzoneError(
    "LAYER_LIMIT",
    `Cannot apply ${what}: entry "${name}" is deeper than ${limits.maxDepth} directories`,
    { hint: "The image nests paths deeper than dz allows" },
  );
}

/** LAYER_LIMIT: more regular-file bytes than allowed. */
export function tooManyBytes(what: string, name: string, limits: LayerLimits): DropzoneError {
  return new DropzoneError(
    "LAYER_LIMIT",
    `Cannot apply ${what}: entry "${name}" exceeds the limit of ${limits.maxBytes} bytes written`,
    { hint: "The image is larger than dz allows; raise the limit only if you trust the image" },
  );
}

/**
 * One recorded step of a layer, in tar order, as the snapshot store keeps it (layer.json). Replaying a layer's
 * ops onto a rootfs does exactly what applying its tar would, with regular files hard-linked from the layer's
 * snapshot tree instead of written. Paths are cleaned, relative to the root.
 */
export type LayerOp =
  /** A directory entry and its mode (& 0o777). */
  | readonly ["d", string, number]
  /**
   * A regular file (or a hardlink inside the layer) at its final state: linked from the snapshot tree; size; the
   * hex sha256 of its content, hashed while it was extracted (absent in snapshots of older dz versions); its
   * permission bits. A hardlink inside the layer has size 0 (its bytes are counted once) and no mode, so only an
   * op with a mode describes its file's size and mode (older snapshots have none: files.json then stats).
   */
  | readonly ["f", string, number, string?, number?]
  /** A write that a later entry of the same layer replaced: only its effect on lower layers (removal) remains. */
  | readonly ["x", string]
  /** A symlink with its stored (already contained) target. */
  | readonly ["s", string, string]
  /** A hardlink to a path of a lower layer (cleaned target), resolved and checked at composition. */
  | readonly ["h", string, string]
  /** A whiteout or opaque marker entry (the cleaned entry name). */
  | readonly ["w", string];
