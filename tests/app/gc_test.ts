/** `collectGarbage`: keeps the blobs of every kept version, previous ones too, deletes the rest, only under the lock. */
import assert from "node:assert/strict";
import { collectGarbage } from "../../src/app/gc.ts";
import { isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { acquireStoreLock } from "../../src/store/lock.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import { countingStore } from "../support/store_access.ts";
import { tempHome } from "../support/temp_home.ts";
import { digestOf, installVersion } from "../support/store_fixtures.ts";

/** Caches the blobs sampleMetadata names for `name` `version` (its text hashes to the recorded digest). */
async function cacheBlobsOf(layout: StoreLayout, name: string, version: string): Promise<Digest[]> {
  const cache = openBlobCache(layout.blobs);
  const digests: Digest[] = [];
  for (const kind of ["index", "manifest", "config", "layer"]) {
    const bytes = new TextEncoder().encode(`${kind} ${name} ${version}`);
    const digest = await digestOf(`${kind} ${name} ${version}`);
    await cache.putStream(digest, bytes.length, new Blob([bytes]).stream());
    digests.push(digest);
  }
  return digests;
}

const NOW = () => new Date();

Deno.test("gc keeps the blobs of the current and every previous version and removes unreferenced ones", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  await installVersion(home.layout, "cat", "2");
  const kept = [
    ...await cacheBlobsOf(home.layout, "cat", "1"),
    ...await cacheBlobsOf(home.layout, "cat", "2"),
  ];
  const orphans = await cacheBlobsOf(home.layout, "gone", "1"); // a removed package's blobs
  const store = countingStore(home.layout);

  const outcome = await collectGarbage(store, { now: NOW });

  assert.equal(store.locks, 1);
  assert.equal(outcome.dryRun, false);
  assert.deepEqual([...outcome.blobs.removedBlobs].sort(), [...orphans].sort());
  assert.ok(outcome.blobs.bytesFreed > 0);
  const cache = openBlobCache(home.layout.blobs);
  for (const d of kept) assert.ok(await cache.has(d), `${d} of a kept version stays`);
  for (const d of orphans) assert.equal(await cache.has(d), false, `${d} removed`);
  const again = await collectGarbage(store, { now: NOW });
  assert.deepEqual(again.blobs.removedBlobs, []);
});

Deno.test("gc --dry-run reports what it would free and deletes nothing", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const orphans = await cacheBlobsOf(home.layout, "gone", "1");
  const outcome = await collectGarbage(countingStore(home.layout), { now: NOW, dryRun: true });
  assert.equal(outcome.dryRun, true);
  assert.deepEqual([...outcome.blobs.removedBlobs].sort(), [...orphans].sort());
  const cache = openBlobCache(home.layout.blobs);
  for (const d of orphans) assert.ok(await cache.has(d), `${d} still there after a dry run`);
});

Deno.test("gc does not touch the cache while another dz holds the store lock", async () => {
  await using home = await tempHome();
  const orphans = await cacheBlobsOf(home.layout, "gone", "1");
  {
    await using _held = await acquireStoreLock(home.layout.lockFile);
    await assert.rejects(
      () => collectGarbage(countingStore(home.layout, { timeoutMs: 150 }), { now: NOW }),
      (err) => isDropzoneError(err) && err.code === "LOCKED",
    );
    const cache = openBlobCache(home.layout.blobs);
    for (const d of orphans) assert.ok(await cache.has(d), `${d} untouched while the lock is held`);
  }
  // Released: the same call now collects.
  const outcome = await collectGarbage(countingStore(home.layout), { now: NOW });
  assert.equal(outcome.blobs.removedBlobs.length, orphans.length);
});
