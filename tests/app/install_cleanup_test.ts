/** What a failed install leaves behind is removed: layer snapshots it extracted that nothing installed uses. */
import assert from "node:assert/strict";
import { discardSnapshots } from "../../src/app/install_cleanup.ts";
import { openLayerStore } from "../../src/store/layer_store.ts";
import { buildTar, file, streamOf } from "../support/tar_writer.ts";
import { tempHome } from "../support/temp_home.ts";
import { installVersion } from "../support/store_fixtures.ts";
import { tarDigest } from "../support/unpack_fixtures.ts";

Deno.test("discardSnapshots() removes the snapshots a failed install extracted unless an installed version uses them", async () => {
  await using home = await tempHome();
  const store = openLayerStore(home.layout.layers);
  const used = buildTar([file("used", "u")]);
  const orphan = buildTar([file("orphan", "o")]);
  for (const tar of [used, orphan]) await store.extract(tarDigest(tar), () => Promise.resolve(streamOf(tar)));
  // An installed version references `used` (metadata.layers).
  const version = await installVersion(home.layout, "tool", "1");
  const metaPath = `${version.dir}/metadata.json`;
  const meta = JSON.parse(await Deno.readTextFile(metaPath));
  meta.layers = [tarDigest(used)];
  await Deno.writeTextFile(metaPath, JSON.stringify(meta));

  const removed = await discardSnapshots(home.layout, new Set([tarDigest(used), tarDigest(orphan)]));
  assert.deepEqual(removed, [tarDigest(orphan)]);
  assert.ok(await store.load(tarDigest(used)), "kept: an installed version uses it");
  assert.equal(await store.load(tarDigest(orphan)), undefined);
  assert.deepEqual(await discardSnapshots(home.layout, new Set()), []);
});
