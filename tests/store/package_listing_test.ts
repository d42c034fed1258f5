/** The quick listing (package_listing.ts) gives exactly the full scan's states and pins, whatever the damage. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { digestToDirName } from "../../src/oci/digest.ts";
import { removeTree } from "../../src/fs.ts";
import { type StoreLayout, storeLayout } from "../../src/store/layout.ts";
import { readPackageListing } from "../../src/store/package_listing.ts";
import { listPackageStates } from "../../src/store/package_state.ts";
import { pinnedNames, writePin } from "../../src/store/pins.ts";
import { installVersion } from "../support/store_fixtures.ts";

/** What `dz list` read before the quick listing existed. */
async function fullListing(layout: StoreLayout) {
  const states = await listPackageStates(layout);
  return { states, pinned: await pinnedNames(layout, states.map((s) => s.name)) };
}

/** A store with two healthy packages (one pinned), damaged by `damage`. */
async function withStore(
  damage: (layout: StoreLayout) => Promise<void>,
  fn: (l: StoreLayout) => Promise<void>,
) {
  const home = await Deno.makeTempDir({ prefix: "dz-listing-" });
  try {
    const layout = storeLayout(home);
    const jq = await installVersion(layout, "jq", "1");
    await installVersion(layout, "yq", "1");
    await writePin(layout, "jq", jq.digest, new Date("2026-12-01T00:00:00Z"));
    await damage(layout);
    await fn(layout);
  } finally {
    await removeTree(home);
  }
}

const pkg = (layout: StoreLayout, name: string) => join(layout.packages, name);
async function currentDir(layout: StoreLayout, name: string): Promise<string> {
  return join(pkg(layout, name), await Deno.readLink(join(pkg(layout, name), "current")));
}
async function editMetadata(layout: StoreLayout, name: string, edit: (m: Record<string, unknown>) => void) {
  const path = join(await currentDir(layout, name), "metadata.json");
  const meta = JSON.parse(await Deno.readTextFile(path));
  edit(meta);
  await Deno.writeTextFile(path, JSON.stringify(meta));
}

const CASES: ReadonlyArray<{ name: string; damage: (layout: StoreLayout) => Promise<void> }> = [
  { name: "healthy packages, one pinned", damage: async () => {} },
  {
    name: "a second, older version and an unparseable pin",
    damage: async (l) => {
      await installVersion(l, "yq", "2");
      await Deno.writeTextFile(join(pkg(l, "yq"), "pin.json"), "{not json");
    },
  },
  {
    name: "current pointing at a missing version",
    damage: async (l) => {
      await installVersion(l, "zz", "1");
      await removeTree(await currentDir(l, "zz"));
    },
  },
  {
    name: "current that is a plain file",
    damage: async (l) => {
      await installVersion(l, "zz", "1");
      await Deno.remove(join(pkg(l, "zz"), "current"));
      await Deno.writeTextFile(join(pkg(l, "zz"), "current"), "sha256-x");
    },
  },
  {
    name: "a package directory without current (a first install in flight)",
    damage: async (l) => void await Deno.mkdir(pkg(l, "inflight")),
  },
  {
    name: "current that does not name a digest directory",
    damage: async (l) => {
      await installVersion(l, "zz", "1");
      await Deno.remove(join(pkg(l, "zz"), "current"));
      await Deno.symlink("elsewhere", join(pkg(l, "zz"), "current"));
    },
  },
  {
    name: "a missing metadata.json",
    damage: async (l) => void await Deno.remove(join(await currentDir(l, "yq"), "metadata.json")),
  },
  {
    name: "metadata.json that is not JSON",
    damage: async (l) => void await Deno.writeTextFile(join(await currentDir(l, "yq"), "metadata.json"), "{"),
  },
  {
    name: "metadata.json with an invalid field",
    damage: (l) => editMetadata(l, "yq", (m) => void (m.installed_at = "yesterday")),
  },
  {
    name: "metadata.json of a newer schema",
    damage: (l) => editMetadata(l, "yq", (m) => void (m.schema_version = 2)),
  },
  {
    name: "metadata.json describing another package",
    damage: (l) => editMetadata(l, "yq", (m) => void (m.name = "jq")),
  },
  {
    name: "a deleted rootfs",
    damage: async (l) => await removeTree(join(await currentDir(l, "yq"), "rootfs")),
  },
  {
    name: "a deleted entrypoint",
    damage: async (l) => void await Deno.remove(join(await currentDir(l, "yq"), "rootfs/usr/bin/yq")),
  },
  {
    name: "history.json of a newer schema",
    damage: (l) =>
      Deno.writeTextFile(
        join(pkg(l, "yq"), "history.json"),
        JSON.stringify({ schema_version: 9, history: [] }),
      ),
  },
  {
    name: "history.json that is garbage (only a hint)",
    damage: (l) => Deno.writeTextFile(join(pkg(l, "yq"), "history.json"), "[[["),
  },
  {
    name: "a directory whose name is not a package name",
    damage: async (l) => void await Deno.mkdir(pkg(l, "current")),
  },
  {
    name: "a version directory that is a symlink",
    damage: async (l) => {
      const dir = await currentDir(l, "yq");
      await Deno.rename(dir, `${dir}-moved`);
      await Deno.symlink(`${dir}-moved`, dir);
    },
  },
  {
    name: "a corrupt older version beside a healthy current one",
    damage: async (l) => {
      const old = await installVersion(l, "zz", "1");
      await installVersion(l, "zz", "2");
      await Deno.writeTextFile(join(old.dir, "metadata.json"), "{");
    },
  },
];

for (const c of CASES) {
  Deno.test(`the quick listing equals the full scan: ${c.name}`, async () => {
    await withStore(c.damage, async (layout) => {
      const quick = await readPackageListing(layout);
      assert.deepEqual(quick, await fullListing(layout));
      assert.ok(quick.states.length >= 2);
    });
  });
}

Deno.test("the quick listing of a home without a packages directory is empty, like the full scan", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-listing-" });
  try {
    const layout = storeLayout(join(home, "missing"));
    assert.deepEqual(await readPackageListing(layout), { states: [], pinned: new Set() });
    assert.deepEqual(await fullListing(layout), { states: [], pinned: new Set() });
  } finally {
    await removeTree(home);
  }
});

Deno.test("an unreadable pin fails the quick listing with the full scan's error", async () => {
  await withStore(async (l) => void await Deno.mkdir(join(pkg(l, "yq"), "pin.json")), async (layout) => {
    const full = await fullListing(layout).then(() => undefined, (e: Error) => e.message);
    const quick = await readPackageListing(layout).then(() => undefined, (e: Error) => e.message);
    assert.ok(full !== undefined, "the full scan fails on a pin.json directory");
    assert.equal(quick, full);
  });
});

Deno.test("the quick listing reports ok states with the full scan's paths", async () => {
  await withStore(async () => {}, async (layout) => {
    const { states } = await readPackageListing(layout);
    const yq = states.find((s) => s.name === "yq");
    assert.ok(yq?.state === "ok");
    assert.equal(yq.version.dir, join(layout.packages, "yq", digestToDirName(yq.version.digest)));
    assert.equal(yq.version.rootfs, join(yq.version.dir, "rootfs"));
  });
});
