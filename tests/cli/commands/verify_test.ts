import assert from "node:assert/strict";
import { IDENTITY, ISSUER, labRegistryArgs, OCI_ARCH, startE2E } from "../../support/e2e.ts";
import { httpStore, signImageLegacy } from "../../support/cosign_signer.ts";
import { buildImage, pushImage } from "../../support/image_builder.ts";

Deno.test("dz verify checks a signed image by reference without pulling layers, and fails closed (exit 3)", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "release one\n");
  const r = await env.dz(["verify", "lab/cat", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.verified, true);
  assert.equal(report.mode, "reference");
  assert.equal(report.digest, pub.digest);
  assert.equal(report.index_digest, pub.indexDigest);
  assert.equal(report.signature.identity, IDENTITY);
  assert.equal(report.signature.issuer, ISSUER);
  assert.equal(report.signature.source, "legacy-sig");
  assert.ok([pub.digest, pub.indexDigest].includes(report.signature.signed_digest));
  assert.equal(typeof report.signature.rekor_log_index, "number");
  assert.match(report.signature.integrated_time_iso, /^\d{4}-\d\d-\d\dT/);
  assert.equal(report.trusted_root.source, "override");
  // Manifests and config only: nothing was installed or unpacked, and no layer reached the cache.
  assert.deepEqual([...Deno.readDirSync(`${env.home}/packages`)], []);
  for (const layer of pub.image.layers) {
    await assert.rejects(() => Deno.stat(`${env.home}/cache/blobs/sha256/${layer.digest.slice(7)}`));
  }

  const text = await env.dz(["verify", "lab/cat"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Verified: /);
  assert.match(text.stdout, /Signed by: +https:\/\/github\.com\/dz-test/);
  assert.match(text.stdout, /Rekor: +log index \d+/);
  assert.match(text.stdout, /Source: +legacy \.sig tag/);

  await env.publish("bundled", "1.0", "b\n", { sign: "bundle" });
  const bundled = JSON.parse((await env.dz(["verify", "lab/bundled:1.0", "--json"])).stdout);
  assert.equal(bundled.verified, true);
  assert.equal(bundled.signature.source, "bundle-referrer");

  await env.publish("unsigned", "latest", "x\n", { sign: "none" });
  const unsigned = await env.dz(["verify", "lab/unsigned", "--json"]);
  assert.equal(unsigned.code, 3, unsigned.stderr);
  const u = JSON.parse(unsigned.stdout);
  assert.equal(u.verified, false);
  assert.equal(u.signature, null);
  assert.equal(u.error.code, "SIGNATURE_MISSING");
  assert.match(unsigned.stderr, /^error: /m);

  const stranger = await env.pki.keyless({
    identity: "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
    issuer: ISSUER,
  });
  await env.publish("wrongid", "latest", "x\n", { signer: stranger });
  const wrong = await env.dz(["verify", "lab/wrongid", "--json"]);
  assert.equal(wrong.code, 3, wrong.stderr);
  const w = JSON.parse(wrong.stdout);
  assert.equal(w.verified, false);
  assert.ok(
    ["POLICY_MISMATCH", "SIGNATURE_INVALID", "SIGNATURE_MISSING"].includes(w.error.code),
    w.error.code,
  );
  assert.match(wrong.stderr, /evil\/fork/);

  // A registry without a policy: verification was asked for, so "no policy" is a failure.
  const adhoc = await env.dz(["verify", `${env.registry.host}/elsewhere/cat`, "--json"]);
  assert.equal(adhoc.code, 3, adhoc.stderr);
  const a = JSON.parse(adhoc.stdout);
  assert.equal(a.verified, false);
  assert.equal(a.policy, null);
  assert.equal(a.error.code, "POLICY_MISSING");
  assert.match(adhoc.stderr, /no policy/);
});

Deno.test("dz verify <name> re-verifies an installed package's digest against the current policy", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  // A newer push under the same tag must not change what is verified: the installed digest is.
  await env.publish("cat", "latest", "two\n");
  const r = await env.dz(["verify", "cat", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.mode, "installed");
  assert.equal(report.package, "cat");
  assert.equal(report.verified, true);
  assert.equal(report.digest, pub.digest);
  assert.equal(report.index_digest, pub.indexDigest);
  assert.equal(report.recorded_signer, IDENTITY);
  assert.equal(report.signer_changed, false);
  const text = await env.dz(["verify", "cat"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Verified: cat /);

  // Tighten the policy: the same installed digest now fails (exit 3).
  assert.equal((await env.dz(["remove", "registry", "lab", "--force"])).code, 0);
  const readd = await env.dz(
    labRegistryArgs(env, {
      identity: "https://github.com/someone/else/.github/workflows/release.yml@refs/heads/main",
    }),
  );
  assert.equal(readd.code, 0, readd.stderr);
  const strict = await env.dz(["verify", "cat", "--json"]);
  assert.equal(strict.code, 3, strict.stderr);
  assert.equal(JSON.parse(strict.stdout).verified, false);
});

Deno.test("dz verify of a single-platform image does not need its config blob: platform unknown", async () => {
  await using env = await startE2E();
  // A single-platform image (no index), built for another architecture than this host, signed legacy.
  const image = await buildImage({
    layers: [{ entries: [{ type: "file", path: "etc/release", content: "x\n" }] }],
    platform: { os: "linux", architecture: OCI_ARCH === "amd64" ? "arm64" : "amd64" },
  });
  const digest = await pushImage(env.registry, "apps/single", "1.0", image);
  await signImageLegacy(httpStore(env.registry), "apps/single", digest, await env.signer());

  const withConfig = JSON.parse((await env.dz(["verify", "lab/single:1.0", "--json"])).stdout);
  assert.equal(withConfig.verified, true, JSON.stringify(withConfig.error));
  assert.equal(withConfig.platform, `linux/${OCI_ARCH === "amd64" ? "arm64" : "amd64"}`);

  // The registry loses the config blob: the signature binds the manifest, so verification still succeeds.
  const del = await fetch(`${env.registry.url}/v2/apps/single/blobs/${image.configDigest}`, {
    method: "DELETE",
  });
  await del.body?.cancel();
  assert.equal(del.status, 202);
  const gone = await fetch(`${env.registry.url}/v2/apps/single/blobs/${image.configDigest}`);
  await gone.body?.cancel();
  assert.equal(gone.status, 404);
  const r = await env.dz(["verify", "lab/single:1.0", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.verified, true);
  assert.equal(report.digest, digest);
  assert.equal(report.index_digest, null);
  assert.equal(report.platform, null);
  const text = await env.dz(["verify", "lab/single:1.0"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ {2}Platform: +unknown \(the image config could not be read\)$/m);
});
