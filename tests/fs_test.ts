import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../src/errors.ts";
import {
  exists,
  isLeftoverName,
  makeStagingDir,
  readableOf,
  readDirOrEmpty,
  readTextIfExists,
  removeEmptyDir,
  removeIfExists,
  removeTree,
  renameIntoPlace,
  replaceSymlinkAtomic,
  syncTree,
  trashAndRemove,
  writeFileAtomic,
  writeJsonAtomic,
} from "../src/fs.ts";
import { tempHome } from "./support/temp_home.ts";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeFileAtomic() writes the content with the exact mode and leaves no temp file", async () => {
  await using home = await tempHome({ marker: false });
  const path = join(home.path, "auth.json");
  await writeFileAtomic(path, "secret", { mode: 0o600 });
  assert.equal(await Deno.readTextFile(path), "secret");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  await writeFileAtomic(path, new TextEncoder().encode("second"), { mode: 0o644 });
  assert.equal(await Deno.readTextFile(path), "second");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
  assert.deepEqual(await names(home.path), ["auth.json"]);
});

Deno.test("writeFileAtomic() keeps the old file and cleans up when the rename fails", async () => {
  await using home = await tempHome({ marker: false });
  const path = join(home.path, "target");
  await Deno.mkdir(join(path, "child"), { recursive: true }); // renaming a file over a non-empty dir fails
  await assert.rejects(
    writeFileAtomic(path, "x"),
    (err) => isDropzoneError(err, "IO") && err.message.includes(path),
  );
  assert.deepEqual(await names(home.path), ["target"]);
  assert.ok((await Deno.stat(path)).isDirectory);
});

Deno.test("writeFileAtomic() fails with IO naming the path when the directory is missing", async () => {
  await using home = await tempHome({ marker: false });
  const path = join(home.path, "missing", "file");
  await assert.rejects(
    writeFileAtomic(path, "x"),
    (err) => isDropzoneError(err, "IO") && err.message.includes(path),
  );
});

Deno.test("writeJsonAtomic() writes indented JSON with a trailing newline", async () => {
  await using home = await tempHome({ marker: false });
  const path = join(home.path, "x.json");
  await writeJsonAtomic(path, { a: [1] });
  assert.equal(await Deno.readTextFile(path), '{\n  "a": [\n    1\n  ]\n}\n');
});

Deno.test("replaceSymlinkAtomic() creates and replaces a relative symlink", async () => {
  await using home = await tempHome({ marker: false });
  const link = join(home.path, "current");
  await Deno.mkdir(join(home.path, "a"));
  await Deno.mkdir(join(home.path, "b"));
  await replaceSymlinkAtomic(link, "a");
  assert.equal(await Deno.readLink(link), "a");
  await replaceSymlinkAtomic(link, "b");
  assert.equal(await Deno.readLink(link), "b");
  assert.deepEqual(await names(home.path), ["a", "b", "current"]);
});

Deno.test("renameIntoPlace() moves a directory into a missing destination", async () => {
  await using home = await tempHome({ marker: false });
  const staging = await makeStagingDir(join(home.path, "pkg"));
  assert.ok(staging.startsWith(join(home.path, "pkg", ".staging-")));
  await Deno.writeTextFile(join(staging, "f"), "1");
  await renameIntoPlace(staging, join(home.path, "pkg", "done"));
  assert.equal(await Deno.readTextFile(join(home.path, "pkg", "done", "f")), "1");
});

Deno.test("removeTree() removes read-only trees and ignores missing paths", async () => {
  await using home = await tempHome({ marker: false });
  const tree = join(home.path, "rootfs");
  await Deno.mkdir(join(tree, "usr", "bin"), { recursive: true });
  await Deno.writeTextFile(join(tree, "usr", "bin", "tool"), "x");
  await Deno.writeTextFile(join(tree, "shadow"), "x");
  await Deno.chmod(join(tree, "shadow"), 0o000);
  await Deno.chmod(join(tree, "usr", "bin"), 0o555);
  await Deno.chmod(join(tree, "usr"), 0o555);
  await removeTree(tree);
  await assert.rejects(Deno.lstat(tree), Deno.errors.NotFound);
  await removeTree(join(home.path, "nope"));
});

