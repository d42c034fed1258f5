/** OCI and Docker media types dz reads. */
export const MEDIA_TYPES = {
  OCI_MANIFEST: "application/vnd.oci.image.manifest.v1+json",
  OCI_INDEX: "application/vnd.oci.image.index.v1+json",
  OCI_CONFIG: "application/vnd.oci.image.config.v1+json",
  OCI_EMPTY: "application/vnd.oci.empty.v1+json",
  OCI_LAYER: "application/vnd.oci.image.layer.v1.tar",
  OCI_LAYER_GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
  OCI_LAYER_ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
  DOCKER_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
  DOCKER_MANIFEST_LIST: "application/vnd.docker.distribution.manifest.list.v2+json",
  DOCKER_CONFIG: "application/vnd.docker.container.image.v1+json",
  DOCKER_LAYER_GZIP: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  COSIGN_SIMPLE_SIGNING: "application/vnd.dev.cosign.simplesigning.v1+json",
  DSSE_ENVELOPE: "application/vnd.dsse.envelope.v1+json",
  SIGSTORE_BUNDLE_V03: "application/vnd.dev.sigstore.bundle.v0.3+json",
  IN_TOTO: "application/vnd.in-toto+json",
} as const;

/** Every manifest type dz accepts, for the Accept header. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MEDIA_TYPES.OCI_INDEX,
  MEDIA_TYPES.OCI_MANIFEST,
  MEDIA_TYPES.DOCKER_MANIFEST_LIST,
  MEDIA_TYPES.DOCKER_MANIFEST,
];

/** True for an OCI index or Docker manifest list. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPES.OCI_INDEX || mediaType === MEDIA_TYPES.DOCKER_MANIFEST_LIST;
}

/** True for an OCI image manifest or Docker schema2 manifest. */
export function isImageManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPES.OCI_MANIFEST || mediaType === MEDIA_TYPES.DOCKER_MANIFEST;
}

/** True for a Sigstore bundle media type (any version). */
export function isSigstoreBundleMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && mediaType.startsWith("application/vnd.dev.sigstore.bundle");
}
