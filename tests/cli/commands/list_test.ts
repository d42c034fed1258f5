/** Tests for src/cli/commands/list.ts: `dz list` (table, --json rows, damaged packages) and `dz info`. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { METADATA_FILE } from "../../../src/store/packages.ts";
import { writePin } from "../../../src/store/pins.ts";
import { runDz } from "../../support/cli_harness.ts";
import { installVersion } from "../../support/store_fixtures.ts";
import { tempHome } from "../../support/temp_home.ts";

const LIST_ROW_KEYS = [
  "allow_unsigned",
  "digest",
  "index_digest",
  "installed_at",
  "issuer",
  "name",
  "pinned",
  "platform",
  "reason",
  "ref",
  "registry",
  "repository",
  "signed",
  "signer",
  "state",
  "tag",
];

Deno.test("dz list with nothing installed: empty JSON array on stdout, a hint on stderr, exit 0", async () => {
  await using home = await tempHome();
  const human = await runDz(["list"], { home: home.path });
  assert.equal(human.code, 0);
  assert.equal(human.stdout, "");
  assert.match(human.stderr, /No packages installed\. Try "dz install jq"\./);
  const json = await runDz(["ls", "--json"], { home: home.path });
  assert.deepEqual([json.code, json.stdout], [0, "[]\n"]);
});

Deno.test("dz list --json: one row per package, sorted, with state, reason and pinned; damaged rows kept", async () => {
  await using home = await tempHome();
  const jq = await installVersion(home.layout, "jq", "1.7");
  const yq = await installVersion(home.layout, "yq", "4.1");
  await writePin(home.layout, "yq", yq.digest, new Date());
  const zq = await installVersion(home.layout, "zq", "2");
  await Deno.remove(join(zq.dir, METADATA_FILE));
  const r = await runDz(["list", "--json"], { home: home.path });
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  for (const row of rows) assert.deepEqual(Object.keys(row).sort(), LIST_ROW_KEYS, row.name);
  assert.deepEqual(
    rows.map((x: { name: string; state: string; pinned: boolean }) => [x.name, x.state, x.pinned]),
    [
      ["jq", "ok", false],
      ["yq", "ok", true],
      ["zq", "damaged", false],
    ],
  );
  assert.equal(rows[0].digest, jq.digest);
  assert.equal(rows[0].signed, true);
  assert.equal(rows[0].reason, null);
  assert.match(rows[2].reason, /metadata\.json is missing/);
  assert.equal(rows[2].digest, zq.digest, "a damaged row names what current points at");
});

Deno.test("dz list: a table with pinned and damaged packages marked, and a repair hint on stderr", async () => {
  await using home = await tempHome();
  const jq = await installVersion(home.layout, "jq", "1.7");
  await writePin(home.layout, "jq", jq.digest, new Date());
  const yq = await installVersion(home.layout, "yq", "4.1");
  await Deno.remove(yq.rootfs, { recursive: true });
  const r = await runDz(["list"], { home: home.path });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^NAME +TAG +DIGEST +SOURCE +SIGNED +INSTALLED$/);
  assert.match(lines[1]!, /^jq +1\.7 \(pinned\) +sha256:[0-9a-f]{12} +cgr:chainguard\/jq +yes +2026-01-01 /);
  assert.match(lines[2]!, /^yq +4\.1 +sha256:[0-9a-f]{12} +cgr:chainguard\/yq +- +DAMAGED: the rootfs of /);
  assert.match(r.stderr, /1 damaged package\(s\): yq; run "dz doctor --fix" to repair, or "dz remove NAME"/);
});

Deno.test("dz info NAME: the provenance trail on stdout and the version history; --json adds versions", async () => {
  await using home = await tempHome();
  const old = await installVersion(home.layout, "jq", "1.6");
  const cur = await installVersion(home.layout, "jq", "1.7");
  const r = await runDz(["info", "jq"], { home: home.path });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Name: +jq$/m);
  assert.match(r.stdout, new RegExp(`^Digest: +${cur.digest}$`, "m"));
  assert.match(r.stdout, /^Signed by: +https:\/\/github\.com\/chainguard-images\//m);
  assert.match(r.stdout, /^Attestation: +https:\/\/spdx\.dev\/Document \[verified\]$/m);
  assert.match(r.stdout, /roll back with "dz rollback jq --to N"/);
  assert.match(r.stdout, new RegExp(`^\\* +- +${cur.digest.slice(0, 19)} +1\\.7 `, "m"));
  assert.match(r.stdout, new RegExp(`^ +1 +${old.digest.slice(0, 19)} +1\\.6 `, "m"));
  const j = await runDz(["info", "jq", "--json"], { home: home.path });
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.digest, cur.digest);
  assert.deepEqual(
    doc.versions.map((v: { digest: string; rollback_step: number | null }) => [v.digest, v.rollback_step]),
    [
      [cur.digest, null],
      [old.digest, 1],
    ],
  );
});

Deno.test("dz info of a package that is not installed fails with a hint (exit 1); no name is a usage error", async () => {
  await using home = await tempHome();
  const r = await runDz(["info", "nope"], { home: home.path });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^error: .*nope/m);
  assert.match(r.stderr, /^hint: /m);
  assert.equal((await runDz(["info"], { home: home.path })).code, 2);
  assert.equal((await runDz(["list", "--bogus"], { home: home.path })).code, 2);
});
