/** Tests for src/store/package_names.ts: the names `dz __complete packages` offers, read without node: modules. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { completablePackageNames, packagesDirOf } from "../../src/store/package_names.ts";
import { installVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("completablePackageNames() offers healthy packages sorted and leaves out each kind of damage", async () => {
  await using home = await tempHome();
  const packages = home.layout.packages;
  await installVersion(home.layout, "zed", "1");
  await installVersion(home.layout, "alpha", "1");
  const damaged: Record<string, (dir: string) => Promise<void>> = {
    "no-current": async (dir) => await Deno.remove(join(dir, "current")),
    "dangling": async (dir) => {
      await Deno.remove(join(dir, "current"));
      await Deno.symlink(`sha256-${"0".repeat(64)}`, join(dir, "current"));
    },
    "not-a-digest": async (dir) => {
      await Deno.remove(join(dir, "current"));
      await Deno.symlink("elsewhere", join(dir, "current"));
    },
    "plain-file": async (dir) => {
      await Deno.remove(join(dir, "current"));
      await Deno.writeTextFile(join(dir, "current"), "sha256-x");
    },
    "corrupt-metadata": async (dir) => {
      const target = await Deno.readLink(join(dir, "current"));
      await Deno.writeTextFile(join(dir, target, "metadata.json"), "{not json");
    },
    "other-name": async (dir) => {
      const target = await Deno.readLink(join(dir, "current"));
      const path = join(dir, target, "metadata.json");
      const meta = JSON.parse(await Deno.readTextFile(path));
      await Deno.writeTextFile(path, JSON.stringify({ ...meta, name: "alpha" }));
    },
  };
  for (const [name, damage] of Object.entries(damaged)) {
    await installVersion(home.layout, name, "1");
    await damage(join(packages, name));
  }
  await Deno.mkdir(join(packages, ".staging-leftover"));
  await Deno.writeTextFile(join(packages, "stray-file"), "");
  assert.deepEqual(completablePackageNames(packages), ["alpha", "zed"]);
});

Deno.test("completablePackageNames() gives no names, never an error, for a missing or unreadable packages directory", async () => {
  await using home = await tempHome();
  assert.deepEqual(completablePackageNames(join(home.path, "missing")), []);
  await Deno.writeTextFile(join(home.path, "file"), "");
  assert.deepEqual(completablePackageNames(join(home.path, "file")), []);
});

Deno.test("packagesDirOf() follows DROPZONE_HOME, else ~/.dropzone, else a relative .dropzone", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(packagesDirOf(env({ DROPZONE_HOME: "/srv/dz" }), "/home/u"), "/srv/dz/packages");
  assert.equal(packagesDirOf(env({ DROPZONE_HOME: "" }), "/home/u"), "/home/u/.dropzone/packages");
  assert.equal(packagesDirOf(env({}), "/home/u"), "/home/u/.dropzone/packages");
  assert.equal(packagesDirOf(env({}), ""), ".dropzone/packages");
});
