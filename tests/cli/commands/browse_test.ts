/** Tests for src/cli/commands/browse.ts: `dz tags` and `dz search` output, --json shapes and errors. */
import assert from "node:assert/strict";
import { writeMetadata } from "../../../src/store/metadata.ts";
import { readCurrent } from "../../../src/store/packages.ts";
import { runDz } from "../../support/cli_harness.ts";
import { type FakeRegistry, startFakeRegistry } from "../../support/fake_registry.ts";
import { buildImage } from "../../support/image_builder.ts";
import { installVersion, sampleMetadata } from "../../support/store_fixtures.ts";
import { type TempHome, tempHome } from "../../support/temp_home.ts";

const SIDECAR = `sha256-${"b".repeat(64)}.sig`;

async function labWith(repos: Record<string, string[]>): Promise<FakeRegistry> {
  const reg = await startFakeRegistry();
  const img = await buildImage();
  for (const [repo, tags] of Object.entries(repos)) {
    for (const tag of tags) await reg.putManifest(repo, tag, img.manifestBytes, img.mediaType);
  }
  return reg;
}

async function addLab(home: TempHome, reg: FakeRegistry): Promise<void> {
  const r = await runDz(
    [
      "add",
      "registry",
      "lab",
      `${reg.host}/team`,
      "--issuer",
      "https://issuer.example",
      "--identity",
      "https://id.example",
    ],
    { home: home.path },
  );
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("dz tags: newest first one per line, sidecars hidden with a note; --all and --json", async () => {
  await using reg = await labWith({ "team/tool": ["latest", "1.9", "1.10", "1.2-dev", SIDECAR] });
  await using home = await tempHome();
  await addLab(home, reg);
  const r = await runDz(["tags", "lab/tool"], { home: home.path });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n")[0], "latest");
  assert.ok(r.stdout.indexOf("1.10\n") < r.stdout.indexOf("1.9\n"), "version order, not string order");
  assert.ok(!r.stdout.includes(SIDECAR));
  assert.match(r.stderr, /\(1 cosign signature\/attestation tags hidden; --all shows them\)/);
  const all = await runDz(["tags", "lab/tool", "--all"], { home: home.path });
  assert.ok(all.stdout.includes(SIDECAR));
  assert.ok(!all.stderr.includes("hidden"));
  const json = JSON.parse(
    (await runDz(["tags", "tool", "--registry", "lab", "--json"], { home: home.path })).stdout,
  );
  assert.deepEqual(Object.keys(json).sort(), [
    "hidden_sidecars",
    "registry",
    "registry_host",
    "registry_name",
    "repository",
    "tags",
  ]);
  assert.deepEqual(
    [json.registry, json.registry_host, json.registry_name, json.repository, json.hidden_sidecars],
    [reg.host, reg.host, "lab", "team/tool", 1],
  );
  assert.equal(json.tags.length, 4);
});

Deno.test("dz tags of an ad-hoc host has no registry name; of an installed name it asks the recorded source", async () => {
  await using reg = await labWith({ "team/tool": ["1.0"], "x/jq": ["1.7", "1.8"] });
  await using home = await tempHome();
  const adHoc = JSON.parse(
    (await runDz(["tags", `${reg.host}/team/tool`, "--json"], { home: home.path })).stdout,
  );
  assert.equal(adHoc.registry_name, null);
  assert.deepEqual(adHoc.tags, ["1.0"]);
  const meta = await sampleMetadata("jq", "1.7", {
    registry: { name: "lab", url: `${reg.host}/x` },
    repository: "x/jq",
  });
  await installVersion(home.layout, "jq", "1.7");
  // Point the installed metadata's source at the fake registry.
  const cur = (await readCurrent(home.layout, "jq"))!;
  await writeMetadata(`${cur.dir}/metadata.json`, {
    ...cur.metadata,
    registry: meta.registry,
    repository: "x/jq",
  });
  const installed = JSON.parse((await runDz(["tags", "jq", "--json"], { home: home.path })).stdout);
  assert.deepEqual([installed.registry_host, installed.repository, installed.tags], [reg.host, "x/jq", [
    "1.8",
    "1.7",
  ]]);
});

Deno.test("dz tags with no installable tags says so on stderr; an unreachable registry is exit 1, never 3", async () => {
  await using reg = await labWith({ "team/empty": [SIDECAR] });
  await using home = await tempHome();
  const empty = await runDz(["tags", `${reg.host}/team/empty`], { home: home.path });
  assert.deepEqual([empty.code, empty.stdout], [0, ""]);
  assert.match(
    empty.stderr,
    new RegExp(`No installable tags for ${reg.host.replace(/\./g, "\\.")}/team/empty`),
  );
  const dead = await runDz(["tags", "127.0.0.1:1/x/y"], { home: home.path });
  assert.equal(dead.code, 1, dead.stderr);
  assert.match(dead.stderr, /^error: /m);
  assert.equal((await runDz(["tags"], { home: home.path })).code, 2);
});

Deno.test("dz search: repositories under the registry's namespace matching the term; --json; no match", async () => {
  await using reg = await labWith({
    "team/jq": ["1"],
    "team/jql": ["1"],
    "team/curl": ["1"],
    "other/jq": ["1"],
  });
  await using home = await tempHome();
  await addLab(home, reg);
  const r = await runDz(["search", "jq", "--registry", "lab"], { home: home.path });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "jq\njql\n", "names as installable under the registry (lab/jq)");
  const json = JSON.parse(
    (await runDz(["search", "--registry", "lab", "--json"], { home: home.path })).stdout,
  );
  assert.deepEqual(Object.keys(json).sort(), [
    "cached",
    "registry",
    "registry_host",
    "registry_name",
    "repositories",
  ]);
  assert.deepEqual([json.registry, json.registry_name, json.registry_host], ["lab", "lab", reg.host]);
  assert.deepEqual(json.repositories.sort(), ["curl", "jq", "jql"]);
  assert.equal(json.cached, true, "the second search within the TTL comes from the cache");
  const none = await runDz(["search", "zzz", "--registry", "lab"], { home: home.path });
  assert.deepEqual([none.code, none.stdout], [0, ""]);
  assert.match(none.stderr, /No images match "zzz" in lab/);
});

Deno.test("dz search errors: unknown registry (hint), all of Docker Hub, and a registry without a catalog", async () => {
  await using reg = await labWith({});
  reg.behaviour.noCatalog = true;
  await using home = await tempHome();
  await addLab(home, reg);
  const unknown = await runDz(["search", "--registry", "nope"], { home: home.path });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: No registry named "nope"$/m);
  assert.match(unknown.stderr, /^hint: Run "dz list registries", or pass --registry <name>$/m);
  const hub = await runDz(
    [
      "add",
      "registry",
      "hub",
      "docker.io",
      "--issuer",
      "https://i.example",
      "--identity",
      "https://id.example",
    ],
    { home: home.path },
  );
  assert.equal(hub.code, 0, hub.stderr);
  const whole = await runDz(["search", "--registry", "hub"], { home: home.path });
  assert.equal(whole.code, 1);
  assert.match(whole.stderr, /^error: Registry "hub" is all of Docker Hub$/m);
  const noCatalog = await runDz(["search", "--registry", "lab", "--refresh"], { home: home.path });
  assert.equal(noCatalog.code, 1, noCatalog.stderr);
  assert.match(noCatalog.stderr, /does not offer a catalog/);
  assert.match(noCatalog.stderr, /dz tags lab\/<image>/);
});
