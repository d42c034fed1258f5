/** `dz gc` through the CLI harness: what it reports on stderr (nothing on stdout), --dry-run, --verbose, exit codes. */
import assert from "node:assert/strict";
import type { Digest } from "../../../src/oci/digest.ts";
import { openBlobCache } from "../../../src/store/blob_cache.ts";
import { acquireStoreLock } from "../../../src/store/lock.ts";
import { runDz } from "../../support/cli_harness.ts";
import { tempHome } from "../../support/temp_home.ts";
import { digestOf, installVersion } from "../../support/store_fixtures.ts";

async function cacheOrphan(blobs: string, text: string): Promise<Digest> {
  const bytes = new TextEncoder().encode(text);
  const digest = await digestOf(text);
  await openBlobCache(blobs).putStream(digest, bytes.length, new Blob([bytes]).stream());
  return digest;
}

Deno.test("dz gc --dry-run names what it would free; dz gc frees it; a second run has nothing to collect", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const orphan = await cacheOrphan(home.layout.blobs, "an unreferenced blob");

  const dry = await runDz(["gc", "--dry-run", "--verbose"], { home: home.path });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout, "");
  assert.match(dry.stderr, /^Would remove 1 blob\(s\), freeing 20 bytes\n/m);
  assert.match(dry.stderr, new RegExp(`^debug: would remove blob ${orphan}$`, "m"));
  assert.ok(await openBlobCache(home.layout.blobs).has(orphan), "a dry run keeps it");

  const run = await runDz(["gc"], { home: home.path });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr, "Removed 1 blob(s), freed 20 bytes\n");
  assert.equal(await openBlobCache(home.layout.blobs).has(orphan), false);

  const again = await runDz(["gc"], { home: home.path });
  assert.equal(
    again.stderr,
    "Nothing to collect: every cached blob and layer snapshot is used by an installed version\n",
  );
});

Deno.test("dz gc while another dz holds the store lock fails with exit 1 and a hint, freeing nothing", async () => {
  await using home = await tempHome();
  const orphan = await cacheOrphan(home.layout.blobs, "an unreferenced blob");
  await Deno.mkdir(home.layout.packages, { recursive: true });
  await using _held = await acquireStoreLock(home.layout.lockFile);
  const r = await runDz(["gc"], { home: home.path, env: { DZ_LOCK_TIMEOUT_MS: "0" } });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^error: Cannot lock the dz store .*still working on it\nhint: Wait for the other dz/m,
  );
  assert.ok(await openBlobCache(home.layout.blobs).has(orphan));
});