Deno.test("removeTree() removes 0555 dirs and 0000 files as an unprivileged user", async (t) => {
  const script = new URL("./store/_remove_tree_child.ts", import.meta.url).pathname;
  let command: Deno.Command;
  // Deno.uid() needs --allow-sys; the owner of a fresh file tells the same without it.
  const probe = await Deno.makeTempFile();
  let uid: number | null;
  try {
    uid = (await Deno.stat(probe)).uid;
  } finally {
    await Deno.remove(probe);
  }
  if (uid === 0) {
    // Root ignores permission bits, so drop to nobody to exercise the chmod-and-retry path for real.
    const denoDir = await Deno.makeTempDir({ prefix: "dz-denodir-" });
    try {
      await Deno.chmod(denoDir, 0o777);
      command = new Deno.Command("setpriv", {
        args: ["--reuid=65534", "--regid=65534", "--clear-groups", Deno.execPath(), "run", "-A", script],
        env: { DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      });
      const out = await command.output();
      if (!out.success) {
        const stderr = new TextDecoder().decode(out.stderr);
        await t.step({
          name: `skipped: cannot run as nobody (${stderr.slice(0, 120)})`,
          ignore: true,
          fn() {},
        });
        return;
      }
      const result = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(result, { uid: 65534, plainFailed: true, gone: true });
    } finally {
      await Deno.remove(denoDir, { recursive: true });
    }
    return;
  }
  command = new Deno.Command(Deno.execPath(), { args: ["run", "-A", script], stdout: "piped" });
  const result = JSON.parse(new TextDecoder().decode((await command.output()).stdout));
  assert.equal(result.gone, true);
  assert.equal(result.plainFailed, true);
});

Deno.test("trashAndRemove() deletes a tree via a .trash- sibling", async () => {
  await using home = await tempHome({ marker: false });
  const dir = join(home.path, "pkg");
  await Deno.mkdir(join(dir, "x"), { recursive: true });
  await trashAndRemove(dir);
  assert.deepEqual(await names(home.path), []);
  await trashAndRemove(dir); // missing is fine
});

Deno.test("isLeftoverName() recognises temp, staging and trash names", () => {
  assert.ok(isLeftoverName(".tmp-x"));
  assert.ok(isLeftoverName(".staging-abc"));
  assert.ok(isLeftoverName(".trash-jq-1"));
  assert.ok(!isLeftoverName("jq"));
  assert.ok(!isLeftoverName("sha256-ab"));
});

Deno.test("syncTree() fsyncs a tree with symlinks and read-only entries without changing it", async () => {
  await using home = await tempHome({ marker: false });
  const tree = join(home.path, "rootfs");
  await Deno.mkdir(join(tree, "usr", "bin"), { recursive: true });
  await Deno.writeTextFile(join(tree, "usr", "bin", "tool"), "x");
  await Deno.symlink("/nonexistent", join(tree, "dangling"));
  await Deno.chmod(join(tree, "usr", "bin"), 0o555);
  await syncTree(tree);
  assert.deepEqual(await names(tree), ["dangling", "usr"]);
  await assert.rejects(syncTree(join(home.path, "missing")), (err) => isDropzoneError(err, "IO"));
});

Deno.test("the if-exists helpers answer 'missing' for a missing path and an I/O error naming it otherwise", async () => {
  await using home = await tempHome({ marker: false });
  const missing = join(home.path, "missing");
  assert.equal(await exists(missing), false);
  assert.equal(await readTextIfExists(missing), undefined);
  assert.deepEqual(await readDirOrEmpty(missing), []);
  assert.equal(await removeIfExists(missing), false);

  const file = join(home.path, "file");
  await Deno.writeTextFile(file, "text");
  await Deno.symlink("nowhere", join(home.path, "dangling"));
  assert.equal(await exists(join(home.path, "dangling")), true, "a dangling symlink exists");
  assert.equal(await readTextIfExists(file), "text");
  assert.deepEqual((await readDirOrEmpty(home.path)).map((e) => e.name).sort(), ["dangling", "file"]);
  assert.equal(await removeIfExists(join(home.path, "dangling")), true);
  assert.equal(await removeIfExists(file), true);
  assert.equal(await exists(file), false);

  // Not a missing path: a file where a directory is expected, a non-empty directory.
  await Deno.writeTextFile(file, "text");
  const isIoError = (err: unknown) => isDropzoneError(err) && err.message.includes(home.path);
  await assert.rejects(() => readDirOrEmpty(file), isIoError);
  await Deno.mkdir(join(home.path, "full"));
  await Deno.writeTextFile(join(home.path, "full", "x"), "");
  await assert.rejects(() => removeIfExists(join(home.path, "full")), isIoError);
  await assert.rejects(() => removeEmptyDir(join(home.path, "full")), isIoError);
  await Deno.remove(join(home.path, "full", "x"));
  await removeEmptyDir(join(home.path, "full"));
  assert.equal(await exists(join(home.path, "full")), false);
});

Deno.test("readableOf() streams a file in chunks of the given size into fresh buffers and closes it at the end and on cancel", async () => {
  await using home = await tempHome({ marker: false });
  const path = join(home.path, "blob");
  const data = new Uint8Array(10_000).map((_, i) => i % 253);
  await Deno.writeFile(path, data);
  const file = await Deno.open(path);
  const chunks = await Array.fromAsync(readableOf(file, 4096));
  assert.deepEqual(chunks.map((c) => c.byteLength), [4096, 4096, 1808]);
  assert.notEqual(
    chunks[0]!.buffer,
    chunks[1]!.buffer,
    "a consumer may keep a chunk: buffers are not reused",
  );
  assert.deepEqual(new Uint8Array(await new Blob(chunks.map((c) => c.slice())).arrayBuffer()), data);
  assert.throws(() => file.readSync(new Uint8Array(1)), Deno.errors.BadResource, "closed at the end");
  const cancelled = await Deno.open(path);
  const reader = readableOf(cancelled, 4096).getReader();
  await reader.read();
  await reader.cancel();
  assert.throws(() => cancelled.readSync(new Uint8Array(1)), Deno.errors.BadResource, "closed on cancel");
});
