/** Tests for src/file_ops.ts: the plain file operations of the layers above, each failure naming its path. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../src/errors.ts";
import {
  createNewFile,
  listDir,
  listRegularFiles,
  lstatOrNull,
  makeDir,
  openIfExists,
  readDirSortedOrEmpty,
  readRegularFileText,
  regularFileMode,
  removeFileQuietly,
  removeIfEmpty,
  rename,
  setMode,
  writeNewFile,
} from "../src/file_ops.ts";
import { tempHome } from "./support/temp_home.ts";

Deno.test("readDirSortedOrEmpty() sorts by name and is empty for a missing path or a file", async () => {
  await using home = await tempHome({ marker: false });
  for (const name of ["b", "a", "c"]) await Deno.writeTextFile(join(home.path, name), "");
  await Deno.mkdir(join(home.path, "d"));
  assert.deepEqual((await readDirSortedOrEmpty(home.path)).map((e) => e.name), ["a", "b", "c", "d"]);
  assert.equal((await readDirSortedOrEmpty(home.path)).find((e) => e.name === "d")?.isDirectory, true);
  assert.deepEqual(await readDirSortedOrEmpty(join(home.path, "missing")), []);
  assert.deepEqual(await readDirSortedOrEmpty(join(home.path, "a")), []);
});

Deno.test("readRegularFileText() reads files only: never through a symlink, never a directory", async () => {
  await using home = await tempHome({ marker: false });
  const file = join(home.path, "f");
  await Deno.writeTextFile(file, "text");
  await Deno.symlink(file, join(home.path, "link"));
  await Deno.mkdir(join(home.path, "dir"));
  assert.equal(await readRegularFileText(file), "text");
  assert.equal(await readRegularFileText(join(home.path, "link")), undefined);
  assert.equal(await readRegularFileText(join(home.path, "dir")), undefined);
  assert.equal(await readRegularFileText(join(home.path, "missing")), undefined);
});

Deno.test("readRegularFileText() and regularFileMode() fail with IO naming the path, beyond a missing file", async () => {
  await using home = await tempHome({ marker: false });
  const file = join(home.path, "plain");
  await Deno.writeTextFile(file, "x");
  // A path through a file is neither missing nor readable: an I/O error the user can act on, not undefined.
  for (const read of [readRegularFileText, regularFileMode]) {
    const err = await read(join(file, "below")).then(() => null, (e) => e);
    assert.ok(isDropzoneError(err, "IO"), String(err));
    assert.match(err.message, /plain\/below/);
  }
});

Deno.test("regularFileMode() and setMode(): the mode of a file, none for a symlink or a missing path", async () => {
  await using home = await tempHome({ marker: false });
  const file = join(home.path, "auth.json");
  await Deno.writeTextFile(file, "{}");
  await setMode(file, 0o640);
  assert.equal((await regularFileMode(file))! & 0o777, 0o640);
  await setMode(file, 0o600);
  assert.equal((await regularFileMode(file))! & 0o777, 0o600);
  await Deno.symlink(file, join(home.path, "link"));
  assert.equal(await regularFileMode(join(home.path, "link")), undefined);
  assert.equal(await regularFileMode(join(home.path, "missing")), undefined);
  const err = await setMode(join(home.path, "missing"), 0o600).then(() => null, (e) => e);
  assert.ok(isDropzoneError(err, "IO"), String(err));
  assert.match(err.message, /missing/);
});

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
