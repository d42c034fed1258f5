/**
 * OCI artifacts whose layers are plain files (ORAS-style `oras push ref tool-linux-amd64`), pure: detection,
 * file titles, picking the host's executable by name and platform, and the `TAG-<arch>-<os>` tag convention of
 * static-binary catalogs.
 */
import { DropzoneError } from "../errors.ts";
import type { Host } from "../runtime.ts";
import type { Descriptor, ImageManifest } from "./manifest.ts";
import { MEDIA_TYPES } from "./media_types.ts";

/** The layer annotation that names an artifact file. */
export const TITLE_ANNOTATION = "org.opencontainers.image.title";

/** Config media types that mark a manifest as an artifact rather than a container image. */
const ARTIFACT_CONFIG_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.OCI_EMPTY,
  "application/vnd.unknown.config.v1+json",
]);

/** True when the manifest is an artifact (files as layers), not a runnable container image. */
export function isArtifactManifest(manifest: Pick<ImageManifest, "artifactType" | "config">): boolean {
  return (manifest.artifactType !== undefined && manifest.artifactType !== "") ||
    ARTIFACT_CONFIG_TYPES.has(manifest.config.mediaType);
}

/** One file of an artifact: its validated title and its layer. */
export interface ArtifactFile {
  readonly title: string;
  readonly layer: Descriptor;
  /** How the layer is read: a plain file, or a release archive unpacked with the safe unpacker. */
  readonly archive: "none" | "tar" | "tar+gzip";
}

/** Why a title cannot be a file name, or undefined when it can. */
export function titleProblem(title: string | undefined): string | undefined {
  if (title === undefined || title === "") return "it has no title (org.opencontainers.image.title)";
  // C0 controls, DEL and C1 controls: they would reach a terminal or a file name.
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(title)) return "the title contains control characters";
  if (title.includes("/") || title.includes("\\")) return "the title contains a path separator";
  if (title === "." || title.includes("..")) return 'the title contains ".."';
  if (new TextEncoder().encode(title).length > 255) return "the title is longer than 255 bytes";
  return undefined;
}

/** Quotes a remote string for a message: JSON escaping keeps control characters out of the terminal. */
export function quoteTitle(title: string | undefined): string {
  return title === undefined ? "(none)" : JSON.stringify(title);
}

function archiveKind(title: string): ArtifactFile["archive"] {
  const lower = title.toLowerCase();
  if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar+gzip";
  if (lower.endsWith(".tar")) return "tar";
  return "none";
}

/**
 * The files of an artifact manifest, every title checked. Throws UNSAFE_LAYER naming the first bad title
 * (before anything is downloaded or written), or for two layers with the same title.
 */
export function artifactFiles(manifest: Pick<ImageManifest, "layers">, what: string): ArtifactFile[] {
  const seen = new Set<string>();
  return manifest.layers.map((layer, i) => {
    const title = layer.annotations?.[TITLE_ANNOTATION];
    const problem = titleProblem(title);
    if (problem !== undefined) {
      throw new DropzoneError(
        "UNSAFE_LAYER",
        `Refusing ${what}: layer ${i + 1} (${quoteTitle(title)}) cannot be written as a file: ${problem}`,
        { hint: "The artifact is malformed or hostile; ask the publisher to name its files plainly" },
      );
    }
    if (seen.has(title!)) {
      throw new DropzoneError(
        "UNSAFE_LAYER",
        `Refusing ${what}: two layers are titled ${quoteTitle(title)}`,
        {
          hint: "The artifact is malformed; ask the publisher to fix it",
        },
      );
    }
    seen.add(title!);
    return { title: title!, layer, archive: archiveKind(title!) };
  });
}

const OS_ALIASES: Readonly<Record<string, readonly string[]>> = {
  linux: ["linux"],
  darwin: ["darwin", "macos", "osx", "apple"],
  windows: ["windows", "win", "win64", "win32"],
  freebsd: ["freebsd"],
};
const ARCH_ALIASES: Readonly<Record<string, readonly string[]>> = {
  amd64: ["amd64", "x64", "64bit"],
  arm64: ["arm64", "aarch64", "armv8"],
  arm: ["arm", "armv7", "armv6", "armhf", "armel"],
  "386": ["386", "i386", "i686", "x86", "32bit"],
  riscv64: ["riscv64"],
  ppc64le: ["ppc64le"],
  s390x: ["s390x"],
};
const ARCHIVE_SUFFIX = /\.(?:tar\.gz|tgz|tar)$/i;

