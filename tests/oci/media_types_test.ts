import assert from "node:assert/strict";
import {
  isImageManifestMediaType,
  isIndexMediaType,
  isSigstoreBundleMediaType,
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
} from "../../src/oci/media_types.ts";

Deno.test("media type predicates classify manifests, indexes and bundles", async (t) => {
  const cases: [string | undefined, { index: boolean; image: boolean; bundle: boolean }][] = [
    [MEDIA_TYPES.OCI_INDEX, { index: true, image: false, bundle: false }],
    [MEDIA_TYPES.DOCKER_MANIFEST_LIST, { index: true, image: false, bundle: false }],
    [MEDIA_TYPES.OCI_MANIFEST, { index: false, image: true, bundle: false }],
    [MEDIA_TYPES.DOCKER_MANIFEST, { index: false, image: true, bundle: false }],
    ["application/vnd.docker.distribution.manifest.v1+prettyjws", {
      index: false,
      image: false,
      bundle: false,
    }],
    [`${MEDIA_TYPES.OCI_MANIFEST}; charset=utf-8`, { index: false, image: false, bundle: false }],
    [MEDIA_TYPES.SIGSTORE_BUNDLE_V03, { index: false, image: false, bundle: true }],
    ["application/vnd.dev.sigstore.bundle+json;version=0.1", { index: false, image: false, bundle: true }],
    [MEDIA_TYPES.COSIGN_SIMPLE_SIGNING, { index: false, image: false, bundle: false }],
    ["", { index: false, image: false, bundle: false }],
    [undefined, { index: false, image: false, bundle: false }],
  ];
  for (const [mediaType, expected] of cases) {
    await t.step(String(mediaType), () => {
      assert.deepEqual({
        index: isIndexMediaType(mediaType),
        image: isImageManifestMediaType(mediaType),
        bundle: isSigstoreBundleMediaType(mediaType),
      }, expected);
    });
  }
});

Deno.test("MANIFEST_ACCEPT lists exactly the types the predicates accept", () => {
  assert.equal(MANIFEST_ACCEPT.length, 4);
  for (const type of MANIFEST_ACCEPT) {
    assert.ok(isIndexMediaType(type) || isImageManifestMediaType(type), type);
  }
  assert.ok(MANIFEST_ACCEPT.some(isIndexMediaType) && MANIFEST_ACCEPT.some(isImageManifestMediaType));
});
