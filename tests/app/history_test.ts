/** Tests for src/app/history.ts: a package's versions as one view (current, rollback steps, damaged versions). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { packageHistory } from "../../src/app/history.ts";
import { activate, METADATA_FILE } from "../../src/store/packages.ts";
import { installVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("packageHistory(): newest activation first, the current marked, rollback steps counted back", async () => {
  await using home = await tempHome();
  const v1 = await installVersion(home.layout, "jq", "1.6");
  const v2 = await installVersion(home.layout, "jq", "1.7");
  const v3 = await installVersion(home.layout, "jq", "1.8");
  const rows = await packageHistory(home.layout, "jq");
  assert.deepEqual(rows.map((r) => [r.digest, r.current, r.rollback_step, r.tag]), [
    [v3.digest, true, null, "1.8"],
    [v2.digest, false, 1, "1.7"],
    [v1.digest, false, 2, "1.6"],
  ]);
  const top = rows[0]!;
  assert.equal(top.state, "ok");
  assert.equal(top.reason, null);
  assert.equal(top.index_digest, v3.metadata.index_digest);
  assert.equal(top.installed_at, v3.metadata.installed_at);
  assert.equal(top.verified_at, v3.metadata.signature!.verified_at);
  assert.equal(top.signer, v3.metadata.signature!.identity);
  assert.equal(top.issuer, v3.metadata.signature!.issuer);
});

Deno.test("packageHistory(): after a rollback the steps follow the activation stack, not install order", async () => {
  await using home = await tempHome();
  const v1 = await installVersion(home.layout, "jq", "1.6");
  const v2 = await installVersion(home.layout, "jq", "1.7");
  await activate(home.layout, "jq", v1.digest);
  const rows = await packageHistory(home.layout, "jq");
  assert.deepEqual(rows.map((r) => [r.digest, r.current, r.rollback_step]), [
    [v1.digest, true, null],
    [v2.digest, false, 1],
  ]);
});

Deno.test("packageHistory(): a version with corrupt or missing metadata is damaged, has no step and null fields", async () => {
  await using home = await tempHome();
  const v1 = await installVersion(home.layout, "jq", "1.6");
  const v2 = await installVersion(home.layout, "jq", "1.7");
  const v3 = await installVersion(home.layout, "jq", "1.8");
  await Deno.writeTextFile(join(v1.dir, METADATA_FILE), "{ not json");
  await Deno.remove(join(v2.dir, METADATA_FILE));
  const rows = await packageHistory(home.layout, "jq");
  const byDigest = new Map(rows.map((r) => [r.digest, r]));
  assert.equal(byDigest.get(v3.digest)!.state, "ok");
  for (const [v, reason] of [[v1, /./], [v2, /metadata\.json is missing/]] as const) {
    const r = byDigest.get(v.digest)!;
    assert.equal(r.state, "damaged");
    assert.match(r.reason ?? "", reason);
    assert.equal(r.rollback_step, null, "a damaged version is no rollback target");
    assert.deepEqual([r.tag, r.signer, r.installed_at], [null, null, null]);
  }
});

Deno.test("packageHistory() of a package that is not installed is empty", async () => {
  await using home = await tempHome();
  assert.deepEqual(await packageHistory(home.layout, "nope"), []);
});
