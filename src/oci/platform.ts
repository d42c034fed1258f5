/** Choosing the image of a multi-platform index for the host (pure). */
import { DropzoneError } from "../errors.ts";
import type { Host } from "../runtime.ts";
import type { Descriptor, ImageIndex, Platform } from "./manifest.ts";

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform | Host): string {
  const arch = "architecture" in platform ? platform.architecture : platform.arch;
  return [platform.os, arch, platform.variant].filter(Boolean).join("/");
}

/** Variant with arm64's implicit `v8` folded to empty, lower-cased. */
function normalVariant(arch: string, variant: string | undefined): string {
  const v = (variant ?? "").toLowerCase();
  return arch === "arm64" && v === "v8" ? "" : v;
}

/** True for BuildKit attestation manifests and other non-runnable entries. */
function isRunnable(platform: Platform | undefined): platform is Platform {
  return platform !== undefined && platform.os !== "unknown" && platform.architecture !== "unknown";
}

/**
 * Picks the index entry for `host`: os and architecture must match; when the host names a variant it must
 * match too (arm64 `v8` equals no variant), otherwise an entry without a variant is preferred over the first
 * entry with one. Attestation entries (`unknown/unknown`) are skipped. Throws NO_MATCHING_PLATFORM listing what
 * the image offers.
 */
export function selectPlatform(index: ImageIndex, host: Host): Descriptor {
  const runnable = index.manifests.filter((d) => isRunnable(d.platform));
  const sameArch = runnable.filter((d) =>
    d.platform!.os === host.os && d.platform!.architecture === host.arch
  );
  const hostVariant = normalVariant(host.arch, host.variant);
  const exact = sameArch.find((d) => normalVariant(host.arch, d.platform!.variant) === hostVariant);
  const chosen = exact ?? (host.variant === undefined ? sameArch[0] : undefined);
  if (chosen) return chosen;
  const offered = [...new Set(runnable.map((d) => formatPlatform(d.platform!)))];
  throw new DropzoneError(
    "NO_MATCHING_PLATFORM",
    `Image has no build for ${formatPlatform(host)}: it offers ${
      offered.length ? offered.join(", ") : "no platforms"
    }`,
    { hint: "Use an image published for this platform" },
  );
}
