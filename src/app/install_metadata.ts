/** What a staged version's `metadata.json` records, for an image and for an artifact. Pure. */
import type { ArtifactFile } from "../oci/artifact.ts";
import type { LinkPlan } from "../shim/link.ts";
import type { ShimPlan } from "../shim/plan.ts";
import { type PackageMetadata, signatureRecord } from "../store/metadata.ts";
import type { ResolvedImage, Verification } from "./image.ts";

/** What every staged version's metadata records, whatever it installs. */
export interface MetadataInput {
  readonly name: string;
  readonly image: ResolvedImage;
  readonly verification: Verification;
  readonly unsigned: boolean;
  readonly now: Date;
  readonly trustedSigner: PackageMetadata["trusted_signer"];
  /** The mirror location that served the manifest, or null for the upstream. */
  readonly servedBy?: string | null;
  readonly crossChecked?: readonly string[];
}

/** The fields an image and an artifact version share: source, digests, trust and provenance. */
function commonMetadata(input: MetadataInput) {
  const { image, verification, now } = input;
  return {
    schema_version: 1 as const,
    name: input.name,
    ref: image.ref.input,
    registry: { name: image.ref.registryName, url: image.ref.registryUrl },
    repository: image.ref.repository,
    tag: image.ref.tag ?? null,
    index_digest: image.index?.digest ?? null,
    digest: image.digest,
    platform: image.platform,
    signature: verification.signature ? signatureRecord(verification.signature, now) : null,
    proof: verification.signature ? verification.signature.proof ?? "signature" : null,
    trusted_signer: input.trustedSigner,
    allow_unsigned: input.unsigned,
    attestations: verification.attestations,
    config_digest: image.manifest.config.digest,
    installed_at: now.toISOString(),
    served_by: input.servedBy ?? null,
    cross_checked: [...(input.crossChecked ?? [])],
  };
}

/** Builds metadata for a staged image version: its wrappers' entrypoints, every layer. */
export function buildMetadata(input: MetadataInput & { plan: ShimPlan }): PackageMetadata {
  const { image, plan } = input;
  return {
    ...commonMetadata(input),
    kind: "image",
    artifact_file: null,
    entrypoint: { raw: [...plan.entrypoint.argv], resolved: plan.entrypoint.resolved },
    loader: plan.loader ?? null,
    bins: [
      { name: plan.name, path: plan.entrypoint.path },
      ...plan.extraBins.map((b) => ({ name: b.name, path: b.entrypoint.path })),
    ],
    layers: image.manifest.layers.map((l) => l.digest),
    size_bytes: image.manifest.layers.reduce((sum, l) => sum + l.size, 0),
  };
}

/** Builds metadata for a staged artifact version: one linked binary, only the installed layer referenced. */
export function buildArtifactMetadata(
  input: MetadataInput & { file: ArtifactFile; link: LinkPlan },
): PackageMetadata {
  const { file, link } = input;
  return {
    ...commonMetadata(input),
    kind: "artifact",
    artifact_file: file.title,
    entrypoint: { raw: [link.path], resolved: link.path },
    loader: null,
    bins: [{ name: link.name, path: link.path }],
    layers: [file.layer.digest],
    size_bytes: file.layer.size,
  };
}
