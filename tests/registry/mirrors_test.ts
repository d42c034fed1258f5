/** Mirror locations as a RegistryClient wrapper: which location is asked, what falls through, what is blamed. */
import assert from "node:assert/strict";
import { DropzoneError } from "../../src/errors.ts";
import {
  candidatesFor,
  createMirrorClient,
  fallThroughOf,
  type MirrorEntry,
  parseHostPath,
} from "../../src/registry/mirrors.ts";
import { createCredentialLookup } from "../../src/registry/credentials.ts";
import { RegistryError } from "../../src/registry/registry_error.ts";
import type { RepoRef } from "../../src/registry/types.ts";
import { buildImage, pushImage } from "../support/image_builder.ts";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { testClient } from "../support/registry_client.ts";

const CG: RepoRef = { registry: "docker.io", repository: "chainguard/jq" };
const mirror = (over: Partial<MirrorEntry> = {}): MirrorEntry => ({
  prefix: "docker.io/chainguard",
  locations: ["mirror.corp.example/hub-chainguard", "127.0.0.1:5000/chainguard"],
  pull_from_mirror: "all",
  insecure: false,
  ...over,
});

Deno.test("candidatesFor() maps a repository under a prefix to each location in order, then the upstream", async (t) => {
  const cases: {
    name: string;
    mirrors: MirrorEntry[];
    repo: RepoRef;
    kind: "digest" | "tag";
    upstreamFirst?: boolean;
    want: (string | null)[];
  }[] = [
    {
      name: "host/namespace prefix, all",
      mirrors: [mirror()],
      repo: CG,
      kind: "tag",
      want: ["mirror.corp.example/hub-chainguard/jq", "127.0.0.1:5000/chainguard/jq", null],
    },
    {
      name: "digest-only: tags go upstream alone",
      mirrors: [mirror({ pull_from_mirror: "digest-only" })],
      repo: CG,
      kind: "tag",
      want: [null],
    },
    {
      name: "digest-only: digests still come from the mirrors",
      mirrors: [mirror({ pull_from_mirror: "digest-only" })],
      repo: CG,
      kind: "digest",
      want: ["mirror.corp.example/hub-chainguard/jq", "127.0.0.1:5000/chainguard/jq", null],
    },
    {
      name: "update checks ask the upstream first for tags",
      mirrors: [mirror()],
      repo: CG,
      kind: "tag",
      upstreamFirst: true,
      want: [null, "mirror.corp.example/hub-chainguard/jq", "127.0.0.1:5000/chainguard/jq"],
    },
    {
      name: "a host prefix keeps the whole repository",
      mirrors: [{ ...mirror(), prefix: "docker.io", locations: ["127.0.0.1:5000"] }],
      repo: { registry: "docker.io", repository: "library/alpine" },
      kind: "tag",
      want: ["127.0.0.1:5000/library/alpine", null],
    },
    {
      name: "the longest prefix wins",
      mirrors: [
        { ...mirror(), prefix: "docker.io", locations: ["hub.mirror"] },
        { ...mirror(), locations: ["cg.mirror/x"] },
      ],
      repo: CG,
      kind: "digest",
      want: ["cg.mirror/x/jq", null],
    },
    {
      name: "another namespace on the same host is not covered",
      mirrors: [mirror()],
      repo: { registry: "docker.io", repository: "chainguardx/jq" },
      kind: "digest",
      want: [null],
    },
    {
      name: "loopback spellings of the prefix are one host",
      mirrors: [{ ...mirror(), prefix: "localhost:5000/team", locations: ["127.0.0.1:6000/cache"] }],
      repo: { registry: "127.0.0.1:5000", repository: "team/app" },
      kind: "digest",
      want: ["127.0.0.1:6000/cache/app", null],
    },
    {
      name: "another host is not covered",
      mirrors: [mirror()],
      repo: { registry: "ghcr.io", repository: "chainguard/jq" },
      kind: "digest",
      want: [null],
    },
    {
      name: "Docker Hub aliases in the prefix are docker.io",
      mirrors: [{ ...mirror(), prefix: "index.docker.io/chainguard", locations: ["m.example"] }],
      repo: CG,
      kind: "digest",
      want: ["m.example/jq", null],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = candidatesFor(c.mirrors, c.repo, c.kind, { tagsUpstreamFirst: c.upstreamFirst === true })
        .map((x) => x.location === null ? null : `${x.repo.registry}/${x.repo.repository}`);
      assert.deepEqual(got, c.want);
    });
  }
});

