import assert from "node:assert/strict";
import { join } from "node:path";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import { fileRefStore } from "../../src/registry/caching_client.ts";
import { referrersKey, tagKey } from "../../src/registry/ref_keys.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { referencedBlobs, refRecordsDir } from "../../src/store/blob_reachability.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import { activate, commitVersion } from "../../src/store/packages.ts";
import { tempHome } from "../support/temp_home.ts";
import { stageVersion } from "../support/store_fixtures.ts";

const REPO = { registry: "cgr.dev", repository: "chainguard/jq" };
const AT = "2026-11-22T10:00:00.000Z";

async function putBlob(layout: StoreLayout, text: string): Promise<Digest> {
  const bytes = new TextEncoder().encode(text);
  const digest = await sha256Digest(bytes);
  await openBlobCache(layout.blobs).putStream(digest, bytes.length, ReadableStream.from([bytes]));
  return digest;
}

/** A cached artifact manifest (a cosign signature or a bundle referrer) with its own config and one layer. */
async function putArtifact(layout: StoreLayout, label: string) {
  const config = await putBlob(layout, `config of ${label}`);
  const layer = await putBlob(layout, `payload of ${label}`);
  const manifest = await putBlob(
    layout,
    JSON.stringify({
      schemaVersion: 2,
      config: { digest: config, size: 1 },
      layers: [{ digest: layer, size: 1 }],
    }),
  );
  return { manifest, config, layer };
}

/** Installs jq from a registry configured as `url` (cgr.dev/chainguard: the host the records are keyed by). */
async function installJq(layout: StoreLayout, url = "cgr.dev/chainguard") {
  const { staging, metadata } = await stageVersion(layout, "jq", "1.7");
  const meta = { ...metadata, registry: { name: "cgr", url } };
  const { version } = await commitVersion(layout, "jq", staging, meta);
  await activate(layout, "jq", version.digest);
  return meta;
}

Deno.test("referencedBlobs() keeps every blob of an installed version and nothing unrelated", async () => {
  await using home = await tempHome();
  assert.deepEqual(await referencedBlobs(home.layout), new Set());
  const meta = await installJq(home.layout);
  const stray = await putBlob(home.layout, "nobody uses me");
  const referenced = await referencedBlobs(home.layout);
  for (const d of [meta.digest, meta.index_digest!, meta.config_digest, ...meta.layers]) {
    assert.ok(referenced.has(d), d);
  }
  assert.equal(referenced.has(stray), false, "an unreferenced blob is not kept");
});

Deno.test("referencedBlobs() keeps a recorded signature's manifest, config and layers for the installed digest", async () => {
  await using home = await tempHome();
  const meta = await installJq(home.layout);
  const refs = fileRefStore(refRecordsDir(home.layout));
  const sig = await putArtifact(home.layout, "sig");
  const bundle = await putArtifact(home.layout, "bundle");
  const other = await putArtifact(home.layout, "someone else's signature");
  const hex = meta.digest.slice("sha256:".length);
  // Written with the recording client's own key builders: the format lives in one place.
  await refs.put({ key: tagKey(REPO, `sha256-${hex}.sig`), digest: sig.manifest, at: AT });
  await refs.put({
    key: referrersKey(REPO, meta.index_digest!, "application/vnd.dev.sigstore.bundle.v0.3+json"),
    referrers: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: bundle.manifest,
      size: 1,
    }],
    at: AT,
  });
  // The same tag scheme for a digest that is not installed, and a plain tag resolution: neither keeps anything.
  await refs.put({ key: tagKey(REPO, `sha256-${"e".repeat(64)}.sig`), digest: other.manifest, at: AT });
  await refs.put({ key: tagKey(REPO, "latest"), digest: other.config, at: AT });
  const referenced = await referencedBlobs(home.layout);
  for (const d of [...Object.values(sig), ...Object.values(bundle)]) assert.ok(referenced.has(d), d);
  for (const d of Object.values(other)) assert.equal(referenced.has(d), false, d);
});

Deno.test("referencedBlobs() skips a damaged ref record and a missing or non-JSON artifact without failing", async () => {
  await using home = await tempHome();
  const meta = await installJq(home.layout);
  const dir = refRecordsDir(home.layout);
  const refs = fileRefStore(dir);
  const sig = await putArtifact(home.layout, "sig");
  const notJson = await putBlob(home.layout, "{ not json");
  const missing = `sha256:${"d".repeat(64)}` as Digest;
  const hex = meta.digest.slice("sha256:".length);
  await refs.put({ key: tagKey(REPO, `sha256-${hex}.sig`), digest: sig.manifest, at: AT });
  await refs.put({
    key: referrersKey(REPO, meta.digest),
    // A referrer whose digest is garbage is dropped; the others in the same record still count.
    referrers: [
      { mediaType: "x", digest: "sha256:nope" as Digest, size: 1 },
      { mediaType: "x", digest: notJson, size: 1 },
      { mediaType: "x", digest: missing, size: 1 },
    ],
    at: AT,
  });
  await Deno.writeTextFile(join(dir, `${"f".repeat(64)}.json`), '{"key": "tag:cgr.dev/chain'); // half-written
  await Deno.writeTextFile(join(dir, "notes.txt"), "not a record");
  const referenced = await referencedBlobs(home.layout);
  for (const d of [...Object.values(sig), notJson, missing]) assert.ok(referenced.has(d), d);
  assert.equal(referenced.has("sha256:nope" as Digest), false);
});

Deno.test("fileRefStore().list() returns the records put, and nothing for a missing directory", async () => {
  await using home = await tempHome();
  const refs = fileRefStore(refRecordsDir(home.layout));
  assert.deepEqual(await refs.list(), []);
  const digest = await sha256Digest(new TextEncoder().encode("m"));
  await refs.put({
    key: tagKey(REPO, "1.7"),
    digest,
    mediaType: "application/vnd.oci.image.index.v1+json",
    at: AT,
  });
  assert.deepEqual(await refs.list(), [{
    key: tagKey(REPO, "1.7"),
    digest,
    mediaType: "application/vnd.oci.image.index.v1+json",
    at: AT,
  }]);
});

Deno.test("referencedBlobs() matches records under the host the client used, however the registry URL is spelt", async () => {
  // The install's client (and so the recording client) uses the URL's canonical host: "docker.io" for Docker
  // Hub's aliases, no scheme. Matching on the raw URL lost these signatures to gc.
  for (
    const [url, registry] of [
      ["index.docker.io/chainguard", "docker.io"],
      ["https://cgr.dev/chainguard", "cgr.dev"],
      ["localhost:5000/lab", "localhost:5000"],
    ]
  ) {
    await using home = await tempHome();
    const meta = await installJq(home.layout, url!);
    const sig = await putArtifact(home.layout, `sig from ${url}`);
    const repo = { registry: registry!, repository: meta.repository };
    await fileRefStore(refRecordsDir(home.layout)).put({
      key: tagKey(repo, `sha256-${meta.digest.slice("sha256:".length)}.sig`),
      digest: sig.manifest,
      at: AT,
    });
    const referenced = await referencedBlobs(home.layout);
    for (const d of Object.values(sig)) assert.ok(referenced.has(d), `${url}: ${d}`);
  }
});
