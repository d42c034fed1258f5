/** Tests for src/store/package_state.ts: classifying package directories as ok or damaged, and their list rows. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { shortDigest } from "../../src/oci/digest.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import {
  listPackageStates,
  type PackageState,
  readPackageState,
  rootfsProblem,
  toListRow,
} from "../../src/store/package_state.ts";
import { CURRENT_LINK, type InstalledVersion, METADATA_FILE, packageDir } from "../../src/store/packages.ts";
import { installVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

const HEX = "f".repeat(64);

/** Damage applied to an installed jq 1.8 (with an older complete 1.7 below it). */
const DAMAGE: {
  what: string;
  damage: (layout: StoreLayout, v: InstalledVersion) => Promise<void>;
  reason: (v: InstalledVersion) => RegExp;
  /** Whose metadata a damaged state carries: 1.8's (intact or newest complete) or 1.7's (1.8's is unreadable). */
  metadata: "current" | "older";
  digest: "current" | "null" | "dangling";
}[] = [
  {
    what: "current is a plain file",
    damage: async (l) => {
      await Deno.remove(join(packageDir(l, "jq"), CURRENT_LINK));
      await Deno.writeTextFile(join(packageDir(l, "jq"), CURRENT_LINK), "not a link");
    },
    reason: () => /^current is not a link to a version$/,
    metadata: "current",
    digest: "null",
  },
  {
    what: "current dangles",
    damage: async (l) => {
      await Deno.remove(join(packageDir(l, "jq"), CURRENT_LINK));
      await Deno.symlink(`sha256-${HEX}`, join(packageDir(l, "jq"), CURRENT_LINK));
    },
    reason: () => new RegExp(`^current points at ${shortDigest(`sha256:${HEX}`)}, which is missing$`),
    metadata: "current",
    digest: "dangling",
  },
  {
    what: "metadata.json deleted",
    damage: (_l, v) => Deno.remove(join(v.dir, METADATA_FILE)),
    reason: (v) => new RegExp(`^current version ${shortDigest(v.digest)}: its metadata\\.json is missing$`),
    metadata: "older",
    digest: "current",
  },
  {
    what: "metadata.json corrupt",
    damage: (_l, v) => Deno.writeTextFile(join(v.dir, METADATA_FILE), "{ truncated"),
    reason: (v) =>
      new RegExp(`^current version ${shortDigest(v.digest)}: its metadata\\.json is corrupt \\(`),
    metadata: "older",
    digest: "current",
  },
  {
    what: "rootfs deleted",
    damage: (_l, v) => Deno.remove(v.rootfs, { recursive: true }),
    reason: (v) => new RegExp(`^the rootfs of ${shortDigest(v.digest)} is missing$`),
    metadata: "current",
    digest: "current",
  },
  {
    what: "entrypoint deleted",
    damage: (_l, v) => Deno.remove(join(v.rootfs, "usr/bin/jq")),
    reason: (v) => new RegExp(`^/usr/bin/jq is missing from the rootfs of ${shortDigest(v.digest)}$`),
    metadata: "current",
    digest: "current",
  },
];

Deno.test("readPackageState() classifies each kind of damage with its reason and the best metadata known", async (t) => {
  for (const c of DAMAGE) {
    await t.step(c.what, async () => {
      await using home = await tempHome();
      const older = await installVersion(home.layout, "jq", "1.7");
      const v = await installVersion(home.layout, "jq", "1.8");
      await c.damage(home.layout, v);
      const s = await readPackageState(home.layout, "jq");
      assert.ok(s && s.state === "damaged", JSON.stringify(s));
      assert.match(s.reason, c.reason(v));
      assert.equal(s.metadata?.digest, c.metadata === "current" ? v.digest : older.digest);
      const digest = { current: v.digest, null: null, dangling: `sha256:${HEX}` }[c.digest];
      assert.equal(s.digest, digest);
    });
  }
});

