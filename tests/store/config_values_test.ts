/** Tests for src/store/config_values.ts: reading config.yaml through the parsed copy, and when the copy is not used. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import { toHex } from "../../src/encoding.ts";
import { isPlainData, readConfig } from "../../src/store/config_values.ts";
import meta from "../../deno.json" with { type: "json" };
import { tempDir } from "../support/temp_home.ts";

const YAML = "keep_versions: 3\nregistries:\n  - name: lab # our registry\n    url: lab.example/tools\n";

async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

async function setUp(text = YAML) {
  const dir = await tempDir();
  const path = join(dir.path, "config.yaml");
  const copyFile = join(dir.path, "config.parsed.json");
  await Deno.writeTextFile(path, text);
  return { dir, path, copyFile };
}

/** A copy as readConfig writes it, with `raw` and `source` chosen by the test. */
async function writeCopy(copyFile: string, source: string, raw: unknown, parser: string = meta.imports.yaml) {
  const record = { schema: 1, parser, source_sha256: await sha256Hex(source), raw };
  await Deno.writeTextFile(copyFile, JSON.stringify(record));
}

Deno.test("readConfig() parses config.yaml once and keeps what it said, 0600, bound to its bytes", async () => {
  const { dir, path, copyFile } = await setUp();
  await using _dir = dir;
  const first = await readConfig(path, { copyFile });
  assert.equal(first.config.keep_versions, 3);
  assert.equal(first.config.registries[0]!.url, "lab.example/tools");
  assert.equal(first.seeded, false);
  const copy = JSON.parse(await Deno.readTextFile(copyFile));
  assert.equal(copy.source_sha256, await sha256Hex(YAML));
  assert.equal(copy.parser, meta.imports.yaml);
  assert.deepEqual(copy.raw, { keep_versions: 3, registries: [{ name: "lab", url: "lab.example/tools" }] });
  assert.equal((await Deno.stat(copyFile)).mode! & 0o777, 0o600);
  assert.deepEqual((await readConfig(path, { copyFile })).config, first.config);
});

Deno.test("readConfig() validates the copy of the very same bytes instead of parsing them again", async () => {
  const { dir, path, copyFile } = await setUp();
  await using _dir = dir;
  // A copy that says something else than the YAML, bound to the YAML's bytes: used, so no parse happened.
  await writeCopy(copyFile, YAML, {
    keep_versions: 9,
    registries: [{ name: "lab", url: "lab.example/tools" }],
  });
  assert.equal((await readConfig(path, { copyFile })).config.keep_versions, 9);
  // …and validated like the YAML: relative trusted_root paths still resolve against the config's directory.
  await writeCopy(copyFile, YAML, {
    registries: [{
      name: "lab",
      url: "lab.example/tools",
      cosign_policy: { issuer: "https://i", identity: "me", trusted_root: "root.json" },
    }],
  });
  const policy = (await readConfig(path, { copyFile })).config.registries[0]!.cosign_policy!;
  assert.equal(policy.trusted_root, join(dir.path, "root.json"));
});

Deno.test("readConfig() parses the YAML when the copy is of other bytes, another parser, damaged or invalid", async (t) => {
  const cases: [string, (copyFile: string) => Promise<void>][] = [
    ["config.yaml changed by one byte", (f) => writeCopy(f, YAML.replace("3", "4"), { keep_versions: 9 })],
    ["another YAML parser", (f) => writeCopy(f, YAML, { keep_versions: 9 }, "npm:yaml@1.0.0")],
    ["half-written", (f) => Deno.writeTextFile(f, '{"schema": 1, "parser"')],
    ["not an object", (f) => Deno.writeTextFile(f, "[]")],
    ["a newer copy schema", async (f) => {
      await writeCopy(f, YAML, { keep_versions: 9 });
      const record = JSON.parse(await Deno.readTextFile(f));
      await Deno.writeTextFile(f, JSON.stringify({ ...record, schema: 2 }));
    }],
    ["values that do not validate", (f) => writeCopy(f, YAML, { keep_versions: "many" })],
  ];
  for (const [what, damage] of cases) {
    await t.step(what, async () => {
      const { dir, path, copyFile } = await setUp();
      await using _dir = dir;
      await damage(copyFile);
      assert.equal((await readConfig(path, { copyFile })).config.keep_versions, 3);
      const copy = JSON.parse(await Deno.readTextFile(copyFile));
      assert.equal(copy.source_sha256, await sha256Hex(YAML), "replaced by a copy of this config.yaml");
      assert.equal(copy.raw.keep_versions, 3);
    });
  }
});

Deno.test("readConfig() reports an invalid config.yaml by its own field even with a stale valid copy around", async () => {
  const bad = "keep_versions: -1\n";
  const { dir, path, copyFile } = await setUp(bad);
  await using _dir = dir;
  await writeCopy(copyFile, YAML, { keep_versions: 3 });
  await assert.rejects(
    readConfig(path, { copyFile }),
    (e) => isDropzoneError(e, "CONFIG_INVALID") && /keep_versions must be an integer/.test(e.message),
  );
  const broken = "registries: [\n";
  await Deno.writeTextFile(path, broken);
  await assert.rejects(
    readConfig(path, { copyFile }),
    (e) => isDropzoneError(e, "CONFIG_INVALID") && /Fix the YAML syntax/.test(e.hint ?? ""),
  );
});

Deno.test("readConfig() still reads the config when the copy cannot be written", async () => {
  const { dir, path } = await setUp();
  await using _dir = dir;
  const copyFile = join(dir.path, "no-such-dir", "config.parsed.json");
  assert.equal((await readConfig(path, { copyFile })).config.keep_versions, 3);
  assert.equal(await Deno.stat(copyFile).then(() => true, () => false), false);
});

Deno.test("readConfig() without config.yaml answers with the seed's values, and without a copy file parses", async () => {
  const dir = await tempDir();
  await using _dir = dir;
  const missing = await readConfig(join(dir.path, "config.yaml"), { copyFile: join(dir.path, "copy.json") });
  assert.equal(missing.seeded, true);
  assert.equal(missing.config.default_registry, "chainguard");
  const { path } = await setUp();
  assert.equal((await readConfig(path)).config.keep_versions, 3);
});

// No valid config.yaml holds such values today (validation wants strings, booleans and integers), so this guards the
// copy against a future setting rather than a path readConfig can take now.
Deno.test("isPlainData() accepts only what a JSON round trip keeps exactly", () => {
  assert.equal(isPlainData({ a: [1, "x", true, null, { b: 2.5 }] }), true);
  assert.equal(isPlainData(Object.assign(Object.create(null), { a: 1 })), true);
  for (const value of [Infinity, NaN, undefined, new Date(0), new Map(), 1n, [undefined], { a: () => 1 }]) {
    assert.equal(isPlainData(value), false, String(value));
  }
});
