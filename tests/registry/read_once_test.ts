/** Tests for src/registry/read_once.ts: which repeated reads are answered from memory, and which never are. */
import assert from "node:assert/strict";
import { DropzoneError, isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import type { Descriptor } from "../../src/oci/manifest.ts";
import { MUTABLE_TTL_MS, readOnceClient } from "../../src/registry/read_once.ts";
import type { FetchedManifest, RegistryClient, RepoRef } from "../../src/registry/types.ts";

const REPO: RepoRef = { registry: "127.0.0.1:5000", repository: "lab/tool" };
const OTHER: RepoRef = { registry: "127.0.0.1:5000", repository: "lab/other" };
const D = `sha256:${"a".repeat(64)}` as Digest;

/** An inner client whose answers the test sets, counting every call that reached it. */
function counting() {
  const calls: string[] = [];
  let fail: unknown;
  const manifest = (reference: string): FetchedManifest => ({
    digest: D,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    bytes: new TextEncoder().encode(`{"ref":"${reference}"}`),
    manifest: { kind: "manifest" } as unknown as FetchedManifest["manifest"],
  });
  const inner = {
    ping: () => Promise.resolve(),
    getBlob: () => Promise.reject(new Error("not used")),
    listTags: () => Promise.resolve([]),
    catalog: () => Promise.resolve([]),
    getManifest(repo: RepoRef, reference: string) {
      calls.push(`manifest ${repo.repository}@${reference}`);
      if (fail !== undefined) return Promise.reject(fail);
      if (reference.endsWith(".att")) {
        return Promise.reject(new DropzoneError("MANIFEST_UNKNOWN", `no ${reference}`));
      }
      return Promise.resolve(manifest(reference));
    },
    getBlobBytes(repo: RepoRef, digest: Digest, options?: { maxBytes?: number }) {
      calls.push(`blob ${repo.repository}@${digest}`);
      const bytes = new Uint8Array(100);
      if (bytes.length > (options?.maxBytes ?? Infinity)) {
        return Promise.reject(new DropzoneError("REGISTRY_PROTOCOL", "over the limit"));
      }
      return Promise.resolve(bytes);
    },
    referrers(repo: RepoRef, digest: Digest, options?: { artifactType?: string }) {
      calls.push(`referrers ${repo.repository}@${digest}?${options?.artifactType ?? ""}`);
      return Promise.resolve([{ digest: D, artifactType: options?.artifactType } as Descriptor]);
    },
    headManifest(_repo: RepoRef, reference: string) {
      calls.push(`head ${reference}`);
      return Promise.resolve({ digest: D, mediaType: "x", size: 1 });
    },
  } as unknown as RegistryClient;
  return {
    inner,
    calls,
    failWith(error: unknown) {
      fail = error;
    },
  };
}

Deno.test("a manifest or blob read again by digest is answered from memory, per repository", async () => {
  const { inner, calls } = counting();
  const client = readOnceClient(inner);
  const first = await client.getManifest(REPO, D);
  assert.equal(await client.getManifest(REPO, D), first);
  await client.getManifest(OTHER, D);
  const blob = await client.getBlobBytes(REPO, D);
  assert.equal(await client.getBlobBytes(REPO, D), blob);
  assert.deepEqual(calls, [`manifest lab/tool@${D}`, `manifest lab/other@${D}`, `blob lab/tool@${D}`]);
});

Deno.test("a tag, a missing tag and a referrer list are reused for a minute, then read again", async () => {
  const { inner, calls } = counting();
  let now = 0;
  const client = readOnceClient(inner, { now: () => now });
  await client.getManifest(REPO, "1.1.0");
  const missing = (e: unknown) => isDropzoneError(e, "MANIFEST_UNKNOWN");
  await assert.rejects(client.getManifest(REPO, "sha256-aaaa.att"), missing);
  await client.referrers(REPO, D, { artifactType: "sig" });
  now = MUTABLE_TTL_MS;
  await client.getManifest(REPO, "1.1.0");
  await assert.rejects(
    client.getManifest(REPO, "sha256-aaaa.att"),
    missing,
    "a remembered 404 is still a 404",
  );
  await client.referrers(REPO, D, { artifactType: "sig" });
  assert.equal(calls.length, 3, "within the minute nothing went out again");
  now = MUTABLE_TTL_MS + 1;
  await client.getManifest(REPO, "1.1.0");
  await assert.rejects(client.getManifest(REPO, "sha256-aaaa.att"), missing);
  await client.referrers(REPO, D, { artifactType: "sig" });
  assert.equal(calls.length, 6);
  await client.getManifest(REPO, D);
  now = 10 * MUTABLE_TTL_MS;
  await client.getManifest(REPO, D);
  assert.equal(calls.length, 7, "content by digest does not expire");
});

Deno.test("referrer lists are remembered per artifact type", async () => {
  const { inner, calls } = counting();
  const client = readOnceClient(inner);
  const sigs = await client.referrers(REPO, D, { artifactType: "sig" });
  const atts = await client.referrers(REPO, D, { artifactType: "att" });
  assert.equal(sigs[0]!.artifactType, "sig");
  assert.equal(atts[0]!.artifactType, "att");
  assert.equal((await client.referrers(REPO, D, { artifactType: "att" }))[0]!.artifactType, "att");
  assert.equal(calls.length, 2);
});

Deno.test("a network failure is never remembered: the next read goes out again", async () => {
  const { inner, calls, failWith } = counting();
  const client = readOnceClient(inner);
  failWith(new DropzoneError("REGISTRY_UNREACHABLE", "down"));
  for (const reference of ["1.1.0", D]) {
    await assert.rejects(
      client.getManifest(REPO, reference),
      (e) => isDropzoneError(e, "REGISTRY_UNREACHABLE"),
    );
  }
  failWith(undefined);
  await client.getManifest(REPO, "1.1.0");
  await client.getManifest(REPO, D);
  assert.equal(calls.length, 4);
});

Deno.test("a remembered blob of another size or over a caller's cap goes to the inner client, which refuses it", async () => {
  const { inner, calls } = counting();
  const client = readOnceClient(inner);
  await client.getBlobBytes(REPO, D);
  await client.getBlobBytes(REPO, D, { size: 100 });
  await client.getBlobBytes(REPO, D, { size: 99 }).catch(() => {});
  await assert.rejects(
    client.getBlobBytes(REPO, D, { maxBytes: 10 }),
    (e) => isDropzoneError(e, "REGISTRY_PROTOCOL"),
  );
  assert.equal(
    calls.length,
    3,
    "the right size is answered from memory; another size and a lower cap are not",
  );
});

Deno.test("nothing is remembered beyond the byte budget; HEADs are never remembered", async () => {
  const { inner, calls } = counting();
  const client = readOnceClient(inner, { maxBytes: 50 });
  await client.getBlobBytes(REPO, D);
  await client.getBlobBytes(REPO, D);
  await client.headManifest(REPO, "1.1.0");
  await client.headManifest(REPO, "1.1.0");
  assert.equal(calls.length, 4);
});

Deno.test("an expired tag answer gives its bytes back to the budget", async () => {
  const { inner, calls } = counting();
  let now = 0;
  // Room for one manifest (each is ~20 bytes): the expired tag's bytes must be released for the next one.
  const client = readOnceClient(inner, { now: () => now, maxBytes: 30 });
  await client.getManifest(REPO, "1.0.0");
  now = MUTABLE_TTL_MS + 1;
  await client.getManifest(REPO, "1.0.0");
  await client.getManifest(REPO, "1.0.0");
  assert.equal(calls.length, 2, "remembered again after the first answer expired");
});

Deno.test("a remembered answer is not given to a caller that was already stopped", async () => {
  const { inner } = counting();
  const client = readOnceClient(inner);
  await client.getManifest(REPO, D);
  const stopped = AbortSignal.abort(new DOMException("interrupted", "AbortError"));
  await assert.rejects(
    client.getManifest(REPO, D, { signal: stopped }),
    (e) => (e as Error).name === "AbortError",
  );
});
