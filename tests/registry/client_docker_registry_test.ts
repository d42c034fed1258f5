/** The client against Debian's real docker-registry (2.8: no referrers API, so the fallback tag is exercised). */
import assert from "node:assert/strict";
import { launchRegistry } from "../support/registry_launcher.ts";
import { buildImage, pushImage, pushIndex } from "../support/image_builder.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { digestHex } from "../../src/oci/digest.ts";
import { assertRegistryError, readAll, testClient } from "../support/registry_client.ts";

async function image(arch: string, seed: string) {
  return await buildImage({
    platform: { os: "linux", architecture: arch },
    layers: [
      {
        entries: [{
          type: "file",
          path: "bin/tool",
          content: `tool for ${arch} ${seed}\n`.repeat(500),
          mode: 0o755,
        }],
      },
      { entries: [{ type: "symlink", path: "usr/bin/tool", target: "/bin/tool" }], compression: "zstd" },
    ],
    config: { Entrypoint: ["/bin/tool"], Env: ["PATH=/bin"] },
  });
}

Deno.test("client against docker-registry: ping, tags (n=2), catalog, manifests, HEAD, blobs, referrers fallback", async () => {
  await using reg = await launchRegistry();
  const amd = await image("amd64", "a");
  const arm = await image("arm64", "a");
  const idx = await pushIndex(reg, "tools/multi", "1.0", [amd, arm]);
  for (const tag of ["1.1", "2.0", "latest", "1.0-dev"]) await pushImage(reg, "tools/single", tag, amd);
  const repo = { registry: reg.host, repository: "tools/single" };
  const multi = { registry: reg.host, repository: "tools/multi" };
  const { client } = testClient();

  await client.ping(reg.host);
  // docker-registry 2.8 ignores `n` on tags/list (one unsorted page); pagination is covered by the fake.
  assert.deepEqual((await client.listTags(repo, { pageSize: 2 })).sort(), [
    "1.0-dev",
    "1.1",
    "2.0",
    "latest",
  ]);
  assert.deepEqual(await client.catalog(reg.host, { pageSize: 1 }), ["tools/multi", "tools/single"]);

  const index = await client.getManifest(multi, "1.0");
  assert.equal(index.digest, idx.digest);
  assert.equal(index.manifest.kind, "index");
  const head = await client.headManifest(multi, "1.0");
  assert.deepEqual(head, { digest: idx.digest, mediaType: MEDIA_TYPES.OCI_INDEX, size: idx.bytes.length });
  assert.equal(await client.headManifest(multi, "nope"), null);
  const byDigest = await client.getManifest(multi, arm.digest);
  assert.equal(byDigest.manifest.kind, "manifest");
  await assertRegistryError(client.getManifest(multi, "nope"), "MANIFEST_UNKNOWN", reg.host);

  for (const layer of arm.layers) {
    assert.deepEqual(
      await readAll(await client.getBlob(multi, layer.digest, { size: layer.bytes.length })),
      layer.bytes,
    );
  }
  const config = await client.getBlobBytes(multi, arm.configDigest);
  assert.equal(JSON.parse(new TextDecoder().decode(config)).architecture, "arm64");

  // Referrers: no API on 2.8 → fallback tag sha256-<hex>.
  assert.deepEqual(await client.referrers(multi, idx.digest), []);
  const sig = await buildImage({
    artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    layers: [{ entries: [{ type: "file", path: "bundle.json", content: "{}" }], compression: "none" }],
    subject: idx.descriptor,
  });
  await pushIndex(reg, "tools/multi", `sha256-${digestHex(idx.digest)}`, [sig]);
  const found = await client.referrers(multi, idx.digest, { artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03 });
  assert.deepEqual(found.map((d) => d.digest), [sig.digest]);
  assert.deepEqual(await client.referrers(multi, idx.digest, { artifactType: "application/other" }), []);
});

Deno.test("client against docker-registry with htpasswd: basic auth, bad credentials are REGISTRY_AUTH", async () => {
  await using reg = await launchRegistry({ auth: { username: "ci", password: "pass word" } });
  const img = await image("amd64", "b");
  await pushImage({ url: reg.url, auth: reg.credentials! }, "private/app", "3.1", img);
  const repo = { registry: reg.host, repository: "private/app" };

  await assertRegistryError(testClient().client.listTags(repo), "REGISTRY_AUTH", reg.host);
  const bad = testClient({ credential: { username: "ci", password: "wrong" } }).client;
  await assertRegistryError(bad.ping(reg.host), "REGISTRY_AUTH", reg.host);
  const { client } = testClient({ credential: reg.credentials! });
  await client.ping(reg.host);
  assert.deepEqual(await client.listTags(repo), ["3.1"]);
  const m = await client.getManifest(repo, "3.1");
  assert.equal(m.digest, img.digest);
  const layer = img.layers[0]!;
  assert.deepEqual(await readAll(await client.getBlob(repo, layer.digest)), layer.bytes);
  assert.deepEqual(await client.catalog(reg.host), ["private/app"]);
});
