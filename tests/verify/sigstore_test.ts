import assert from "node:assert/strict";
import {
  bundleFromJSON,
  canonicalJson,
  embeddedTrustedRootText,
  initTUF,
} from "../../src/verify/sigstore.ts";
import { validateTrustedRoot } from "../../src/verify/trusted_root_validate.ts";

Deno.test("importing sigstore.ts alone installs the node:crypto shim", async () => {
  // In a fresh process, so no other import (test_pki, crypto_compat itself) can have installed it.
  const script = `
    import crypto from "node:crypto";
    import { Verifier } from "${import.meta.resolve("../../src/verify/sigstore.ts")}";
    console.log(typeof Verifier, crypto.verify[Symbol.for("dz.cryptoCompat.verifyPatched")] !== undefined);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "function true");
});

Deno.test("embeddedTrustedRootText() is the public-good trusted root from the @sigstore/tuf seeds", () => {
  const text = embeddedTrustedRootText();
  const root = JSON.parse(text) as {
    mediaType: string;
    tlogs: { baseUrl: string }[];
    certificateAuthorities: unknown[];
  };
  validateTrustedRoot(root, "embedded");
  assert.match(root.mediaType, /^application\/vnd\.dev\.sigstore\.trustedroot/);
  assert.ok(root.tlogs.some((t) => t.baseUrl === "https://rekor.sigstore.dev"));
  assert.ok(root.certificateAuthorities.length > 0);
});

Deno.test("bundleFromJSON() refuses a bundle without verification material; canonicalJson() sorts keys", () => {
  assert.throws(() => bundleFromJSON({ mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1" }));
  assert.equal(canonicalJson.canonicalize({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
});

Deno.test("initTUF() loads @sigstore/tuf on first use and passes the options through", async () => {
  const cachePath = await Deno.makeTempDir({ prefix: "dz-tuf-" });
  try {
    // A mirror the seeds do not know, with no root given: refused before any request.
    await assert.rejects(
      initTUF({ mirrorURL: "http://127.0.0.1:9", cachePath, retry: 0, timeout: 1000 }),
      (err) =>
        err instanceof Error && /No root\.json found for mirror: http:\/\/127\.0\.0\.1:9/.test(err.message),
    );
  } finally {
    await Deno.remove(cachePath, { recursive: true });
  }
});
