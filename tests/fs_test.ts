import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../src/errors.ts";
import {
  createNewFile,
  isLeftoverName,
  listDir,
  listRegularFiles,
  lstatOrNull,
  makeDir,
  makeStagingDir,
  openIfExists,
  removeFileQuietly,
  removeIfEmpty,
  removeTree,
  rename,
  renameIntoPlace,
  replaceSymlinkAtomic,
  setMode,
  syncTree,
  trashAndRemove,
  writeFileAtomic,
  writeJsonAtomic,
  writeNewFile,
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
  const uid = (await Deno.stat(probe)).uid;
  await Deno.remove(probe);
  if (uid === 0) {
    // Root ignores permission bits, so drop to nobody to exercise the chmod-and-retry path for real.
    const denoDir = await Deno.makeTempDir({ prefix: "dz-denodir-" });
    await Deno.chmod(denoDir, 0o777);
    command = new Deno.Command("setpriv", {
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", Deno.execPath(), "run", "-A", script],
      env: { DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    });
    try {
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

// ---- The app layer's plain file operations ----

Deno.test("writeNewFile() writes bytes, text or a stream with the exact mode, and refuses an existing file", async () => {
  await using home = await tempHome();
  const dir = home.path;
  await writeNewFile(join(dir, "a"), new Uint8Array([1, 2, 3]), { mode: 0o775 });
  await writeNewFile(join(dir, "b"), "text\n");
  await writeNewFile(join(dir, "c"), new Blob(["streamed"]).stream());
  assert.deepEqual(await Deno.readFile(join(dir, "a")), new Uint8Array([1, 2, 3]));
  assert.equal(
    (await Deno.stat(join(dir, "a"))).mode! & 0o777,
    0o775,
    "the usual umask 022 does not narrow it",
  );
  assert.equal(await Deno.readTextFile(join(dir, "b")), "text\n");
  assert.equal((await Deno.stat(join(dir, "b"))).mode! & 0o777, 0o644);
  assert.equal(await Deno.readTextFile(join(dir, "c")), "streamed");
  await assert.rejects(
    () => writeNewFile(join(dir, "a"), "other"),
    (err) => isDropzoneError(err, "IO") && err.message.includes(join(dir, "a")),
  );
  assert.deepEqual(await Deno.readFile(join(dir, "a")), new Uint8Array([1, 2, 3]), "never overwritten");
});

Deno.test("writeNewFile() removes the partial file when its stream fails", async () => {
  await using home = await tempHome();
  const path = join(home.path, "partial");
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new Uint8Array(10));
      controller.error(new Error("connection reset"));
    },
  });
  await assert.rejects(() => writeNewFile(path, failing), /connection reset/);
  assert.equal(await lstatOrNull(path), null);
});

Deno.test("listDir() tells a missing directory, a file and a directory apart", async () => {
  await using home = await tempHome();
  await Deno.writeTextFile(join(home.path, "file"), "");
  await Deno.mkdir(join(home.path, "dir"));
  await Deno.writeTextFile(join(home.path, "dir", "x"), "");
  assert.equal(await listDir(join(home.path, "missing")), null);
  assert.equal(await listDir(join(home.path, "file")), "not-a-directory");
  assert.deepEqual(await listDir(join(home.path, "dir")), ["x"]);
});

Deno.test("listRegularFiles() lists files below a root by relative path, never following symlinks, up to a limit", async () => {
  await using home = await tempHome({ marker: false });
  const root = join(home.path, "root");
  await Deno.mkdir(join(root, "b/c"), { recursive: true });
  await Deno.writeTextFile(join(root, "b/c/tool"), "", { mode: 0o755 });
  await Deno.chmod(join(root, "b/c/tool"), 0o755);
  await Deno.writeTextFile(join(root, "a"), "");
  await Deno.mkdir(join(home.path, "outside"));
  await Deno.writeTextFile(join(home.path, "outside", "secret"), "");
  await Deno.symlink(join(home.path, "outside"), join(root, "link"));
  await Deno.symlink("a", join(root, "alink"));
  const files = await listRegularFiles(root);
  assert.deepEqual(files.map((f) => f.path), ["a", "b/c/tool"]);
  assert.equal(files[1]!.mode & 0o777, 0o755);
  assert.equal((await listRegularFiles(root, 1)).length, 1);
});

Deno.test("removeIfEmpty() removes an empty directory and keeps a non-empty one", async () => {
  await using home = await tempHome();
  await Deno.mkdir(join(home.path, "empty"));
  await Deno.mkdir(join(home.path, "full"));
  await Deno.writeTextFile(join(home.path, "full", "x"), "");
  assert.equal(await removeIfEmpty(join(home.path, "empty")), true);
  assert.equal(await removeIfEmpty(join(home.path, "full")), false);
  assert.equal(await removeIfEmpty(join(home.path, "missing")), false);
  assert.equal(await lstatOrNull(join(home.path, "empty")), null);
  assert.ok(await lstatOrNull(join(home.path, "full", "x")));
});

Deno.test("makeDir(), setMode(), rename() and createNewFile() fail as IO errors naming the path", async () => {
  await using home = await tempHome();
  const missing = join(home.path, "no", "such");
  for (
    const op of [
      () => makeDir(missing),
      () => setMode(missing, 0o755),
      () => rename(missing, join(home.path, "to")),
      () => createNewFile(missing),
    ]
  ) {
    await assert.rejects(op, (err) => isDropzoneError(err, "IO") && err.message.includes(home.path));
  }
  await makeDir(join(home.path, "x", "y"), { recursive: true });
  await setMode(join(home.path, "x"), 0o700);
  assert.equal((await Deno.stat(join(home.path, "x"))).mode! & 0o777, 0o700);
  await rename(join(home.path, "x"), join(home.path, "z"));
  assert.ok((await lstatOrNull(join(home.path, "z", "y")))?.isDirectory);
});

Deno.test("openIfExists() returns undefined for a missing file; removeFileQuietly() never fails", async () => {
  await using home = await tempHome();
  assert.equal(await openIfExists(join(home.path, "missing")), undefined);
  const file = await createNewFile(join(home.path, "f"));
  file.close();
  const opened = await openIfExists(join(home.path, "f"));
  assert.ok(opened);
  opened.close();
  await removeFileQuietly(join(home.path, "f"));
  await removeFileQuietly(join(home.path, "f"));
  assert.equal(await lstatOrNull(join(home.path, "f")), null);
});
