import assert from "node:assert/strict";
import {
  parseDescriptor,
  parseImageConfig,
  parseManifest,
  UnsupportedMediaTypeError,
} from "../../src/oci/manifest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";

const D = `sha256:${"a".repeat(64)}`;
const DESC = { mediaType: MEDIA_TYPES.OCI_LAYER_GZIP, digest: D, size: 10 };
const json = (doc: unknown) => new TextEncoder().encode(typeof doc === "string" ? doc : JSON.stringify(doc));

Deno.test("parseDescriptor() keeps the known fields and drops everything else", () => {
  assert.deepEqual(
    parseDescriptor({
      ...DESC,
      annotations: { "org.opencontainers.image.title": "x" },
      artifactType: "application/spdx+json",
      platform: { os: "linux", architecture: "arm", variant: "v7", features: ["x"] },
      urls: ["https://evil.test/"],
    }),
    {
      ...DESC,
      annotations: { "org.opencontainers.image.title": "x" },
      artifactType: "application/spdx+json",
      platform: { os: "linux", architecture: "arm", variant: "v7" },
    },
  );
  assert.deepEqual(parseDescriptor({ ...DESC, annotations: null, platform: null }), DESC);
});

Deno.test("parseDescriptor() refuses hostile descriptors with a TypeError naming the field", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["not an object", [DESC], /^layer must be an object$/],
    ["null", null, /^layer must be an object$/],
    ["no mediaType", { ...DESC, mediaType: undefined }, /layer\.mediaType must be a string/],
    [
      "digest path traversal",
      { ...DESC, digest: "sha256:../../../etc/passwd" },
      /layer\.digest must be a sha256 digest/,
    ],
    ["sha512 digest", { ...DESC, digest: `sha512:${"a".repeat(128)}` }, /layer\.digest/],
    ["upper-case digest", { ...DESC, digest: D.toUpperCase() }, /layer\.digest/],
    ["negative size", { ...DESC, size: -1 }, /layer\.size must be a non-negative integer/],
    ["fractional size", { ...DESC, size: 1.5 }, /layer\.size/],
    ["size as string", { ...DESC, size: "10" }, /layer\.size/],
    ["unsafe size", { ...DESC, size: 2 ** 53 }, /layer\.size/],
    [
      "annotations not strings",
      { ...DESC, annotations: { a: 1 } },
      /layer\.annotations\["a"\] must be a string/,
    ],
    ["annotations a list", { ...DESC, annotations: ["a"] }, /layer\.annotations must be an object/],
    [
      "platform without architecture",
      { ...DESC, platform: { os: "linux" } },
      /layer\.platform must have os and architecture/,
    ],
    ["platform a string", { ...DESC, platform: "linux/amd64" }, /layer\.platform/],
  ];
  for (const [name, value, pattern] of cases) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => parseDescriptor(value, "layer"),
          (err) => err instanceof TypeError && pattern.test(err.message),
        ),
    );
  }
});

