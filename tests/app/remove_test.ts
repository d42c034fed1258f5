/** `removeInstalledPackage`: every version and wrapper goes under the lock, damaged packages too; a dry run and a refusal change nothing. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { planRemoval, removeInstalledPackage } from "../../src/app/remove.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { exists } from "../../src/fs.ts";
import { acquireStoreLock } from "../../src/store/lock.ts";
import { packageDir, versionDir } from "../../src/store/packages.ts";
import { countingStore, wrapperText } from "../support/store_access.ts";
import { tempHome } from "../support/temp_home.ts";
import { installVersion } from "../support/store_fixtures.ts";

async function writeBin(binDir: string, name: string, text: string): Promise<void> {
  await Deno.mkdir(binDir, { recursive: true });
  await Deno.writeTextFile(join(binDir, name), text, { mode: 0o755 });
}

Deno.test("remove deletes every version of the package and its wrappers, and leaves other packages alone", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const current = await installVersion(home.layout, "cat", "2");
  await installVersion(home.layout, "dog", "1");
  await writeBin(home.layout.bin, "cat", wrapperText("cat", "cat"));
  await writeBin(home.layout.bin, "dog", wrapperText("dog", "dog"));
  const store = countingStore(home.layout);

  const outcome = await removeInstalledPackage(store, { name: "cat" });

  assert.equal(outcome.kind, "removed");
  assert.deepEqual(outcome.plan, {
    name: "cat",
    digest: current.digest,
    damaged: undefined,
    olderVersions: 1,
    wrappers: [join(home.layout.bin, "cat")],
  });
  assert.equal(store.locks, 1);
  assert.equal(await exists(packageDir(home.layout, "cat")), false);
  assert.equal(await exists(join(home.layout.bin, "cat")), false);
  assert.ok(await exists(join(home.layout.bin, "dog")), "another package's wrapper stays");
  assert.ok(await exists(packageDir(home.layout, "dog")));
});

Deno.test("remove --dry-run plans the removal and changes nothing, without taking the lock", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  await writeBin(home.layout.bin, "cat", wrapperText("cat", "cat"));
  const store = countingStore(home.layout);
  const outcome = await removeInstalledPackage(store, { name: "cat", dryRun: true });
  assert.equal(outcome.kind, "dry-run");
  assert.equal(outcome.plan.olderVersions, 0);
  assert.equal(store.locks, 0);
  assert.ok(await exists(packageDir(home.layout, "cat")));
  assert.ok(await exists(join(home.layout.bin, "cat")));
});

Deno.test("a damaged package (deleted rootfs, corrupt metadata) is removed, its wrappers found by their marker", async (t) => {
  const damages: { name: string; damage: (dir: string) => Promise<void>; reason: RegExp }[] = [
    {
      name: "deleted rootfs",
      damage: (dir) => Deno.remove(join(dir, "rootfs"), { recursive: true }),
      reason: /rootfs .* is missing/,
    },
    {
      name: "corrupt metadata",
      damage: (dir) => Deno.writeTextFile(join(dir, "metadata.json"), "{not json"),
      reason: /./,
    },
  ];
  for (const c of damages) {
    await t.step(c.name, async () => {
      await using home = await tempHome();
      const version = await installVersion(home.layout, "cat", "1");
      // A second wrapper the metadata does not list: only the marker ties it to the package.
      await writeBin(home.layout.bin, "cat", wrapperText("cat", "cat"));
      await writeBin(home.layout.bin, "kitten", wrapperText("kitten", "cat"));
      await writeBin(home.layout.bin, "mine", "#!/bin/sh\necho the user's own\n");
      await c.damage(versionDir(home.layout, "cat", version.digest));

      const plan = await planRemoval(home.layout, "cat");
      assert.match(plan.damaged ?? "", c.reason);
      const outcome = await removeInstalledPackage(countingStore(home.layout), { name: "cat" });
      assert.equal(outcome.kind, "removed");
      assert.equal(await exists(packageDir(home.layout, "cat")), false);
      assert.equal(await exists(join(home.layout.bin, "cat")), false);
      assert.equal(await exists(join(home.layout.bin, "kitten")), false, "found by its marker");
      assert.ok(await exists(join(home.layout.bin, "mine")), "a file dz did not write stays");
    });
  }
});

Deno.test("removing a package that is not installed fails with NOT_INSTALLED and a hint, before any lock", async () => {
  await using home = await tempHome();
  const store = countingStore(home.layout);
  await assert.rejects(
    () => removeInstalledPackage(store, { name: "ghost" }),
    (err) => isDropzoneError(err) && err.code === "NOT_INSTALLED" && /dz install ghost/.test(err.hint ?? ""),
  );
  assert.equal(store.locks, 0);
});

Deno.test("a refused confirmation removes nothing and never takes the lock; it is asked with the plan", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const store = countingStore(home.layout);
  const asked: string[] = [];
  await assert.rejects(
    () =>
      removeInstalledPackage(store, {
        name: "cat",
        confirm: (plan) => {
          asked.push(plan.name);
          return Promise.reject(new Error("no"));
        },
      }),
    /no/,
  );
  assert.deepEqual(asked, ["cat"]);
  assert.equal(store.locks, 0);
  assert.ok(await exists(packageDir(home.layout, "cat")));
});

Deno.test("remove waits for the store lock and fails with LOCKED while another dz holds it, changing nothing", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  await using _held = await acquireStoreLock(home.layout.lockFile);
  await assert.rejects(
    () => removeInstalledPackage(countingStore(home.layout, { timeoutMs: 150 }), { name: "cat" }),
    (err) => isDropzoneError(err) && err.code === "LOCKED",
  );
  assert.ok(await exists(packageDir(home.layout, "cat")));
});
