/**
 * `pullToDirectory()` through an in-memory registry: an artifact's files land in DIR by title with a receipt; DIR
 * is refused when it is a file or not empty (unless forced), and a forced pull keeps unrelated entries.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PULL_RECORD_FILE, pullToDirectory } from "../../src/app/pull.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import { resolveReference } from "../../src/oci/reference.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { FIXTURE_REGISTRIES } from "../support/resolved_image.ts";
import { unsignedInstallDeps } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const FILES = { "tool-linux-amd64": "#!/bin/sh\necho tool\n", "README.md": "read me\n" };

/** Pushes an unsigned artifact `apps/tool:1.0` holding FILES, each layer titled. */
async function pushArtifact(registry: MemoryRegistry): Promise<void> {
  const repository = "apps/tool";
  const config = await registry.putBlob(repository, enc("{}"));
  const layers = [];
  for (const [title, content] of Object.entries(FILES)) {
    const bytes = enc(content);
    layers.push({
      mediaType: "application/octet-stream",
      digest: await registry.putBlob(repository, bytes),
      size: bytes.length,
      annotations: { "org.opencontainers.image.title": title },
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.dz.test",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config, size: 2 },
    layers,
  };
  await registry.putManifest(repository, "1.0", enc(JSON.stringify(manifest)), manifest.mediaType);
}

async function setup() {
  const home = await tempHome();
  const registry = new MemoryRegistry();
  await pushArtifact(registry);
  const deps = unsignedInstallDeps(home.layout, registry);
  const ref = resolveReference("lab/tool:1.0", { registries: FIXTURE_REGISTRIES, defaultRegistry: "lab" });
  return { home, deps, ref };
}

Deno.test("pullToDirectory() writes each artifact file by title and a receipt naming every digest", async () => {
  const { home, deps, ref } = await setup();
  await using _home = home;
  const dir = join(home.path, "out");
  const outcome = await pullToDirectory(deps, { ref, dir, allowUnsigned: true });
  for (const [title, content] of Object.entries(FILES)) {
    assert.equal(await Deno.readTextFile(join(dir, title)), content);
  }
  const record = JSON.parse(await Deno.readTextFile(join(dir, PULL_RECORD_FILE)));
  assert.deepEqual(record, outcome.record);
  assert.equal(record.kind, "artifact");
  assert.equal(record.reference, "lab/tool:1.0");
  assert.equal(record.tag, "1.0");
  assert.equal(record.signer, null);
  assert.equal(record.allow_unsigned, true);
  assert.equal(record.pulled_at, "2026-12-01T12:00:00.000Z");
  assert.deepEqual(
    record.files.map((f: { name: string; digest: string }) => [f.name, f.digest]),
    await Promise.all(Object.entries(FILES).map(async ([t, c]) => [t, await sha256Digest(enc(c))])),
  );
  assert.deepEqual(
    outcome.written.sort(),
    [...Object.keys(FILES), PULL_RECORD_FILE].map((n) => join(dir, n)).sort(),
  );
  const leftovers = (await Array.fromAsync(Deno.readDir(home.path))).filter((e) =>
    e.name.startsWith(".dz-pull-")
  );
  assert.deepEqual(leftovers, [], "no staging directory is left next to DIR");
});

Deno.test("pullToDirectory() refuses a DIR that is a file, or not empty without --force, and writes nothing", async () => {
  const { home, deps, ref } = await setup();
  await using _home = home;
  const file = join(home.path, "a-file");
  await Deno.writeTextFile(file, "keep");
  await assert.rejects(
    () => pullToDirectory(deps, { ref, dir: file, allowUnsigned: true }),
    (err) => isDropzoneError(err, "NAME_CONFLICT") && /not a directory/.test(err.message),
  );
  assert.equal(await Deno.readTextFile(file), "keep");

  const full = join(home.path, "full");
  await Deno.mkdir(full);
  await Deno.writeTextFile(join(full, "mine"), "mine");
  await assert.rejects(
    () => pullToDirectory(deps, { ref, dir: full, allowUnsigned: true }),
    (err) =>
      isDropzoneError(err, "NAME_CONFLICT") && /exists and is not empty/.test(err.message) &&
      /--force/.test(err.hint ?? ""),
  );
  assert.deepEqual((await Array.fromAsync(Deno.readDir(full))).map((e) => e.name), ["mine"]);
});

Deno.test("pullToDirectory({ force }) replaces same-named entries and keeps the others", async () => {
  const { home, deps, ref } = await setup();
  await using _home = home;
  const dir = join(home.path, "out");
  await Deno.mkdir(join(dir, "README.md"), { recursive: true });
  await Deno.writeTextFile(join(dir, "README.md", "old"), "a directory in the way");
  await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
  await pullToDirectory(deps, { ref, dir, allowUnsigned: true, force: true });
  assert.equal(await Deno.readTextFile(join(dir, "README.md")), FILES["README.md"]);
  assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "mine");
  assert.ok(await Deno.lstat(join(dir, PULL_RECORD_FILE)));
});

Deno.test("pullToDirectory() without --allow-unsigned from a registry with no policy is refused before writing", async () => {
  const { home, deps, ref } = await setup();
  await using _home = home;
  const dir = join(home.path, "out");
  await assert.rejects(() => pullToDirectory(deps, { ref, dir }));
  await assert.rejects(() => Deno.lstat(dir), Deno.errors.NotFound);
});