Deno.test("parseManifest() reads image manifests and indexes of both formats", async (t) => {
  const manifest = {
    schemaVersion: 2,
    config: { ...DESC, mediaType: MEDIA_TYPES.OCI_CONFIG },
    layers: [DESC],
  };
  const index = {
    schemaVersion: 2,
    manifests: [{
      ...DESC,
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      platform: { os: "linux", architecture: "amd64" },
    }],
  };
  const cases: [string, unknown, string | undefined, "manifest" | "index", string][] = [
    [
      "OCI manifest",
      { ...manifest, mediaType: MEDIA_TYPES.OCI_MANIFEST },
      undefined,
      "manifest",
      MEDIA_TYPES.OCI_MANIFEST,
    ],
    [
      "Docker schema 2",
      { ...manifest, mediaType: MEDIA_TYPES.DOCKER_MANIFEST },
      undefined,
      "manifest",
      MEDIA_TYPES.DOCKER_MANIFEST,
    ],
    [
      "OCI manifest without mediaType (inferred from layers)",
      manifest,
      "text/plain",
      "manifest",
      MEDIA_TYPES.OCI_MANIFEST,
    ],
    ["OCI index", { ...index, mediaType: MEDIA_TYPES.OCI_INDEX }, undefined, "index", MEDIA_TYPES.OCI_INDEX],
    [
      "Docker manifest list",
      { ...index, mediaType: MEDIA_TYPES.DOCKER_MANIFEST_LIST },
      undefined,
      "index",
      MEDIA_TYPES.DOCKER_MANIFEST_LIST,
    ],
    ["index without mediaType (inferred from manifests)", index, undefined, "index", MEDIA_TYPES.OCI_INDEX],
  ];
  for (const [name, doc, contentType, kind, mediaType] of cases) {
    await t.step(name, () => {
      const parsed = parseManifest(json(doc), contentType);
      assert.equal(parsed.kind, kind);
      assert.equal(parsed.mediaType, mediaType);
    });
  }
});

Deno.test("parseManifest() uses the content type (without parameters) only when the document has no type", () => {
  const bare = json({ schemaVersion: 2, config: DESC });
  // The content type names an image manifest; the missing layers list is then refused as that kind.
  assert.throws(
    () => parseManifest(bare, `${MEDIA_TYPES.OCI_MANIFEST}; charset=utf-8`),
    /manifest\.layers must be an array/,
  );
  assert.throws(() => parseManifest(bare), UnsupportedMediaTypeError);
  const docker = json({ schemaVersion: 2, mediaType: MEDIA_TYPES.DOCKER_MANIFEST, config: DESC, layers: [] });
  assert.equal(parseManifest(docker, MEDIA_TYPES.OCI_INDEX).mediaType, MEDIA_TYPES.DOCKER_MANIFEST);
});

Deno.test("parseManifest() keeps subject, artifactType and annotations", () => {
  const parsed = parseManifest(json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    config: { ...DESC, mediaType: MEDIA_TYPES.OCI_EMPTY },
    layers: [],
    subject: { ...DESC, mediaType: MEDIA_TYPES.OCI_MANIFEST },
    annotations: { "dev.sigstore.bundle.predicateType": "x" },
  }));
  assert.ok(parsed.kind === "manifest");
  assert.equal(parsed.artifactType, MEDIA_TYPES.SIGSTORE_BUNDLE_V03);
  assert.equal(parsed.subject?.digest, D);
  assert.deepEqual(parsed.annotations, { "dev.sigstore.bundle.predicateType": "x" });
  assert.deepEqual(parsed.layers, []);
});

Deno.test("parseManifest() refuses malformed documents with a TypeError saying why", async (t) => {
  const cases: [string, string | unknown, RegExp][] = [
    ["not JSON", "{", /manifest is not valid JSON/],
    ["not UTF-8 JSON", "\u0000", /not valid JSON/],
    ["array", [], /must be a JSON object/],
    ["string", '"x"', /must be a JSON object/],
    ["no schemaVersion", { mediaType: MEDIA_TYPES.OCI_MANIFEST }, /schemaVersion undefined/],
    ["schemaVersion 1", { schemaVersion: 1, layers: [] }, /schemaVersion 1/],
    ["schemaVersion as string", { schemaVersion: "2", layers: [] }, /schemaVersion 2/],
    [
      "index with manifests not a list",
      { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_INDEX, manifests: {} },
      /index\.manifests must be an array/,
    ],
    [
      "manifest without layers",
      { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_MANIFEST, config: DESC },
      /manifest\.layers must be an array/,
    ],
    [
      "manifest without config",
      { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_MANIFEST, layers: [] },
      /config must be an object/,
    ],
    ["bad layer", {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      config: DESC,
      layers: [DESC, { ...DESC, size: -5 }],
    }, /layers\[1\]\.size/],
    [
      "bad index entry",
      { schemaVersion: 2, manifests: [{ ...DESC, digest: "md5:x" }] },
      /manifests\[0\]\.digest/,
    ],
    [
      "bad subject",
      { schemaVersion: 2, config: DESC, layers: [], subject: { digest: D } },
      /subject\.mediaType/,
    ],
    [
      "bad annotations",
      { schemaVersion: 2, config: DESC, layers: [], annotations: { a: ["b"] } },
      /manifest\.annotations\["a"\]/,
    ],
  ];
  for (const [name, doc, pattern] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseManifest(json(doc)),
        (err) =>
          err instanceof TypeError && !(err instanceof UnsupportedMediaTypeError) &&
          pattern.test(err.message),
      );
    });
  }
});

