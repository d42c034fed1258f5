/**
 * From a verified image to a rootfs (src/app/layers.ts): downloads skip layers with a snapshot, build extracts
 * only the missing ones, `layer_cache: false` keeps nothing shared, and a failing extraction reports its own
 * error. The registry is a fake serving blobs from memory and counting what it serves.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ResolvedImage } from "../../src/app/image.ts";
import {
  extractsOnThisThread,
  fetchLayers,
  IN_PROCESS_LAYER_BYTES,
  type LayerEvent,
  versionDiskUsage,
} from "../../src/app/layers.ts";
import type { Descriptor } from "../../src/oci/manifest.ts";
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { openLayerStore } from "../../src/store/layer_store.ts";
import { buildTar, dir, file, gzip, streamOf } from "../support/tar_writer.ts";
import { tempHome } from "../support/temp_home.ts";
import { installVersion } from "../support/store_fixtures.ts";

interface Blob {
  readonly digest: Digest;
  readonly bytes: Uint8Array;
}

async function gzipLayer(entries: Parameters<typeof buildTar>[0]): Promise<Blob> {
  const bytes = await gzip(buildTar(entries));
  return { digest: await sha256Digest(bytes), bytes };
}

/** A client that serves `blobs` and records every digest it was asked for. */
function fakeClient(blobs: readonly Blob[], served: Digest[]): RegistryClient {
  return {
    getBlob(_repo: unknown, digest: Digest) {
      served.push(digest);
      const blob = blobs.find((b) => b.digest === digest);
      if (!blob) return Promise.reject(new Error(`no blob ${digest}`));
      return Promise.resolve(streamOf(blob.bytes));
    },
  } as unknown as RegistryClient;
}

function imageOf(blobs: readonly Blob[]): ResolvedImage {
  return {
    repo: { registry: "registry.test", repository: "apps/tool" },
    manifest: {
      layers: blobs.map((b) => ({
        mediaType: MEDIA_TYPES.OCI_LAYER_GZIP,
        digest: b.digest,
        size: b.bytes.length,
      })),
    },
  } as unknown as ResolvedImage;
}

const BASE = [dir("usr/"), file("usr/base", "base")];
const TOP = [dir("etc/"), file("etc/top", "top")];

Deno.test("fetchLayers() downloads and extracts only the layers without a snapshot; build links the rest", async () => {
  await using home = await tempHome();
  const base = await gzipLayer(BASE);
  const top = await gzipLayer(TOP);
  const cache = openBlobCache(home.layout.blobs);
  // The base layer was extracted by an earlier install; its blob is no longer cached.
  await openLayerStore(home.layout.layers).extract(
    base.digest,
    () => Promise.resolve(streamOf(buildTar(BASE))),
  );
  const served: Digest[] = [];
  const events: LayerEvent[] = [];
  const deps = {
    layout: home.layout,
    config: { concurrency: 2, layer_cache: true },
    client: fakeClient([base, top], served),
    onEvent: (e: LayerEvent) => events.push(e),
  };
  const fetched = new Set<Digest>();
  const layers = await fetchLayers(deps, imageOf([base, top]), cache, new AbortController().signal, {
    fetched,
  });
  await Promise.all(layers.downloads);
  assert.deepEqual(served, [top.digest], "only the layer without a snapshot is downloaded");
  assert.deepEqual([...fetched], [top.digest]);
  assert.ok(events.some((e) => e.type === "layer-start" && e.digest === base.digest && e.cached));

  const rootfs = join(home.path, "rootfs");
  const built = await layers.build(rootfs, { scratch: home.path, signal: new AbortController().signal });
  assert.deepEqual(built, { extracted: 1, reused: 1 });
  assert.deepEqual([...layers.extracted], [top.digest]);
  assert.equal(await Deno.readTextFile(join(rootfs, "usr/base")), "base");
  assert.equal(await Deno.readTextFile(join(rootfs, "etc/top")), "top");
  const snapshot = (await openLayerStore(home.layout.layers).load(base.digest))!;
  assert.equal(
    (await Deno.lstat(join(rootfs, "usr/base"))).ino,
    (await Deno.lstat(join(snapshot.tree, "usr/base"))).ino,
  );
  assert.deepEqual(
    events.filter((e) => e.type === "unpack").map((e) => (e as { index: number }).index),
    [0, 1],
    "composition goes in layer order",
  );
});