Deno.test("parseHostPath() normalises case and Docker Hub aliases and refuses schemes and junk", () => {
  assert.deepEqual(parseHostPath("Mirror.Example:5000/hub", "x"), {
    host: "mirror.example:5000",
    namespace: "hub",
  });
  assert.deepEqual(parseHostPath("registry-1.docker.io", "x"), { host: "docker.io", namespace: "" });
  for (const bad of ["http://m.example", "", "m example", "m.example/UP PER"]) {
    assert.throws(
      () => parseHostPath(bad, "mirror location"),
      (e: unknown) => e instanceof DropzoneError && e.code === "INVALID_ARGUMENT",
    );
  }
});

Deno.test("fallThroughOf() lets only not-found and network failures reach the next location", () => {
  const e = (code: ConstructorParameters<typeof DropzoneError>[0], status?: number, retryable?: boolean) =>
    new RegistryError(code, "x", {
      ...(status === undefined ? {} : { status }),
      ...(retryable === undefined ? {} : { retryable }),
    });
  assert.equal(fallThroughOf(new DropzoneError("MANIFEST_UNKNOWN", "x")), "not-found");
  assert.equal(fallThroughOf(e("REGISTRY_HTTP", 404)), "not-found");
  assert.equal(fallThroughOf(e("REGISTRY_UNREACHABLE", undefined, true)), "unreachable");
  assert.equal(fallThroughOf(e("REGISTRY_HTTP", 503, true)), "unreachable");
  assert.equal(fallThroughOf(e("RATE_LIMITED", 429, true)), "unreachable");
  for (
    const code of ["DIGEST_MISMATCH", "REGISTRY_PROTOCOL", "REGISTRY_AUTH", "SIGNATURE_INVALID"] as const
  ) {
    assert.equal(fallThroughOf(new DropzoneError(code, "x")), undefined, code);
  }
  assert.equal(fallThroughOf(e("REGISTRY_AUTH", 401)), undefined);
  assert.equal(fallThroughOf(e("REGISTRY_HTTP", 400)), undefined);
  assert.equal(fallThroughOf(new TypeError("raw")), undefined);
});

async function twoRegistries() {
  const upstream = await startFakeRegistry();
  const mirrorReg = await startFakeRegistry();
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "A" }] }] });
  await pushImage(upstream, "team/app", "1.0", image);
  const entry: MirrorEntry = {
    prefix: `${upstream.host}/team`,
    locations: [`${mirrorReg.host}/cache/team`],
    pull_from_mirror: "all",
    insecure: false,
  };
  const repo: RepoRef = { registry: upstream.host, repository: "team/app" };
  /** Forgets the pushes, so the logs hold only what the client under test asked. */
  const resetLogs = () => {
    upstream.requests.splice(0);
    mirrorReg.requests.splice(0);
  };
  return { upstream, mirrorReg, image, entry, repo, resetLogs };
}

Deno.test("createMirrorClient() serves from the mirror when it has the content and never asks the upstream", async () => {
  const { upstream, mirrorReg, image, entry, repo, resetLogs } = await twoRegistries();
  await using _u = upstream;
  await using _m = mirrorReg;
  await pushImage(mirrorReg, "cache/team/app", "1.0", image);
  resetLogs();
  const client = createMirrorClient(testClient().client, { mirrors: [entry] });
  const fetched = await client.getManifest(repo, "1.0");
  assert.equal(fetched.digest, image.digest);
  const layer = image.layers[0]!;
  await client.getBlobBytes(repo, layer.digest, { size: layer.bytes.length });
  assert.equal(client.servedBy(repo, image.digest), entry.locations[0]);
  assert.equal(client.servedBy(repo, layer.digest), entry.locations[0]);
  assert.deepEqual(client.mirrorsUsed(repo), [entry.locations[0]]);
  assert.deepEqual(upstream.requests, []);
  assert.ok(mirrorReg.requests.some((r) => r.path === "/v2/cache/team/app/manifests/1.0"));
});

