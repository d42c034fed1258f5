import assert from "node:assert/strict";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { buildImage, pushImage, pushIndex } from "../support/image_builder.ts";
import { encodeJson } from "../support/oci_push.ts";
import { fetchReferrerManifest } from "../../src/registry/client.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { digestHex } from "../../src/oci/digest.ts";
import { assertRegistryError, readAll, testClient } from "../support/registry_client.ts";

const APP = "team/app";

async function sampleImage(size = 200_000) {
  const data = new Uint8Array(size);
  crypto.getRandomValues(data.subarray(0, Math.min(size, 65_536)));
  return await buildImage({
    layers: [
      { entries: [{ type: "file", path: "bin/app", content: data, mode: 0o755 }] },
      {
        entries: [{ type: "dir", path: "etc" }, { type: "file", path: "etc/conf", content: "x=1\n" }],
        compression: "none",
      },
    ],
    config: { Entrypoint: ["/bin/app"] },
  });
}

async function seeded(behaviour: Parameters<typeof startFakeRegistry>[0] = {}) {
  const reg = await startFakeRegistry(behaviour);
  const image = await sampleImage();
  await pushImage(reg, APP, "1.0", image);
  return { reg, image, repo: { registry: reg.host, repository: APP } };
}

Deno.test("client against fake registry: anonymous bearer token flow, cached per scope", async () => {
  const { reg, image, repo } = await seeded({ auth: "bearer" });
  await using _ = reg;
  const { client } = testClient();
  const mark = reg.requests.length;
  await client.ping(reg.host);
  const m = await client.getManifest(repo, "1.0");
  assert.equal(m.digest, image.digest);
  assert.equal(m.manifest.kind, "manifest");
  const head = await client.headManifest(repo, "1.0");
  assert.deepEqual(head, {
    digest: image.digest,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    size: image.manifestBytes.length,
  });
  const byDigest = await client.getManifest(repo, image.digest);
  assert.deepEqual(byDigest.bytes, image.manifestBytes);
  const config = await client.getBlobBytes(repo, image.configDigest, { size: image.configBytes.length });
  assert.deepEqual(config, image.configBytes);
  // one token for the ping, one for repository:team/app:pull
  assert.equal(reg.tokenRequests(), 2);
  assert.ok(reg.requests.slice(mark).every((r) => r.userAgent === "dz-test/1.0"));
});

Deno.test("client against fake registry: credentials for private repositories, bad ones are REGISTRY_AUTH", async () => {
  const { reg, repo } = await seeded({ auth: "bearer", anonymousPull: false, users: { alice: "s3cret" } });
  await using _ = reg;
  const anon = testClient().client;
  await assertRegistryError(anon.getManifest(repo, "1.0"), "REGISTRY_AUTH", reg.host);
  const good = testClient({ credential: { username: "alice", password: "s3cret" } }).client;
  assert.equal((await good.listTags(repo)).length, 1);
  const bad = testClient({ credential: { username: "alice", password: "nope" } }).client;
  const err = await assertRegistryError(bad.listTags(repo), "REGISTRY_AUTH", reg.host);
  assert.ok(!err.message.includes("nope"));
  await assertRegistryError(
    anon.ping(reg.host, { credential: { username: "alice", password: "x" } }),
    "REGISTRY_AUTH",
    reg.host,
  );
  await anon.ping(reg.host, { credential: { username: "alice", password: "s3cret" } });
  reg.behaviour.refreshTokens = ["refresh-1"];
  const viaToken = testClient({ credential: { identitytoken: "refresh-1" } }).client;
  assert.deepEqual(await viaToken.listTags(repo), ["1.0"]);
});

Deno.test("client against fake registry: basic auth", async () => {
  const { reg, repo } = await seeded({ auth: "basic", users: { bob: "pw" } });
  await using _ = reg;
  const err = await assertRegistryError(testClient().client.listTags(repo), "REGISTRY_AUTH", reg.host);
  assert.match(err.hint!, /dz login/);
  const { client } = testClient({ credential: { username: "bob", password: "pw" } });
  assert.deepEqual(await client.listTags(repo), ["1.0"]);
  await client.ping(reg.host);
});

Deno.test("listTags() and catalog() follow Link pagination", async () => {
  const { reg, image, repo } = await seeded();
  await using _ = reg;
  for (const tag of ["1.1", "1.2", "2.0", "latest"]) {
    await reg.putManifest(APP, tag, image.manifestBytes, image.mediaType);
  }
  await reg.putManifest("team/other", "x", image.manifestBytes, image.mediaType);
  await reg.putManifest("solo", "x", image.manifestBytes, image.mediaType);
  const { client } = testClient();
  assert.deepEqual(await client.listTags(repo, { pageSize: 2 }), ["1.0", "1.1", "1.2", "2.0", "latest"]);
  assert.equal(reg.requests.filter((r) => r.path.endsWith("/tags/list")).length, 3);
  reg.behaviour.pageSize = 1;
  assert.deepEqual(await client.catalog(reg.host), ["solo", "team/app", "team/other"]);
  reg.behaviour.noCatalog = true;
  await assertRegistryError(client.catalog(reg.host), "CATALOG_UNAVAILABLE", reg.host);
  await assertRegistryError(
    client.listTags({ registry: reg.host, repository: "nope/x" }),
    "MANIFEST_UNKNOWN",
    reg.host,
  );
});

