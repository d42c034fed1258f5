import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import {
  embeddedTrustedRoot,
  loadTrustContext,
  loadTrustedRoot,
  validateTrustedRoot,
} from "../../src/verify/trusted_root.ts";
import { createTestPki } from "../support/test_pki.ts";

const NOW = new Date("2026-11-01T00:00:00Z");

Deno.test("embeddedTrustedRoot() decodes the public-good root from @sigstore/tuf seeds", () => {
  const root = embeddedTrustedRoot();
  validateTrustedRoot(root);
  const tlogs = root.tlogs as { baseUrl: string }[];
  assert.ok(tlogs.some((t) => t.baseUrl === "https://rekor.sigstore.dev"));
});

Deno.test("loadTrustedRoot() offline with no cache uses the embedded root", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    let called = false;
    const loaded = await loadTrustedRoot({
      cacheDir,
      now: NOW,
      offline: true,
      refresh: () => {
        called = true;
        return Promise.reject(new Error("network"));
      },
    });
    assert.equal(loaded.source, "embedded");
    assert.equal(called, false);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadTrustedRoot() refreshes when online, then serves the fresh cache, then falls back", async () => {
  const pki = await createTestPki();
  const cacheDir = await Deno.makeTempDir();
  try {
    const now = new Date();
    const refreshed = await loadTrustedRoot({
      cacheDir,
      now,
      offline: false,
      refresh: () => Promise.resolve(pki.trustedRootText),
    });
    assert.equal(refreshed.source, "tuf-refresh");
    assert.deepEqual(refreshed.trustedRoot, pki.trustedRoot);
    const cached = await loadTrustedRoot({
      cacheDir,
      now,
      offline: false,
      refresh: () => Promise.reject(new Error("must not be called")),
    });
    assert.equal(cached.source, "tuf-cache");
    // Two days later: the refresh fails, the stale cache is used with a warning.
    const later = new Date(now.getTime() + 2 * 86_400_000);
    const stale = await loadTrustedRoot({
      cacheDir,
      now: later,
      offline: false,
      refresh: () => Promise.reject(new Error("fetch failed")),
    });
    assert.equal(stale.source, "tuf-cache");
    assert.ok((stale.ageSeconds ?? 0) >= 2 * 86_400 - 5);
    assert.match(stale.warning ?? "", /fetch failed/);
    // A refresh that returns an invalid root is refused, not cached.
    const invalid = await loadTrustedRoot({
      cacheDir,
      now: later,
      offline: false,
      refresh: () => Promise.resolve(JSON.stringify({ mediaType: "x" })),
    });
    assert.equal(invalid.source, "tuf-cache");
    assert.match(invalid.warning ?? "", /mediaType/);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadTrustContext() reads a registry's trusted_root and public_key", async () => {
  const pki = await createTestPki();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/root.json`, pki.trustedRootText);
    await Deno.writeTextFile(`${dir}/cosign.pub`, pki.keyPair().publicKeyPem);
    const ctx = await loadTrustContext({
      cacheDir: dir,
      now: NOW,
      offline: true,
      policy: { public_key: `${dir}/cosign.pub`, trusted_root: `${dir}/root.json` },
    });
    assert.equal(ctx.root.source, "override");
    assert.match(ctx.publicKeyPem ?? "", /BEGIN PUBLIC KEY/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{}");
    await assert.rejects(
      loadTrustContext({
        cacheDir: dir,
        now: NOW,
        offline: true,
        policy: { trusted_root: `${dir}/bad.json` },
      }),
      (err) => isDropzoneError(err, "TRUSTED_ROOT_INVALID"),
    );
    await assert.rejects(
      loadTrustContext({
        cacheDir: dir,
        now: NOW,
        offline: true,
        policy: { public_key: `${dir}/root.json` },
      }),
      (err) => isDropzoneError(err, "CONFIG_INVALID"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