Deno.test("readPackageState(): ok with the current version; undefined without a package dir or a current link", async () => {
  await using home = await tempHome();
  assert.equal(await readPackageState(home.layout, "jq"), undefined);
  const v = await installVersion(home.layout, "jq", "1.7");
  const ok = await readPackageState(home.layout, "jq");
  assert.ok(ok?.state === "ok");
  assert.equal(ok.version.digest, v.digest);
  assert.equal(ok.version.rootfs, v.rootfs);
  // A first install killed before its `current` flip is not a package (doctor --fix completes it).
  await Deno.remove(join(packageDir(home.layout, "jq"), CURRENT_LINK));
  assert.equal(await readPackageState(home.layout, "jq"), undefined);
});

Deno.test("readPackageState(): a damaged package with no complete version at all carries null metadata", async () => {
  await using home = await tempHome();
  const v = await installVersion(home.layout, "jq", "1.7");
  await Deno.writeTextFile(join(v.dir, METADATA_FILE), "[]");
  const s = await readPackageState(home.layout, "jq");
  assert.ok(s?.state === "damaged");
  assert.equal(s.metadata, null);
});

Deno.test("rootfsProblem() checks the first binary, and the entrypoint when there are no binaries", async () => {
  await using home = await tempHome();
  const v = await installVersion(home.layout, "jq", "1.7");
  assert.equal(await rootfsProblem(home.layout, v.metadata), null);
  const noBins = { ...v.metadata, bins: [], entrypoint: { raw: ["/opt/gone"], resolved: "/opt/gone" } };
  assert.match((await rootfsProblem(home.layout, noBins)) ?? "", /^\/opt\/gone is missing from the rootfs/);
  // A file where a directory of the path should be is "missing", not an I/O error.
  const through = { ...v.metadata, bins: [{ name: "jq", path: "/usr/bin/jq/inner" }] };
  assert.match((await rootfsProblem(home.layout, through)) ?? "", /^\/usr\/bin\/jq\/inner is missing/);
});

Deno.test("listPackageStates(): sorted by name, ok and damaged alike; dot dirs and unsafe names are skipped", async () => {
  await using home = await tempHome();
  assert.deepEqual(await listPackageStates(home.layout), [], "no packages dir yet");
  await installVersion(home.layout, "yq", "4");
  const jq = await installVersion(home.layout, "jq", "1.7");
  await Deno.remove(jq.rootfs, { recursive: true });
  await Deno.mkdir(join(home.layout.packages, ".staging-x"));
  await Deno.mkdir(join(home.layout.packages, "current"));
  await Deno.writeTextFile(join(home.layout.packages, "stray-file"), "");
  const states = await listPackageStates(home.layout);
  assert.deepEqual(states.map((s) => [s.name, s.state]), [["jq", "damaged"], ["yq", "ok"]]);
});

Deno.test("toListRow(): ok rows are the list entry plus state; damaged rows keep what is known and null the rest", async () => {
  await using home = await tempHome();
  const v = await installVersion(home.layout, "jq", "1.7");
  const ok = toListRow({ name: "jq", state: "ok", version: v });
  assert.equal(ok.state, "ok");
  assert.equal(ok.reason, null);
  assert.equal(ok.digest, v.digest);
  assert.equal(ok.signed, true);
  const known: PackageState = {
    name: "jq",
    state: "damaged",
    reason: "r",
    digest: null,
    metadata: v.metadata,
  };
  const row = toListRow(known);
  assert.deepEqual([row.state, row.reason, row.digest, row.tag, row.signer], [
    "damaged",
    "r",
    v.digest,
    "1.7",
    v.metadata.signature!.identity,
  ]);
  const dangling = `sha256:${HEX}` as const;
  assert.equal(toListRow({ ...known, digest: dangling }).digest, dangling, "digest is what current names");
  const unknown = toListRow({ name: "jq", state: "damaged", reason: "r", digest: null, metadata: null });
  const { name, state, reason, ...rest } = unknown;
  assert.deepEqual([name, state, reason], ["jq", "damaged", "r"]);
  assert.ok(Object.values(rest).every((x) => x === null), JSON.stringify(rest));
  assert.deepEqual(
    Object.keys(unknown).sort(),
    Object.keys(ok).sort(),
    "both row kinds have the same fields",
  );
});
