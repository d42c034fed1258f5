import assert from "node:assert/strict";
import { join } from "node:path";
import { DropzoneError } from "../../src/errors.ts";
import { fileRefStore, offlineClient, recordingClient } from "../../src/registry/caching_client.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { tempHome } from "../support/temp_home.ts";

const REPO = { registry: "r.example", repository: "team/app" };
const SIG_TAG = `sha256-${"a".repeat(64)}.sig`;

Deno.test("offline: a cosign tag seen absent online is absent; one never looked up is 'not cached' (exit 1)", async () => {
  await using home = await tempHome();
  const cache = openBlobCache(home.layout.blobs);
  const refs = fileRefStore(join(home.layout.cache, "refs"));
  const unused = () => Promise.reject(new Error("not used"));
  const inner: RegistryClient = {
    ping: unused,
    getManifest: () => Promise.reject(new DropzoneError("MANIFEST_UNKNOWN", "not found (404)")),
    headManifest: unused,
    getBlob: unused,
    getBlobBytes: unused,
    listTags: unused,
    catalog: unused,
    referrers: unused,
  };
  const offline = offlineClient(cache, refs);

  const never = await offline.getManifest(REPO, SIG_TAG).catch((e) => e);
  assert.ok(never instanceof DropzoneError);
  assert.equal(never.code, "OFFLINE_MISS", "never looked up: unknown, not unsigned");
  assert.equal(never.exitCode, 1);

  await assert.rejects(recordingClient(inner, cache, refs).getManifest(REPO, SIG_TAG), /not found/);
  const absent = await offline.getManifest(REPO, SIG_TAG).catch((e) => e);
  assert.equal(absent.code, "MANIFEST_UNKNOWN", "recorded as absent online: like the registry's 404");
});