Deno.test("createMirrorClient() falls through to the upstream on not found and says so when all miss", async () => {
  const { upstream, mirrorReg, image, entry, repo } = await twoRegistries();
  await using _u = upstream;
  await using _m = mirrorReg;
  const skips: string[] = [];
  const client = createMirrorClient(testClient().client, {
    mirrors: [entry],
    onSkip: (s) => skips.push(`${s.location} ${s.reason}`),
  });
  assert.equal((await client.getManifest(repo, "1.0")).digest, image.digest);
  assert.equal(client.servedBy(repo, image.digest), null);
  assert.deepEqual(client.mirrorsUsed(repo), []);
  assert.deepEqual(skips, [`${entry.locations[0]} not-found`]);
  await assert.rejects(client.getManifest(repo, "2.0"), (e: unknown) => {
    assert.ok(e instanceof DropzoneError);
    assert.equal(e.code, "MANIFEST_UNKNOWN");
    assert.match(e.message, new RegExp(`mirrors tried first: ${entry.locations[0]}: not found`));
    return true;
  });
  assert.equal(await client.headManifest(repo, "2.0"), null);
});

Deno.test("createMirrorClient() skips an unreachable mirror once, warns, and does not ask it again", async () => {
  const { upstream, mirrorReg, image, entry, repo } = await twoRegistries();
  await using _u = upstream;
  const deadHost = mirrorReg.host;
  await mirrorReg.close();
  const skips: string[] = [];
  const client = createMirrorClient(testClient({ retries: 0 }).client, {
    mirrors: [{ ...entry, locations: [`${deadHost}/cache/team`] }],
    onSkip: (s) => skips.push(`${s.location} ${s.reason}`),
  });
  assert.equal((await client.getManifest(repo, "1.0")).digest, image.digest);
  assert.equal((await client.getManifest(repo, image.digest)).digest, image.digest);
  assert.deepEqual(skips, [`${deadHost}/cache/team unreachable`]);
});

Deno.test("createMirrorClient() gives up on an unreachable upstream for the run while its mirror keeps answering", async () => {
  const { upstream, mirrorReg, image, entry, repo, resetLogs } = await twoRegistries();
  await using _m = mirrorReg;
  await pushImage(mirrorReg, "cache/team/app", "1.0", image);
  await upstream.close();
  resetLogs();
  let attempts = 0;
  const inner = testClient({ retries: 0 }).client;
  const counting = {
    ...inner,
    getManifest: (r: RepoRef, ref: string, o?: { signal?: AbortSignal }) => {
      if (r.registry === upstream.host) attempts++;
      return inner.getManifest(r, ref, o);
    },
  };
  const client = createMirrorClient(counting, { mirrors: [entry] });
  const missing = (tag: string) =>
    assert.rejects(client.getManifest(repo, tag), (e: unknown) => {
      assert.ok(e instanceof DropzoneError);
      assert.equal(e.code, "REGISTRY_UNREACHABLE");
      assert.match(e.message, /mirrors tried first/);
      return true;
    });
  await missing("sha256-aaaa.att");
  await missing("sha256-bbbb.att");
  assert.equal(attempts, 1, "the second lookup does not wait for the dead upstream again");
  assert.equal((await client.getManifest(repo, "1.0")).digest, image.digest);
});

Deno.test("createMirrorClient() reports a mirror serving wrong bytes for a digest, naming it, without falling through", async () => {
  const { upstream, mirrorReg, image, entry, repo, resetLogs } = await twoRegistries();
  await using _u = upstream;
  await using _m = mirrorReg;
  await pushImage(mirrorReg, "cache/team/app", "1.0", image);
  resetLogs();
  mirrorReg.behaviour.wrongDigest = true;
  const client = createMirrorClient(testClient().client, { mirrors: [entry] });
  await assert.rejects(client.getManifest(repo, image.digest), (e: unknown) => {
    assert.ok(e instanceof DropzoneError);
    assert.equal(e.code, "DIGEST_MISMATCH");
    assert.equal(e.exitCode, 3);
    assert.ok(
      e.message.startsWith(`Mirror ${entry.locations[0]} (for ${upstream.host}/team/app)`),
      e.message,
    );
    return true;
  });
  assert.deepEqual(upstream.requests, [], "a bad mirror is never papered over by the upstream");
  const layer = image.layers[0]!;
  await assert.rejects(
    client.getBlobBytes(repo, layer.digest, { size: layer.bytes.length }),
    (e: unknown) => {
      assert.ok(e instanceof DropzoneError);
      assert.equal(e.exitCode, 3, `${e.code}: ${e.message}`);
      assert.ok(e.message.includes(mirrorReg.host), e.message);
      return true;
    },
  );
  assert.deepEqual(upstream.requests, []);
});