/** The tokens for the host's os and arch, and every token naming some other platform. */
function platformTokens(host: Host): { mine: Set<string>; other: Set<string> } {
  const mine = new Set([...(OS_ALIASES[host.os] ?? [host.os]), ...(ARCH_ALIASES[host.arch] ?? [host.arch])]);
  const other = new Set<string>();
  for (const list of [...Object.values(OS_ALIASES), ...Object.values(ARCH_ALIASES)]) {
    for (const t of list) if (!mine.has(t)) other.add(t);
  }
  return { mine, other };
}

/**
 * How well a file name matches a package for the host: 2 for `name` plus host platform tokens
 * (`tool-linux-amd64`, `tool_x86_64-unknown-linux-musl`, `tool-v1.2-linux-amd64.tar.gz`), 1 for the bare name
 * (`tool`, `tool.tar.gz`), 0 for no match or a name for another platform. Pure.
 */
export function matchScore(fileName: string, packageName: string, host: Host): 0 | 1 | 2 {
  const base = fileName.replace(ARCHIVE_SUFFIX, "").toLowerCase();
  const name = packageName.toLowerCase();
  if (base === name) return 1;
  if (!base.startsWith(name) || !/[-_.]/.test(base[name.length] ?? "")) return 0;
  // "x86_64" contains a separator; fold it to one token before splitting.
  const tokens = base.slice(name.length + 1).replace(/x86[-_]64/g, "amd64").split(/[-_.]+/).filter(Boolean);
  const { mine, other } = platformTokens(host);
  let platform = false;
  for (const t of tokens) {
    if (other.has(t)) return 0;
    if (mine.has(t)) platform = true;
  }
  // Anything else (a version like v1.2 or 1) is allowed between the name and the platform tokens.
  return platform ? 2 : 0;
}

/**
 * Picks the best candidate for `packageName` on `host` among `names`: the only one, else the single best
 * match (platform-qualified beats bare). Returns the index, or an error message listing the names. Pure.
 */
export function pickByName(
  names: readonly string[],
  packageName: string,
  host: Host,
): { index: number } | { problem: string } {
  if (names.length === 1) return { index: 0 };
  const scores = names.map((n) => matchScore(n, packageName, host));
  const best = Math.max(0, ...scores);
  const winners = scores.flatMap((s, i) => s === best && best > 0 ? [i] : []);
  if (winners.length === 1) return { index: winners[0]! };
  const list = names.map(quoteTitle).join(", ");
  return winners.length === 0
    ? { problem: `none of its files is named "${packageName}" for ${host.os}/${host.arch} (${list})` }
    : {
      problem: `several files match "${packageName}": ${winners.map((i) => quoteTitle(names[i])).join(", ")}`,
    };
}

/**
 * Chooses the artifact file to install: `--file TITLE` exactly, else {@linkcode pickByName}. Throws
 * INVALID_ARGUMENT (a `--file` that is not there) or ENTRYPOINT (nothing or several match).
 */
export function chooseArtifactFile(
  files: readonly ArtifactFile[],
  options: { packageName: string; host: Host; file?: string; what: string },
): ArtifactFile {
  const titles = files.map((f) => f.title);
  if (files.length === 0) {
    throw new DropzoneError("ENTRYPOINT", `Cannot install ${options.what}: the artifact has no files`, {
      hint: "Check the reference; the artifact is empty",
    });
  }
  if (options.file !== undefined) {
    const hit = files.find((f) => f.title === options.file);
    if (hit) return hit;
    throw new DropzoneError(
      "INVALID_ARGUMENT",
      `Cannot install ${options.what}: it has no file ${quoteTitle(options.file)} (files: ${
        titles.map(quoteTitle).join(", ")
      })`,
      { hint: "Pass one of the listed titles to --file" },
    );
  }
  const pick = pickByName(titles, options.packageName, options.host);
  if ("index" in pick) return files[pick.index]!;
  throw new DropzoneError("ENTRYPOINT", `Cannot choose the executable of ${options.what}: ${pick.problem}`, {
    hint: "Choose one with --file TITLE (and --name for the command name)",
  });
}

/** Static-binary catalogs tag per platform: `TAG-x86_64-linux`, `TAG-aarch64-darwin`. Pure. */
export function platformTag(tag: string, host: Host): string | undefined {
  const arch = host.arch === "amd64" ? "x86_64" : host.arch === "arm64" ? "aarch64" : undefined;
  const os = host.os === "linux" || host.os === "darwin" ? host.os : undefined;
  if (arch === undefined || os === undefined) return undefined;
  const candidate = `${tag}-${arch}-${os}`;
  return candidate.length <= 128 ? candidate : undefined;
}
