import assert from "node:assert/strict";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { buildImage } from "../support/image_builder.ts";
import { listTagsSorted, login, logout, searchCatalog } from "../../src/app/registry_ops.ts";
import { createCredentialLookup } from "../../src/registry/credentials.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { testClient } from "../support/registry_client.ts";

Deno.test("login() verifies before saving; logout() removes; the lookup then finds the credentials", async () => {
  await using reg = await startFakeRegistry({ auth: "bearer", anonymousPull: false, users: { alice: "pw" } });
  const dir = await Deno.makeTempDir();
  try {
    const authFile = `${dir}/auth.json`;
    const { client } = testClient();
    await assert.rejects(
      login({ client, authFile, host: reg.host, username: "alice", password: "wrong" }),
      (err) =>
        isDropzoneError(err, "REGISTRY_AUTH") && /rejected the credentials/.test(err.message) && !!err.hint,
    );
    await assert.rejects(Deno.stat(authFile), Deno.errors.NotFound);
    const result = await login({ client, authFile, host: reg.host, username: "alice", password: "pw" });
    assert.deepEqual(result, { host: reg.host, verified: true, authFileWasPermissive: false });
    const lookup = createCredentialLookup({ authFile, env: () => undefined, homeDir: dir });
    assert.deepEqual(await lookup(reg.host, "any/repo"), { username: "alice", password: "pw" });
    assert.deepEqual(await logout({ authFile, host: reg.host }), { removed: true });
    assert.deepEqual(await logout({ authFile, host: reg.host }), { removed: false });
    assert.equal(await lookup(reg.host), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listTagsSorted() sorts newest first and hides sidecar tags unless all", async () => {
  await using reg = await startFakeRegistry();
  const img = await buildImage();
  const sidecar = `sha256-${"b".repeat(64)}.sig`;
  for (const tag of ["latest", "1.10", "1.9", sidecar]) {
    await reg.putManifest("a/b", tag, img.manifestBytes, img.mediaType);
  }
  const { client } = testClient();
  const repo = { registry: reg.host, repository: "a/b" };
  assert.deepEqual(await listTagsSorted(client, repo), {
    tags: ["latest", "1.10", "1.9"],
    hiddenSidecars: [sidecar],
  });
  assert.deepEqual(await listTagsSorted(client, repo, { all: true }), {
    tags: ["latest", "1.10", "1.9", sidecar],
    hiddenSidecars: [],
  });
});

Deno.test("searchCatalog() filters by namespace and term and caches the catalog for the TTL", async () => {
  await using reg = await startFakeRegistry();
  const img = await buildImage();
  for (const repo of ["chainguard/jq", "chainguard/curl", "chainguard/jql", "other/jq"]) {
    await reg.putManifest(repo, "latest", img.manifestBytes, img.mediaType);
  }
  const dir = await Deno.makeTempDir();
  try {
    const { client } = testClient();
    let now = 1_000_000;
    const options = { registry: reg.host, cacheDir: `${dir}/cache`, now: () => now };
    const first = await searchCatalog(client, { ...options, namespacePrefix: "chainguard", term: "JQ" });
    assert.deepEqual(first, { repositories: ["jq", "jql"], fromCache: false, fetchedAt: 1_000_000 });
    const catalogCalls = () => reg.requests.filter((r) => r.path === "/v2/_catalog").length;
    assert.equal(catalogCalls(), 1);
    now += 60_000;
    const second = await searchCatalog(client, { ...options, term: "jq" });
    assert.deepEqual(second, {
      repositories: ["chainguard/jq", "chainguard/jql", "other/jq"],
      fromCache: true,
      fetchedAt: 1_000_000,
    });
    assert.equal(catalogCalls(), 1);
    assert.equal((await searchCatalog(client, { ...options, refresh: true })).fromCache, false);
    now += 3_600_001;
    assert.equal((await searchCatalog(client, options)).fromCache, false);
    assert.equal(catalogCalls(), 3);
    assert.deepEqual([...Deno.readDirSync(`${dir}/cache`)].map((e) => e.name), [
      `catalog-127.0.0.1_${reg.host.split(":")[1]}.json`,
    ]);
    reg.behaviour.noCatalog = true;
    await assert.rejects(
      searchCatalog(client, { ...options, refresh: true }),
      (err) => isDropzoneError(err, "CATALOG_UNAVAILABLE"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
