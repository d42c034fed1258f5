import assert from "node:assert/strict";
import { spawnDz } from "../support/cli_harness.ts";
import { hostBinaryEntries, OCI_ARCH, startE2E } from "../support/e2e.ts";
import { httpStore, signImageLegacy } from "../support/cosign_signer.ts";
import { buildImage, pushImage } from "../support/image_builder.ts";

Deno.test("dz run NAME of an installed package runs that package, offline, without going to a registry", async () => {
  await using env = await startE2E();
  await env.publish("echo", "latest", "installed copy\n");
  assert.equal((await env.dz(["install", "lab/echo"])).code, 0);
  await env.registry.stop();
  // The default registry (docker.io) is unreachable here too: a lookup there would fail, not run.
  const r = await spawnDz(["run", "echo", "--", "hi"], {
    home: env.home,
    env: { DZ_NO_TUF: "1", DZ_HTTP_TIMEOUT_MS: "2000" },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hi\n");
  const plain = await spawnDz(["run", "echo"], { home: env.home, env: { DZ_NO_TUF: "1" } });
  assert.equal(plain.stdout, "installed copy\n");
  assert.doesNotMatch(plain.stderr, /docker\.io|Resolved/);
});

Deno.test("dz run errors say 'Cannot run', not 'Cannot install'", async () => {
  await using env = await startE2E();
  await env.publish("echo", "latest", "x\n");
  // The registry's host without the configured /apps namespace has no policy.
  const r = await spawnDz(["run", `${env.registry.host}/other/echo`], {
    home: env.home,
    env: { DZ_NO_TUF: "1" },
  });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^error: Cannot run "/m);
  assert.doesNotMatch(r.stderr, /Cannot install/);
});

Deno.test("--platform names the requested platform, never 'this machine'", async () => {
  await using env = await startE2E();
  const other = OCI_ARCH === "amd64" ? "arm64" : "amd64";
  // A single-platform image (no index) built for the host's architecture, signed.
  const image = await buildImage({
    layers: [{ entries: await hostBinaryEntries("/usr/bin/echo", "echo") }],
    config: { Entrypoint: ["/usr/bin/echo"] },
    platform: { os: "linux", architecture: OCI_ARCH },
  });
  const digest = await pushImage(env.registry, "apps/single", "latest", image);
  await signImageLegacy(httpStore(env.registry), "apps/single", digest, await env.signer());
  const r = await env.dz(["install", "lab/single", "--platform", `linux/${other}`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`built for linux/${OCI_ARCH}, not for linux/${other}`));
  assert.doesNotMatch(r.stderr, /this machine|this host/);
});
