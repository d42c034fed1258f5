/**
 * The `index.json` check of an OCI archive: tools that import archives (`skopeo copy oci-archive:`, `umoci`)
 * follow index.json, not dz/export.json, so every entry must point at something dz verified. Pure.
 */
import { DropzoneError } from "../errors.ts";
import { type Digest, shortDigest } from "../oci/digest.ts";

/** One `index.json` entry: its digest and its `org.opencontainers.image.ref.name`, if any. */
export interface IndexEntry {
  readonly digest: Digest;
  readonly name?: string;
}

/** Cosign's sidecar tags (`sha256-<hex>.sig`, `.att`, `.sbom`). */
const SIDECAR_TAG = /^sha256-[0-9a-f]{64}\.[a-z]+$/;

/**
 * Throws SIGNATURE_MISSING (exit 3) unless every entry is safe: an entry under an image name (a tag) must be a
 * manifest that verified (the image or its index); a sidecar-named or unnamed entry must be a signature or
 * attestation artifact that verification read from the archive (or a verified manifest).
 */
export function checkArchiveIndex(
  entries: readonly IndexEntry[],
  known: { readonly verified: ReadonlySet<Digest>; readonly consulted: ReadonlySet<Digest> },
): void {
  for (const e of entries) {
    if (known.verified.has(e.digest)) continue;
    const artifact = e.name === undefined || SIDECAR_TAG.test(e.name);
    if (artifact && known.consulted.has(e.digest)) continue;
    throw new DropzoneError(
      "SIGNATURE_MISSING",
      `The archive's index.json lists ${e.name ? `"${e.name}" as ` : "an entry "}${
        shortDigest(e.digest)
      }, which is not the verified image${artifact ? " or one of its signature artifacts" : ""}`,
      {
        hint:
          "Tools that import the archive (skopeo, umoci) would use that unverified manifest; do not use " +
          "this archive, re-create it with dz export",
      },
    );
  }
}
