/** Tests for src/app/repair.ts: re-unpacking a damaged version from the blob cache only (doctor --fix). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { missingBlobs, reunpackFromCache } from "../../src/app/repair.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import { activate, commitVersion, readCurrent } from "../../src/store/packages.ts";
import { buildImage } from "../support/image_builder.ts";
import { stageVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

const CONFIG = { concurrency: 2, layer_cache: true };

/** Installs "tool" whose metadata names a real image, with the image's blobs in the cache. */
async function installFromImage(
  layout: StoreLayout,
): Promise<{ meta: PackageMetadata; blobs: Map<Digest, Uint8Array> }> {
  const image = await buildImage({
    layers: [
      {
        entries: [{
          type: "file",
          path: "usr/bin/tool",
          content: "#!/bin/sh\necho from layer one\n",
          mode: 0o755,
        }],
      },
      { entries: [{ type: "file", path: "etc/tool.conf", content: "setting=1\n" }] },
    ],
  });
  const blobs = new Map<Digest, Uint8Array>([[image.digest, image.manifestBytes], ...image.blobs]);
  const cache = openBlobCache(layout.blobs);
  for (const [digest, bytes] of blobs) {
    await cache.putStream(digest, bytes.length, ReadableStream.from([bytes]));
  }
  const { staging, metadata } = await stageVersion(layout, "tool", "1.0");
  const meta: PackageMetadata = {
    ...metadata,
    digest: image.digest,
    config_digest: image.configDigest,
    layers: image.layers.map((l) => l.digest),
    bins: [{ name: "tool", path: "/usr/bin/tool" }],
    entrypoint: { raw: ["/usr/bin/tool"], resolved: "/usr/bin/tool" },
  };
  await commitVersion(layout, "tool", staging, meta);
  await activate(layout, "tool", meta.digest);
  return { meta, blobs };
}

Deno.test("missingBlobs() lists the manifest, config and layers the cache lacks", async () => {
  await using home = await tempHome();
  const { meta } = await installFromImage(home.layout);
  assert.deepEqual(await missingBlobs(home.layout, meta), []);
  await Deno.remove(join(home.layout.blobs, meta.layers[1]!.slice(7)));
  await Deno.remove(join(home.layout.blobs, meta.digest.slice(7)));
  assert.deepEqual(await missingBlobs(home.layout, meta), [meta.digest, meta.layers[1]]);
});

Deno.test("reunpackFromCache() rebuilds a deleted rootfs from the cached layers, keeping the metadata", async () => {
  await using home = await tempHome();
  const { meta } = await installFromImage(home.layout);
  const before = (await readCurrent(home.layout, "tool"))!;
  await Deno.remove(before.rootfs, { recursive: true });
  await reunpackFromCache(home.layout, CONFIG, meta);
  const after = (await readCurrent(home.layout, "tool"))!;
  assert.equal(after.digest, meta.digest);
  assert.deepEqual(after.metadata, meta);
  assert.equal(
    await Deno.readTextFile(join(after.rootfs, "usr/bin/tool")),
    "#!/bin/sh\necho from layer one\n",
  );
  assert.equal(await Deno.readTextFile(join(after.rootfs, "etc/tool.conf")), "setting=1\n");
  assert.ok((await Deno.stat(join(after.dir, "files.json"))).isFile, "the file manifest is written again");
  assert.ok((await Deno.stat(join(after.dir, "image-config.json"))).isFile);
  const leftovers = [...Deno.readDirSync(join(home.layout.packages, "tool"))].map((e) => e.name);
  assert.ok(leftovers.every((n) => !n.startsWith(".staging-")), leftovers.join());
});

Deno.test("reunpackFromCache() refuses a cached manifest that does not hash to the recorded digest", async () => {
  await using home = await tempHome();
  const { meta } = await installFromImage(home.layout);
  const path = join(home.layout.blobs, meta.digest.slice(7));
  await Deno.chmod(path, 0o644);
  await Deno.writeTextFile(path, '{"schemaVersion":2,"layers":[]}');
  const current = (await readCurrent(home.layout, "tool"))!;
  await Deno.remove(join(current.rootfs, "usr/bin/tool"));
  await assert.rejects(reunpackFromCache(home.layout, CONFIG, meta), /corrupt/);
  await assert.rejects(
    Deno.stat(join(current.rootfs, "usr/bin/tool")),
    Deno.errors.NotFound,
    "nothing was replaced with unverified content",
  );
});
