/** The commit of a new version: what it writes, what it makes current, and what a failed commit leaves. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { commitNewVersion, type NewVersion, stageVersionFiles } from "../../src/app/install_commit.ts";
import { IMAGE_CONFIG_FILE } from "../../src/app/install_image_config.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { lstatOrNull } from "../../src/file_ops.ts";
import { writeLink } from "../../src/shim/write.ts";
import { readFileManifest } from "../../src/store/file_manifest.ts";
import { listVersions, readCurrentDigest } from "../../src/store/packages.ts";
import { installVersion, stageVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("stageVersionFiles() writes files.json of the rootfs and the image config's exact bytes", async () => {
  await using home = await tempHome();
  const { staging } = await stageVersion(home.layout, "tool", "1", { "etc/tool.conf": "x=1" });
  const config = new TextEncoder().encode('{"os":"linux",  "config":{}}');
  await stageVersionFiles(staging, join(staging, "rootfs"), config);
  assert.deepEqual(await Deno.readFile(join(staging, IMAGE_CONFIG_FILE)), config);
  const files = await readFileManifest(staging);
  assert.deepEqual(files?.map((f) => f.path).sort(), ["etc/tool.conf", "usr/bin/tool"]);
  // A second staging into the same directory would overwrite evidence: it is refused.
  await assert.rejects(() => stageVersionFiles(staging, join(staging, "rootfs"), config));
});

Deno.test("commitNewVersion() commits, activates, writes bins, removes the previous version's stale bins, prunes", async () => {
  await using home = await tempHome();
  const old = await installVersion(home.layout, "tool", "1");
  const { staging, metadata } = await stageVersion(home.layout, "tool", "2");
  const into = join(home.layout.packages, "tool/current/rootfs/usr/bin/tool");
  await writeLink(home.layout.bin, "tool-old", into, "tool");
  await writeLink(home.layout.bin, "tool", into, "tool");
  const events: string[] = [];
  const result = await commitNewVersion({
    layout: home.layout,
    name: "tool",
    staging,
    metadata,
    previous: { ...old.metadata, bins: [...old.metadata.bins, { name: "tool-old", path: "/usr/bin/tool" }] },
    replace: false,
    keep: 0,
    writeBins: async () => {
      events.push(`bins, current=${await readCurrentDigest(home.layout, "tool")}`);
      return ["/bin/tool"];
    },
    onCommitted: (digest) => events.push(`committed ${digest}`),
  });
  assert.deepEqual(events, [`committed ${metadata.digest}`, `bins, current=${metadata.digest}`]);
  assert.deepEqual(result.wrappers, ["/bin/tool"]);
  assert.deepEqual(result.pruned, [old.digest], "keep 0: the previous version goes");
  assert.equal(await readCurrentDigest(home.layout, "tool"), metadata.digest);
  assert.deepEqual((await listVersions(home.layout, "tool")).map((v) => v.digest), [metadata.digest]);
  assert.equal(await lstatOrNull(join(home.layout.bin, "tool-old")), null, "not a bin of the new version");
  assert.ok(await lstatOrNull(join(home.layout.bin, "tool")), "a bin of the new version stays");
});

Deno.test("a commit that fails leaves the previous version current, never calls onCommitted, writes no bins", async () => {
  await using home = await tempHome();
  const old = await installVersion(home.layout, "tool", "1");
  const { staging, metadata } = await stageVersion(home.layout, "tool", "2");
  let committed: Digest | undefined;
  let wrote = false;
  const version: NewVersion = {
    layout: home.layout,
    name: "tool",
    staging,
    // A metadata document for another package can never be committed under this one.
    metadata: { ...metadata, name: "other" },
    previous: old.metadata,
    replace: false,
    keep: 3,
    writeBins: () => {
      wrote = true;
      return Promise.resolve([]);
    },
    onCommitted: (digest) => committed = digest,
  };
  await assert.rejects(() => commitNewVersion(version));
  assert.equal(committed, undefined);
  assert.equal(wrote, false);
  assert.equal(await readCurrentDigest(home.layout, "tool"), old.digest);
  assert.deepEqual((await listVersions(home.layout, "tool")).map((v) => v.digest), [old.digest]);
});

Deno.test("a failure after the rename keeps the committed version: onCommitted has already been called", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "tool", "1");
  const { staging, metadata } = await stageVersion(home.layout, "tool", "2");
  let committed: Digest | undefined;
  await assert.rejects(
    () =>
      commitNewVersion({
        layout: home.layout,
        name: "tool",
        staging,
        metadata,
        previous: undefined,
        replace: false,
        keep: 3,
        writeBins: () => Promise.reject(new Error("bin/ is read-only")),
        onCommitted: (digest) => committed = digest,
      }),
    /read-only/,
  );
  assert.equal(committed, metadata.digest, "the caller knows not to undo it");
  assert.equal(await readCurrentDigest(home.layout, "tool"), metadata.digest);
});
