import assert from "node:assert/strict";
import type { Digest } from "../../src/oci/digest.ts";
import { isCosignTag, referrersKey, refKeySubject, refSubject, tagKey } from "../../src/registry/ref_keys.ts";

const HEX = "a".repeat(64);
const DIGEST = `sha256:${HEX}` as Digest;

Deno.test("refKeySubject reads legacy signature tags and referrer keys", () => {
  assert.equal(
    refKeySubject(`tag:127.0.0.1:5000/apps/cat:sha256-${HEX}.sig`),
    `127.0.0.1:5000/apps/cat@sha256:${HEX}`,
  );
  assert.equal(
    refKeySubject(`referrers:ghcr.io/o/r@sha256:${HEX}?application/vnd.dev.sigstore.bundle.v0.3+json`),
    `ghcr.io/o/r@sha256:${HEX}`,
  );
  assert.equal(refKeySubject("tag:ghcr.io/o/r:latest"), null);
});

Deno.test("refKeySubject parses back exactly the keys the recording client builds", () => {
  const cases: {
    repo: { registry: string; repository: string };
    key: (r: typeof cases[0]["repo"]) => string;
  }[] = [
    {
      repo: { registry: "localhost:5000", repository: "lab/cat" },
      key: (r) => tagKey(r, `sha256-${HEX}.sig`),
    },
    { repo: { registry: "docker.io", repository: "library/jq" }, key: (r) => tagKey(r, `sha256-${HEX}.att`) },
    { repo: { registry: "[::1]:5000", repository: "a/b/c" }, key: (r) => referrersKey(r, DIGEST) },
    {
      repo: { registry: "ghcr.io", repository: "o/r" },
      key: (r) => referrersKey(r, DIGEST, "application/vnd.in-toto+json"),
    },
  ];
  for (const { repo, key } of cases) {
    assert.equal(refKeySubject(key(repo)), refSubject(repo, DIGEST), key(repo));
  }
});

Deno.test("refKeySubject ignores plain tags, bare digest tags, malformed digests and foreign keys", () => {
  const repo = { registry: "ghcr.io", repository: "o/r" };
  for (
    const key of [
      tagKey(repo, "1.7"),
      tagKey(repo, `sha256-${HEX}`), // no sidecar suffix: not a signature
      tagKey(repo, `sha256-${"A".repeat(64)}.sig`),
      `referrers:ghcr.io/o/r@sha256:${HEX.slice(1)}`,
      `referrers:@sha256:${HEX}`,
      `blob:ghcr.io/o/r@sha256:${HEX}`,
      "",
    ]
  ) {
    assert.equal(refKeySubject(key), null, key);
  }
});

Deno.test("isCosignTag: sha256-<hex> with or without a sidecar suffix", () => {
  assert.equal(isCosignTag(`sha256-${HEX}.sig`), true);
  assert.equal(isCosignTag(`sha256-${HEX}`), true);
  assert.equal(isCosignTag("latest"), false);
  assert.equal(isCosignTag(`sha256-${HEX}.SIG`), false);
});