Deno.test("fetchLayers() with layer_cache: false composes independent copies and keeps no snapshot", async () => {
  await using home = await tempHome();
  const base = await gzipLayer(BASE);
  const cache = openBlobCache(home.layout.blobs);
  const deps = {
    layout: home.layout,
    config: { concurrency: 2, layer_cache: false },
    client: fakeClient([base], []),
  };
  const layers = await fetchLayers(deps, imageOf([base]), cache, new AbortController().signal);
  const scratch = join(home.path, "scratch");
  await Deno.mkdir(scratch);
  const rootfs = join(home.path, "rootfs");
  assert.deepEqual(await layers.build(rootfs, { scratch, signal: new AbortController().signal }), {
    extracted: 1,
    reused: 0,
  });
  assert.equal((await Deno.lstat(join(rootfs, "usr/base"))).nlink, 1, "an independent copy");
  assert.deepEqual(await Array.fromAsync(Deno.readDir(scratch)), [], "the private snapshots are gone");
  assert.deepEqual(await openLayerStore(home.layout.layers).list(), []);
  assert.deepEqual([...layers.extracted], [], "nothing shared was extracted");
});

Deno.test("a layer that fails to extract fails the build with its own error, not the abort it causes", async () => {
  await using home = await tempHome();
  const base = await gzipLayer(BASE);
  const broken = { bytes: new TextEncoder().encode("not gzip at all"), digest: "" as Digest };
  const corrupt = { ...broken, digest: await sha256Digest(broken.bytes) };
  const cache = openBlobCache(home.layout.blobs);
  const deps = {
    layout: home.layout,
    config: { concurrency: 2, layer_cache: true },
    client: fakeClient([base, corrupt], []),
  };
  const layers = await fetchLayers(deps, imageOf([base, corrupt]), cache, new AbortController().signal);
  const err = await layers.build(join(home.path, "rootfs"), {
    scratch: home.path,
    signal: new AbortController().signal,
  }).catch((e) => e);
  assert.equal(err?.code, "UNSAFE_LAYER", String(err));
  assert.equal(await openLayerStore(home.layout.layers).load(corrupt.digest), undefined);
});

Deno.test("versionDiskUsage() splits a version's bytes into its own and those shared by hard links", async () => {
  await using home = await tempHome();
  const v = await installVersion(home.layout, "jq", "1", { "usr/share/big": "x".repeat(1000) });
  const before = await versionDiskUsage(home.layout, "jq", v.digest);
  assert.equal(before.shared, 0);
  await Deno.link(join(v.rootfs, "usr/share/big"), join(home.path, "elsewhere"));
  const after = await versionDiskUsage(home.layout, "jq", v.digest);
  assert.equal(after.shared, 1000);
  assert.equal(after.own, before.own - 1000);
});

Deno.test("extractsOnThisThread(): only when the layers to extract total at most the limit (else all go to workers)", () => {
  const layer = (size: number) =>
    ({ mediaType: MEDIA_TYPES.OCI_LAYER_GZIP, digest: `sha256:${"0".repeat(64)}`, size }) as Descriptor;
  const limit = IN_PROCESS_LAYER_BYTES;
  assert.equal(extractsOnThisThread([], limit), true, "nothing to extract starts no worker");
  assert.equal(extractsOnThisThread([layer(1_400_000)], limit), true, "an update's one small layer");
  assert.equal(extractsOnThisThread([layer(limit)], limit), true);
  assert.equal(extractsOnThisThread([layer(limit + 1)], limit), false);
  assert.equal(
    extractsOnThisThread([layer(1_400_000), layer(30_000_000)], limit),
    false,
    "a cold install: the small layer goes to the workers too",
  );
  assert.equal(extractsOnThisThread([layer(3_000_000), layer(3_000_000)], limit), false, "the sum counts");
});
