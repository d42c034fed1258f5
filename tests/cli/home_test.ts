/**
 * The home marker rule (issue 11 item 8): dz makes a directory its home only when it creates it or finds it empty;
 * a non-empty directory without the marker is refused with a hint, and `purge` never deletes what dz did not
 * create.
 */
import assert from "node:assert/strict";
import { runDz } from "../support/cli_harness.ts";

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dz-home-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a non-empty DROPZONE_HOME without the marker is refused, and purge leaves it alone", async () => {
  await withDir(async (home) => {
    await Deno.writeTextFile(`${home}/notes.txt`, "mine\n");
    for (const argv of [["list"], ["install", "jq"], ["doctor", "--fix"]]) {
      const r = await runDz(argv, { home });
      assert.equal(r.code, 1, `${argv.join(" ")}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^error: Cannot use .* as the dz home: it is not empty and was not created by dz \(notes\.txt\)$/m,
      );
      assert.match(r.stderr, /^hint: Set DROPZONE_HOME to a new or empty directory/m);
    }
    const purge = await runDz(["purge", "--yes"], { home });
    assert.equal(purge.code, 1, purge.stderr);
    assert.match(purge.stderr, /no .*\.dropzone-home marker/);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(home))).map((e) => e.name), ["notes.txt"]);
  });
});

Deno.test("an absent or empty DROPZONE_HOME becomes a dz home", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/empty`);
    for (const home of [`${dir}/absent`, `${dir}/empty`]) {
      const r = await runDz(["list"], { home });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(await exists(`${home}/.dropzone-home`), home);
      assert.equal((await runDz(["list"], { home })).code, 0, "and stays one");
    }
  });
});

Deno.test("purge deletes only what dz created, keeping files the user put into the home", async () => {
  await withDir(async (dir) => {
    const home = `${dir}/home`;
    assert.equal((await runDz(["list"], { home })).code, 0);
    await Deno.writeTextFile(`${home}/notes.txt`, "mine\n");
    await Deno.writeTextFile(`${home}/bin/mine`, "#!/bin/sh\necho mine\n", { mode: 0o755 });
    const purge = await runDz(["purge", "--yes"], { home });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stderr, /kept what dz did not create: bin\/mine, notes\.txt/);
    const left = (await Array.fromAsync(Deno.readDir(home))).map((e) => e.name).sort();
    assert.deepEqual(left, [".dropzone-home", "bin", "notes.txt"]);
    assert.equal(await Deno.readTextFile(`${home}/notes.txt`), "mine\n");

    await Deno.remove(`${home}/notes.txt`);
    await Deno.remove(`${home}/bin/mine`);
    const again = await runDz(["purge", "--yes"], { home });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!(await exists(home)), "an otherwise empty home is removed entirely");
  });
});