Deno.test("getManifest() and headManifest() handle unknown manifests and missing digest headers", async () => {
  const { reg, image, repo } = await seeded();
  await using _ = reg;
  const { client } = testClient();
  await assertRegistryError(client.getManifest(repo, "9.9"), "MANIFEST_UNKNOWN", reg.host, ["9.9"]);
  assert.equal(await client.headManifest(repo, "9.9"), null);
  reg.behaviour.omitDigestHeader = true;
  const head = await client.headManifest(repo, "1.0");
  assert.equal(head?.digest, image.digest);
  assert.ok(reg.requests.some((r) => r.method === "GET" && r.path.endsWith("/manifests/1.0")));
  await assert.rejects(client.getManifest(repo, "bad tag!"), /Invalid tag/);
});

Deno.test("getBlob() streams and verifies; a wrong digest errors the stream with DIGEST_MISMATCH", async () => {
  const { reg, image, repo } = await seeded();
  await using _ = reg;
  const { client } = testClient();
  const layer = image.layers[0]!;
  let progress = 0;
  const bytes = await readAll(
    await client.getBlob(repo, layer.digest, { size: layer.bytes.length, onProgress: (n) => progress += n }),
  );
  assert.deepEqual(bytes, layer.bytes);
  assert.equal(progress, layer.bytes.length);
  reg.behaviour.wrongDigest = true;
  await assertRegistryError(
    client.getBlob(repo, layer.digest, { size: layer.bytes.length }).then(readAll),
    "DIGEST_MISMATCH",
    reg.host,
  );
  await assertRegistryError(client.getManifest(repo, image.digest), "DIGEST_MISMATCH", reg.host);
  await assertRegistryError(
    client.getBlob(repo, layer.digest, { size: layer.bytes.length - 1 }).then(readAll),
    "DIGEST_MISMATCH",
    reg.host,
  );
});

Deno.test("getBlob() resumes with Range after a connection reset and verifies across both parts", async () => {
  const { reg, image, repo } = await seeded();
  await using _ = reg;
  reg.behaviour.resetBlobs = 1;
  const { client } = testClient();
  const layer = image.layers[0]!;
  const bytes = await readAll(await client.getBlob(repo, layer.digest, { size: layer.bytes.length }));
  assert.deepEqual(bytes, layer.bytes);
  const ranges = reg.requests.filter((r) => r.path.endsWith(layer.digest)).map((r) => r.range);
  assert.equal(ranges.length, 3); // HEAD during push, the broken GET, the Range GET
  assert.match(ranges[2]!, /^bytes=\d+-$/);
});

Deno.test("getBlob() treats a stalled or short body as a transfer fault: resumes with Range, else exit 1", async (t) => {
  const { reg, image, repo } = await seeded();
  await using _ = reg;
  const layer = image.layers[0]!;
  const size = layer.bytes.length;
  const blobRequests = () => reg.requests.filter((r) => r.path.endsWith(layer.digest) && r.method === "GET");
  await t.step("a body that stalls mid-transfer times out after the idle limit and resumes", async () => {
    reg.behaviour.stallBlobsOnce = 1;
    const before = blobRequests().length;
    const started = Date.now();
    const bytes = await readAll(
      await testClient({ timeoutMs: 300 }).client.getBlob(repo, layer.digest, { size }),
    );
    assert.deepEqual(bytes, layer.bytes);
    assert.ok(Date.now() - started < 3000, "the stall was cut off at the idle limit");
    const ranges = blobRequests().slice(before).map((r) => r.range);
    assert.equal(ranges.length, 2);
    assert.match(ranges[1]!, /^bytes=[1-9]\d*-$/);
  });
  await t.step("a body shorter than the descriptor (lying Content-Length) resumes", async () => {
    reg.behaviour.shortBlobs = 1;
    const before = blobRequests().length;
    const bytes = await readAll(await testClient().client.getBlob(repo, layer.digest, { size }));
    assert.deepEqual(bytes, layer.bytes);
    assert.equal(blobRequests().slice(before)[1]?.range, `bytes=${Math.ceil(size / 2)}-`);
  });
  await t.step(
    "when every resume stalls too, the error is REGISTRY_UNREACHABLE, not a digest mismatch",
    async () => {
      reg.behaviour.stallBlobs = true;
      const err = await assertRegistryError(
        testClient({ timeoutMs: 200, retries: 1 }).client.getBlob(repo, layer.digest, { size }).then(readAll),
        "REGISTRY_UNREACHABLE",
        reg.host,
        ["stalled"],
      );
      assert.equal(err.exitCode, 1);
      reg.behaviour.stallBlobs = false;
    },
  );
  await t.step(
    "when the registry keeps sending short bodies, the error is exit 1 and names the shortfall",
    async () => {
      reg.behaviour.shortBlobs = 10;
      const { client } = testClient({ retries: 2 });
      // Range resumes are served in full by the fake, so make them short too: a registry that ignores Range.
      const err = await assertRegistryError(
        client.getBlob(repo, layer.digest, { size: size * 2 }).then(readAll),
        "REGISTRY_UNREACHABLE",
        reg.host,
      );
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /sent .* of /);
      reg.behaviour.shortBlobs = 0;
    },
  );
  await t.step("bytes that arrive and hash wrong stay a trust failure (exit 3)", async () => {
    reg.behaviour.wrongDigest = true;
    const err = await assertRegistryError(
      testClient().client.getBlob(repo, layer.digest, { size }).then(readAll),
      "DIGEST_MISMATCH",
      reg.host,
    );
    assert.equal(err.exitCode, 3);
    reg.behaviour.wrongDigest = false;
  });
});

