/** `purgeHome`: deletes only a marked dz home's own files under the lock, refuses $HOME, / and foreign directories. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { purgeHome, type PurgeHost, purgeRefusal } from "../../src/app/purge.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { exists } from "../../src/fs.ts";
import { pathSetup } from "../../src/host/path.ts";
import { acquireStoreLock } from "../../src/store/lock.ts";
import { storeLayout } from "../../src/store/layout.ts";
import { countingStore, wrapperText } from "../support/store_access.ts";
import { tempHome } from "../support/temp_home.ts";
import { installVersion } from "../support/store_fixtures.ts";

function hostFor(userHome: string): PurgeHost {
  return { userHome, env: (name) => (name === "SHELL" ? "/bin/bash" : undefined), os: "linux" };
}

const isNotADzHome = (err: unknown) => isDropzoneError(err) && err.code === "NOT_A_DZ_HOME";

Deno.test("purgeRefusal() refuses /, the user's home and any directory containing it", () => {
  const cases: [home: string, userHome: string, refused: RegExp | undefined][] = [
    ["/", "/home/ada", /refusing to delete \/$/],
    ["/home/ada", "/home/ada", /refusing to delete \/home\/ada$/],
    ["/home/ada/", "/home/ada", /refusing/],
    ["/home", "/home/ada", /contains your home directory/],
    ["/home/ada/.dropzone", "/home/ada", undefined],
    ["/home/adam", "/home/ada", undefined],
  ];
  for (const [home, userHome, refused] of cases) {
    const got = purgeRefusal(home, userHome);
    if (refused === undefined) assert.equal(got, undefined, home);
    else assert.match(got ?? "", refused, home);
  }
});

Deno.test("purge deletes dz's files, dz wrappers and the home; keeps and names what the user put there", async () => {
  await using user = await tempHome({ marker: false });
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  await Deno.mkdir(home.layout.bin, { recursive: true });
  await Deno.writeTextFile(join(home.layout.bin, "cat"), wrapperText("cat", "cat"));
  await Deno.writeTextFile(join(home.layout.bin, "mine"), "#!/bin/sh\necho mine\n");
  await Deno.writeTextFile(join(home.path, "notes.txt"), "keep me");
  const store = countingStore(home.layout);

  const outcome = await purgeHome(store, hostFor(user.path), {});

  assert.equal(outcome.kind, "purged");
  assert.deepEqual(outcome.kind === "purged" && outcome.kept, ["bin/mine", "notes.txt"]);
  assert.equal(store.locks, 1);
  assert.equal(await exists(home.layout.packages), false);
  assert.equal(await exists(join(home.layout.bin, "cat")), false);
  assert.equal(await Deno.readTextFile(join(home.path, "notes.txt")), "keep me");
  assert.ok(await exists(join(home.layout.bin, "mine")));

  // With the user's files gone, a second purge removes the home itself.
  await Deno.remove(join(home.path, "notes.txt"));
  await Deno.remove(join(home.layout.bin, "mine"));
  const again = await purgeHome(countingStore(home.layout), hostFor(user.path), {});
  assert.deepEqual(again.kind === "purged" && again.kept, []);
  assert.equal(await exists(home.path), false);
  assert.deepEqual(await purgeHome(countingStore(home.layout), hostFor(user.path), {}), {
    kind: "absent",
    home: home.path,
  });
});

Deno.test("purge refuses a foreign home (no marker), the user's home and its parent, deleting nothing", async () => {
  await using foreign = await tempHome({ marker: false });
  await Deno.writeTextFile(join(foreign.path, "thesis.tex"), "precious");
  const store = countingStore(foreign.layout);
  await assert.rejects(
    () => purgeHome(store, hostFor("/nonexistent-user"), {}),
    (err) => isNotADzHome(err) && /no .*\.dropzone-home marker/.test((err as Error).message),
  );
  await assert.rejects(() => purgeHome(store, hostFor(foreign.path), {}), isNotADzHome);
  await assert.rejects(
    () => purgeHome(countingStore(storeLayout(join(foreign.path, ".."))), hostFor(foreign.path), {}),
    (err) => isNotADzHome(err) && /contains your home directory/.test((err as Error).message),
  );
  assert.equal(store.locks, 0);
  assert.equal(await Deno.readTextFile(join(foreign.path, "thesis.tex")), "precious");
});

Deno.test("purge --dry-run names the packages and PATH blocks and changes nothing; a refused confirmation neither", async () => {
  await using user = await tempHome({ marker: false });
  await using home = await tempHome();
  await installVersion(home.layout, "dog", "1");
  await installVersion(home.layout, "cat", "1");
  const host = hostFor(user.path);
  await pathSetup({ binDir: home.layout.bin, env: host.env, homeDir: user.path, os: "linux", shell: "bash" });
  const store = countingStore(home.layout);

  const dry = await purgeHome(store, host, { dryRun: true });
  assert.deepEqual(dry, {
    kind: "dry-run",
    home: home.path,
    packages: ["cat", "dog"],
    pathBlocks: [join(user.path, ".bashrc")],
  });
  await assert.rejects(
    () => purgeHome(store, host, { confirm: () => Promise.reject(new Error("no")) }),
    /no/,
  );
  assert.equal(store.locks, 0);
  assert.ok(await exists(home.layout.packages));
  assert.match(await Deno.readTextFile(join(user.path, ".bashrc")), /dz PATH/);

  const done = await purgeHome(store, host, { confirm: () => Promise.resolve() });
  assert.deepEqual(done.kind === "purged" && done.pathBlocksRemoved, [join(user.path, ".bashrc")]);
  assert.doesNotMatch(await Deno.readTextFile(join(user.path, ".bashrc")), /dz PATH/);
});

Deno.test("purge waits for the store lock and fails with LOCKED while another dz works in the home", async () => {
  await using user = await tempHome({ marker: false });
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  {
    await using _held = await acquireStoreLock(home.layout.lockFile);
    await assert.rejects(
      () => purgeHome(countingStore(home.layout, { timeoutMs: 150 }), hostFor(user.path), {}),
      (err) => isDropzoneError(err) && err.code === "LOCKED",
    );
    assert.ok(await exists(home.layout.packages), "nothing deleted while the lock is held");
  }
  assert.equal((await purgeHome(countingStore(home.layout), hostFor(user.path), {})).kind, "purged");
});