Deno.test("parseManifest() throws UnsupportedMediaTypeError for well-formed documents of another type", async (t) => {
  const cases: [string, unknown, string | undefined, string | undefined][] = [
    [
      "explicit other type",
      { schemaVersion: 2, mediaType: "application/x-weird", layers: [] },
      undefined,
      "application/x-weird",
    ],
    [
      "schema 1 signed via header",
      { schemaVersion: 2 },
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ],
    ["no type anywhere", { schemaVersion: 2 }, undefined, undefined],
    [
      "media type of a layer",
      { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_LAYER_GZIP },
      undefined,
      MEDIA_TYPES.OCI_LAYER_GZIP,
    ],
  ];
  for (const [name, doc, contentType, mediaType] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseManifest(json(doc), contentType), (err) => {
        assert.ok(err instanceof UnsupportedMediaTypeError);
        assert.equal(err.mediaType, mediaType);
        assert.match(
          err.message,
          new RegExp(
            `unsupported manifest media type "${(mediaType ?? "(none)").replace(/[+.()]/g, "\\$&")}"`,
          ),
        );
        return true;
      });
    });
  }
});

Deno.test("parseImageConfig() reads the fields dz uses and tolerates null lists", () => {
  const config = parseImageConfig(json({
    os: "linux",
    architecture: "arm64",
    variant: "v8",
    config: {
      Entrypoint: ["/bin/jq"],
      Cmd: null,
      Env: ["PATH=/bin"],
      WorkingDir: "/work",
      User: "65532",
      Labels: { "org.opencontainers.image.version": "1.7" },
      ExposedPorts: { "80/tcp": {} },
    },
    rootfs: { type: "layers", diff_ids: [D] },
    history: [],
  }));
  assert.deepEqual(config, {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
    config: {
      Entrypoint: ["/bin/jq"],
      Cmd: null,
      Env: ["PATH=/bin"],
      WorkingDir: "/work",
      User: "65532",
      Labels: { "org.opencontainers.image.version": "1.7" },
    },
    rootfs: { type: "layers", diff_ids: [D] },
  });
  assert.deepEqual(parseImageConfig(json({})), {
    config: { Entrypoint: undefined, Cmd: undefined, Env: undefined, Labels: null },
  });
  assert.deepEqual(parseImageConfig(json({ config: "nope", os: 5 })).config.Labels, null);
});

Deno.test("parseImageConfig() refuses configs whose lists or labels have the wrong shape", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "nope", /image config is not valid JSON/],
    ["array", [], /image config must be a JSON object/],
    [
      "Entrypoint a string",
      { config: { Entrypoint: "/bin/sh -c x" } },
      /Entrypoint must be a list of strings/,
    ],
    ["Cmd with a number", { config: { Cmd: ["a", 1] } }, /Cmd must be a list of strings/],
    ["Env an object", { config: { Env: { PATH: "/bin" } } }, /Env must be a list of strings/],
    ["Labels with a number", { config: { Labels: { a: 1 } } }, /Labels\["a"\] must be a string/],
  ];
  for (const [name, doc, pattern] of cases) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => parseImageConfig(json(doc)),
          (err) => err instanceof TypeError && pattern.test(err.message),
        ),
    );
  }
});