Deno.test("getBlob() follows a redirect to another origin without sending Authorization there", async () => {
  const { reg, image, repo } = await seeded({ auth: "bearer", redirectBlobs: true });
  await using _ = reg;
  const { client } = testClient();
  const layer = image.layers[0]!;
  assert.deepEqual(await readAll(await client.getBlob(repo, layer.digest)), layer.bytes);
  assert.equal(reg.cdnRequests.length, 1);
  assert.equal(reg.cdnRequests[0]!.authorization, null);
  assert.ok(reg.requests.some((r) => r.path.includes("/blobs/") && r.authorization?.startsWith("Bearer ")));
});

Deno.test("429 with Retry-After is retried; persistent 429 is RATE_LIMITED with RateLimit-Remaining", async () => {
  const { reg, repo } = await seeded();
  await using _ = reg;
  reg.behaviour.rateLimit = { count: 2, retryAfter: "2", remaining: "0;w=21600" };
  const { client, sleeps } = testClient();
  assert.deepEqual(await client.listTags(repo), ["1.0"]);
  assert.deepEqual(sleeps, [2000, 2000]);
  reg.behaviour.rateLimit = { count: 10, retryAfter: "1", remaining: "0;w=21600" };
  await assertRegistryError(client.listTags(repo), "RATE_LIMITED", reg.host, [
    "RateLimit-Remaining: 0;w=21600",
  ]);
  reg.behaviour.rateLimit = { count: 1, retryAfter: "3600" };
  const slow = testClient();
  await assertRegistryError(slow.client.listTags(repo), "RATE_LIMITED", reg.host, ["retry after 3600"]);
  assert.deepEqual(slow.sleeps, []);
});

Deno.test("bad registry input gives one-line errors naming the registry", async (t) => {
  const { reg, image, repo } = await seeded({ auth: "bearer" });
  await using _ = reg;
  const { client } = testClient({ timeoutMs: 300 });
  const layer = image.layers[0]!;
  await t.step("oversized manifest", async () => {
    reg.behaviour.oversizedManifest = true;
    await assertRegistryError(client.getManifest(repo, "1.0"), "REGISTRY_PROTOCOL", reg.host, ["4 MiB"]);
    reg.behaviour.oversizedManifest = false;
  });
  await t.step("malformed JSON", async () => {
    reg.behaviour.malformedJson = true;
    await assertRegistryError(client.getManifest(repo, "1.0"), "REGISTRY_PROTOCOL", reg.host, ["JSON"]);
    reg.behaviour.malformedJson = false;
  });
  await t.step("unknown media type", async () => {
    await reg.putManifest(
      APP,
      "weird",
      encodeJson({ schemaVersion: 2, mediaType: "application/x-weird" }),
      "application/x-weird",
    );
    await assertRegistryError(client.getManifest(repo, "weird"), "UNSUPPORTED_MEDIA_TYPE", reg.host, [
      "application/x-weird",
    ]);
  });
  await t.step("redirect loop", async () => {
    reg.behaviour.redirectLoop = true;
    await assertRegistryError(client.getBlob(repo, layer.digest), "REGISTRY_PROTOCOL", reg.host, [
      "redirect",
    ]);
    reg.behaviour.redirectLoop = false;
  });
  await t.step("garbage token endpoint", async () => {
    reg.behaviour.garbageToken = true;
    await assertRegistryError(testClient().client.getManifest(repo, "1.0"), "REGISTRY_PROTOCOL", reg.host, [
      "token",
    ]);
    reg.behaviour.garbageToken = false;
  });
  await t.step("hanging registry", async () => {
    reg.behaviour.hang = true;
    const started = Date.now();
    await assertRegistryError(client.getManifest(repo, "1.0"), "REGISTRY_UNREACHABLE", reg.host, ["0.3 s"]);
    assert.ok(Date.now() - started < 3000);
    reg.behaviour.hang = false;
  });
  await t.step("blob that stalls mid-body", async () => {
    reg.behaviour.stallBlobs = true;
    await assertRegistryError(
      client.getBlob(repo, layer.digest).then(readAll),
      "REGISTRY_UNREACHABLE",
      reg.host,
      [
        "stalled",
      ],
    );
    reg.behaviour.stallBlobs = false;
  });
  await t.step("nothing listening", async () => {
    const closed = await startFakeRegistry();
    const host = closed.host;
    await closed.close();
    const { client: c, sleeps } = testClient({ retries: 1 });
    await assertRegistryError(c.ping(host), "REGISTRY_UNREACHABLE", host);
    assert.equal(sleeps.length, 1);
  });
});

