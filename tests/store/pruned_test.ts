/** Receipts of pruned versions (src/store/pruned.ts): recorded by prune, merged, parsed and chosen by rollback. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { prune } from "../../src/store/packages.ts";
import {
  choosePruned,
  mergePruned,
  parsePruned,
  PRUNED_FILE,
  readPruned,
  recordPruned,
} from "../../src/store/pruned.ts";
import { tempHome } from "../support/temp_home.ts";
import { installVersion, sampleMetadata } from "../support/store_fixtures.ts";

Deno.test("prune() keeps the receipts of the versions it removes, newest first, before removing them", async () => {
  await using home = await tempHome();
  const v1 = await installVersion(home.layout, "jq", "1");
  const v2 = await installVersion(home.layout, "jq", "2");
  await installVersion(home.layout, "jq", "3");
  assert.deepEqual(await readPruned(home.layout, "jq"), []);
  assert.deepEqual(await prune(home.layout, "jq", { keep: 1 }), [v1.digest]);
  assert.deepEqual(await readPruned(home.layout, "jq"), [v1.metadata]);
  assert.deepEqual(await prune(home.layout, "jq", { keep: 0 }), [v2.digest]);
  assert.deepEqual((await readPruned(home.layout, "jq")).map((m) => m.digest), [v2.digest, v1.digest]);
  const text = await Deno.readTextFile(join(home.layout.packages, "jq", PRUNED_FILE));
  assert.equal(JSON.parse(text).schema_version, 1);
});

Deno.test("mergePruned() puts the newly pruned first, keeps one receipt per digest and caps the list", async () => {
  const [a, b, c] = await Promise.all(["a", "b", "c"].map((v) => sampleMetadata("jq", v)));
  const a2 = { ...a!, installed_at: "2026-12-01T00:00:00.000Z" };
  assert.deepEqual(mergePruned([a!, b!], [c!]), [c, a, b]);
  assert.deepEqual(mergePruned([a!, b!], [a2]), [a2, b], "the newer receipt of a digest wins");
  assert.deepEqual(mergePruned([a!, b!], [c!], 2), [c, a]);
});

Deno.test("parsePruned() skips receipts it cannot read and treats a damaged file as empty", async () => {
  const good = await sampleMetadata("jq", "1");
  const cases: [string, number][] = [
    ["not json", 0],
    ["{}", 0],
    [JSON.stringify({ pruned: "x" }), 0],
    [JSON.stringify({ pruned: [good, { ...good, schema_version: 9 }, { nope: 1 }] }), 1],
  ];
  for (const [text, count] of cases) assert.equal(parsePruned(text, "pruned.json").length, count, text);
});

Deno.test("recordPruned() with nothing removed writes no file", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "jq", "1");
  await recordPruned(home.layout, "jq", []);
  await assert.rejects(() => Deno.lstat(join(home.layout.packages, "jq", PRUNED_FILE)), Deno.errors.NotFound);
});

Deno.test("choosePruned() picks the one receipt a digest or prefix names, unless an installed version matches", async () => {
  const r1 = await sampleMetadata("jq", "1");
  const r2 = await sampleMetadata("jq", "2");
  const hex = (d: Digest) => d.slice("sha256:".length);
  const pick = (to: string, installed: Digest[] = []) =>
    choosePruned({ name: "jq", to, installed, pruned: [r1, r2] })?.digest;
  const cases: [string, Digest[], Digest | undefined][] = [
    [r1.digest, [], r1.digest],
    [hex(r2.digest).slice(0, 8), [], r2.digest],
    [`sha256-${hex(r1.digest).slice(0, 6)}`, [], r1.digest],
    [hex(r1.digest).toUpperCase(), [], r1.digest],
    [r1.digest, [r1.digest], undefined],
    ["12", [], undefined],
    ["zzzz", [], undefined],
    ["f".repeat(64), [], undefined],
  ];
  for (const [to, installed, want] of cases) assert.equal(pick(to, installed), want, to);

  const same = { ...r2, digest: `sha256:${hex(r1.digest).slice(0, 4)}${"0".repeat(60)}` as Digest };
  assert.throws(
    () => choosePruned({ name: "jq", to: hex(r1.digest).slice(0, 4), installed: [], pruned: [r1, same] }),
    (err) => isDropzoneError(err, "INVALID_ARGUMENT") && /ambiguous/.test(err.message),
  );
});
