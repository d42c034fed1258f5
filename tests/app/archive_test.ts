/**
 * The archive module's own rules: what counts as an archive argument, the reference an import installs, and
 * how importArchive refuses a missing, truncated, foreign or ambiguous archive.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  archiveReference,
  type ExportInfo,
  importArchive,
  isArchiveArgument,
} from "../../src/app/archive.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { buildTar, file } from "../support/tar_writer.ts";
import { fakeDigest } from "../support/resolved_image.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("isArchiveArgument() is decided by spelling alone: /, ./, ../ or .tar", () => {
  for (const arg of ["/tmp/x.tar", "./tool", "../a/b", "tool.tar", "TOOL.TAR"]) {
    assert.ok(isArchiveArgument(arg), arg);
  }
  for (
    const arg of ["lab/tool", "tool", "lab/tool:1.0", "ghcr.io/o/r@sha256:" + "a".repeat(64), "tool.tar.gz"]
  ) {
    assert.ok(!isArchiveArgument(arg), arg);
  }
});

Deno.test("archiveReference() installs by the archived digest (the index when there is one) and keeps the tag", () => {
  const info: ExportInfo = {
    version: 1,
    source: "ghcr.io/o/tool",
    tag: "1.0",
    digest: fakeDigest("e"),
    index_digest: fakeDigest("b"),
    platform: "linux/amd64",
    records: [],
  };
  assert.equal(archiveReference(info), `ghcr.io/o/tool:1.0@${fakeDigest("b")}`);
  assert.equal(
    archiveReference({ ...info, tag: null, index_digest: null }),
    `ghcr.io/o/tool@${fakeDigest("e")}`,
  );
});

const INFO = JSON.stringify({
  version: 1,
  source: "h/r",
  tag: null,
  digest: fakeDigest("e"),
  index_digest: null,
  platform: "linux/amd64",
  records: [],
});
const INDEX = JSON.stringify({
  schemaVersion: 2,
  manifests: [{ digest: fakeDigest("e"), annotations: { "org.opencontainers.image.ref.name": "1.0" } }],
});

Deno.test("importArchive() reads export.json and index.json entries and answers from an offline client", async () => {
  await using home = await tempHome();
  const path = join(home.path, "a.tar");
  await Deno.writeFile(
    path,
    buildTar([file("oci-layout", "{}"), file("index.json", INDEX), file("dz/export.json", INFO)]),
  );
  const imported = await importArchive(path, openBlobCache(home.layout.blobs));
  assert.equal(imported.info.digest, fakeDigest("e"));
  assert.deepEqual(imported.entries, [{ digest: fakeDigest("e"), name: "1.0" }]);
  await assert.rejects(() =>
    imported.client.getManifest({ registry: "h", repository: "r" }, fakeDigest("c"))
  );
});

Deno.test("importArchive() refuses what is not a complete dz archive, each with its own message", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const cases: [string, Uint8Array | null, string, RegExp][] = [
    ["missing.tar", null, "INVALID_ARGUMENT", /does not exist/],
    ["foreign.tar", buildTar([file("index.json", INDEX)]), "INVALID_ARGUMENT", /not a dz export archive/],
    ["no-index.tar", buildTar([file("dz/export.json", INFO)]), "INVALID_ARGUMENT", /has no index\.json/],
    [
      "two-index.tar",
      buildTar([file("index.json", INDEX), file("index.json", INDEX), file("dz/export.json", INFO)]),
      "INVALID_ARGUMENT",
      /more than one index\.json/,
    ],
    [
      "bad-index.tar",
      buildTar([file("index.json", '{"manifests": [{"digest": "md5:1"}]}'), file("dz/export.json", INFO)]),
      "INVALID_ARGUMENT",
      /unreadable index\.json/,
    ],
    [
      "bad-info.tar",
      buildTar([file("index.json", INDEX), file("dz/export.json", '{"version": 2}')]),
      "INVALID_ARGUMENT",
      /unreadable dz\/export\.json/,
    ],
    [
      "truncated.tar",
      buildTar([file("index.json", INDEX), file("dz/export.json", INFO)]).subarray(0, 700),
      "IO",
      /Cannot read archive/,
    ],
  ];
  for (const [name, bytes, code, pattern] of cases) {
    const path = join(home.path, name);
    if (bytes) await Deno.writeFile(path, bytes);
    await assert.rejects(
      () => importArchive(path, cache),
      (err) =>
        isDropzoneError(err) && err.code === code && pattern.test(err.message) && err.hint !== undefined,
      name,
    );
  }
});

Deno.test("importArchive() refuses a blob whose bytes do not hash to its name", async () => {
  await using home = await tempHome();
  const path = join(home.path, "tampered.tar");
  await Deno.writeFile(
    path,
    buildTar([
      file(`blobs/sha256/${"a".repeat(64)}`, "not those bytes"),
      file("index.json", INDEX),
      file("dz/export.json", INFO),
    ]),
  );
  await assert.rejects(
    () => importArchive(path, openBlobCache(home.layout.blobs)),
    (err) => isDropzoneError(err),
  );
  assert.equal(await openBlobCache(home.layout.blobs).has(fakeDigest("a")), false);
});