Deno.test("createMirrorClient() with digest-only never asks the mirror for a tag, signature tag or referrers list", async () => {
  const { upstream, mirrorReg, image, entry, repo, resetLogs } = await twoRegistries();
  await using _u = upstream;
  await using _m = mirrorReg;
  await pushImage(mirrorReg, "cache/team/app", "1.0", image);
  resetLogs();
  const client = createMirrorClient(testClient().client, {
    mirrors: [{ ...entry, pull_from_mirror: "digest-only" }],
  });
  const top = await client.getManifest(repo, "1.0");
  await client.getManifest(repo, top.digest);
  await client.getManifest(repo, `sha256-${top.digest.slice(7)}.sig`).catch(() => {});
  await client.headManifest(repo, "1.0");
  await client.referrers(repo, top.digest);
  await client.listTags(repo);
  const layer = image.layers[0]!;
  await client.getBlobBytes(repo, layer.digest, { size: layer.bytes.length });
  const mirrorPaths = mirrorReg.requests.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(mirrorPaths, [
    `GET /v2/cache/team/app/manifests/${top.digest}`,
    `GET /v2/cache/team/app/blobs/${layer.digest}`,
  ]);
  assert.equal(client.servedBy(repo, top.digest), entry.locations[0]);
  const upstreamPaths = upstream.requests.map((r) => r.path);
  assert.ok(upstreamPaths.includes("/v2/team/app/manifests/1.0"));
  assert.ok(upstreamPaths.includes(`/v2/team/app/manifests/sha256-${top.digest.slice(7)}.sig`));
  assert.ok(!upstreamPaths.some((p) => p.includes("/blobs/")), "blobs come from the mirror");
});

Deno.test("createMirrorClient() sends each location its own credentials and never another's", async () => {
  const upstream = await startFakeRegistry({ auth: "basic", users: { up: "up-secret" } });
  await using _u = upstream;
  const mirrorReg = await startFakeRegistry({ auth: "basic", users: { mir: "mir-secret" } });
  await using _m = mirrorReg;
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "A" }] }] });
  await pushImage(upstream, "team/app", "1.0", image);
  await pushImage(mirrorReg, "cache/team/app", "1.0", image);
  const home = await Deno.makeTempDir({ prefix: "dz-mirror-creds-" });
  try {
    const authFile = `${home}/auth.json`;
    const basic = (u: string, p: string) => ({ auth: btoa(`${u}:${p}`) });
    await Deno.writeTextFile(
      authFile,
      JSON.stringify({
        auths: { [upstream.host]: basic("up", "up-secret"), [mirrorReg.host]: basic("mir", "mir-secret") },
      }),
    );
    const credentials = createCredentialLookup({ authFile, env: () => undefined, homeDir: home });
    const client = createMirrorClient(testClient({ credentials }).client, {
      mirrors: [{
        prefix: `${upstream.host}/team`,
        locations: [`${mirrorReg.host}/cache/team`],
        pull_from_mirror: "all",
        insecure: false,
      }],
    });
    const repo = { registry: upstream.host, repository: "team/app" };
    await client.getManifest(repo, "1.0"); // the mirror
    await client.getManifest(repo, "missing").catch(() => {}); // mirror 404, then the upstream
    await client.listTags(repo);
    const upAuth = "Basic " + btoa("up:up-secret");
    const mirAuth = "Basic " + btoa("mir:mir-secret");
    assert.ok(mirrorReg.requests.some((r) => r.authorization === mirAuth));
    assert.ok(upstream.requests.some((r) => r.authorization === upAuth));
    assert.ok(
      mirrorReg.requests.every((r) => r.authorization !== upAuth),
      "upstream login sent to the mirror",
    );
    assert.ok(
      upstream.requests.every((r) => r.authorization !== mirAuth),
      "mirror login sent to the upstream",
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