Deno.test("referrers() uses the API, then the fallback tag, and ignores a fallback that is not an index", async () => {
  const { reg, image, repo } = await seeded();
  await using _ = reg;
  const sig = await buildImage({
    artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    rawConfig: { bytes: new TextEncoder().encode("{}"), mediaType: MEDIA_TYPES.OCI_EMPTY },
    rawLayers: [{
      bytes: new TextEncoder().encode('{"bundle":1}'),
      mediaType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    }],
    subject: image.descriptor,
  });
  const sbom = await buildImage({
    artifactType: "application/spdx+json",
    rawConfig: { bytes: new TextEncoder().encode("{}"), mediaType: MEDIA_TYPES.OCI_EMPTY },
    subject: image.descriptor,
  });
  await pushImage(reg, APP, undefined, sig);
  await pushImage(reg, APP, undefined, sbom);
  const { client } = testClient();
  assert.equal((await client.referrers(repo, image.digest)).length, 2);
  const sigs = await client.referrers(repo, image.digest, { artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03 });
  assert.deepEqual(sigs.map((d) => d.digest), [sig.digest]);
  const fetched = await fetchReferrerManifest(client, repo, sigs[0]!, image.digest);
  assert.equal(fetched.digest, sig.digest);
  await assertRegistryError(
    fetchReferrerManifest(client, repo, sigs[0]!, sig.digest),
    "REGISTRY_PROTOCOL",
    reg.host,
  );

  reg.behaviour.noReferrersApi = true;
  assert.deepEqual(await client.referrers(repo, image.digest), []);
  await pushIndex(reg, APP, `sha256-${digestHex(image.digest)}`, [sig, sbom]);
  const viaTag = await client.referrers(repo, image.digest, { artifactType: "application/spdx+json" });
  assert.deepEqual(viaTag.map((d) => d.digest), [sbom.digest]);

  const other = await sampleImage(1000);
  await pushImage(reg, APP, "2.0", other);
  reg.behaviour.fallbackTagReturnsImage = true;
  assert.deepEqual(await client.referrers(repo, other.digest), []);
});

Deno.test("bearer tokens are reused until expires_in passes (default 60 s when absent)", async () => {
  const { reg, repo } = await seeded({ auth: "bearer", tokenExpiresIn: 120 });
  await using _ = reg;
  let now = 0;
  const { client } = testClient({ now: () => now });
  await client.listTags(repo);
  await client.listTags(repo);
  assert.equal(reg.tokenRequests(), 1);
  now += 100_000;
  await client.listTags(repo);
  assert.equal(reg.tokenRequests(), 1);
  now += 20_000;
  await client.listTags(repo);
  assert.equal(reg.tokenRequests(), 2);
  reg.behaviour.tokenExpiresIn = undefined;
  now += 200_000;
  await client.listTags(repo);
  assert.equal(reg.tokenRequests(), 3);
  now += 61_000;
  await client.listTags(repo);
  assert.equal(reg.tokenRequests(), 4);
});

Deno.test("originFor() maps Docker Hub to its API host and uses http only for loopback or insecure hosts", () => {
  const { client } = testClient({ isInsecure: (host) => host === "lan.test:5000" });
  assert.equal(client.originFor("docker.io"), "https://registry-1.docker.io");
  assert.equal(client.originFor("ghcr.io"), "https://ghcr.io");
  assert.equal(client.originFor("localhost:5000"), "http://localhost:5000");
  assert.equal(client.originFor("lan.test:5000"), "http://lan.test:5000");
  assert.equal(client.originFor("lan.test:5001"), "https://lan.test:5001");
});
