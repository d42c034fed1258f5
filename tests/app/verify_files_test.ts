/** `dz verify NAME --files`: the installed tree against its recorded file manifest. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { filesModifiedError, verifyInstalledFiles } from "../../src/app/verify_files.ts";
import { exitCodeFor, isDropzoneError } from "../../src/errors.ts";
import { manifestOfTree, writeFileManifest } from "../../src/store/file_manifest.ts";
import { installVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("verifyInstalledFiles() is intact for an untouched version and lists modified, missing and extra files", async () => {
  await using home = await tempHome();
  const version = await installVersion(home.layout, "tool", "1", { "etc/a.conf": "a", "etc/b.conf": "b" });
  await writeFileManifest(version.dir, await manifestOfTree(version.rootfs));
  const clean = await verifyInstalledFiles(home.layout, "tool");
  assert.equal(clean.intact, true);
  assert.equal(clean.digest, version.digest);
  assert.equal(clean.checked, 3);

  await Deno.writeTextFile(join(version.rootfs, "etc/a.conf"), "changed");
  await Deno.remove(join(version.rootfs, "etc/b.conf"));
  await Deno.writeTextFile(join(version.rootfs, "etc/new"), "dropped in");
  const report = await verifyInstalledFiles(home.layout, "tool");
  assert.equal(report.intact, false);
  assert.deepEqual(report.modified.map((m) => m.path), ["etc/a.conf"]);
  assert.deepEqual(report.missing, ["etc/b.conf"]);
  assert.deepEqual(report.extra, ["etc/new"]);
  const err = filesModifiedError(report);
  assert.ok(isDropzoneError(err, "FILES_MODIFIED"));
  assert.equal(exitCodeFor(err), 3, "a changed tree is a trust failure");
  assert.match(err.message, /3 file\(s\) of "tool" differ .*1 modified, 1 missing, 1 extra/);
});

Deno.test("verifyInstalledFiles() says NOT_INSTALLED for an unknown package and IO when no manifest was recorded", async () => {
  await using home = await tempHome();
  await assert.rejects(
    () => verifyInstalledFiles(home.layout, "nope"),
    (err) => isDropzoneError(err, "NOT_INSTALLED"),
  );
  await installVersion(home.layout, "old", "1");
  await assert.rejects(
    () => verifyInstalledFiles(home.layout, "old"),
    (err) =>
      isDropzoneError(err, "IO") && /recorded no file manifest/.test(err.message) &&
      /dz install/.test(err.hint ?? ""),
  );
});
