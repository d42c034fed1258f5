import assert from "node:assert/strict";
import { runDz } from "../support/cli_harness.ts";
import { IDENTITY, labRegistryArgs, runWrapper, startE2E } from "../support/e2e.ts";

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
}

Deno.test("dz export writes an OCI archive that skopeo and umoci read and dz installs air-gapped", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "air gapped\n");
  const work = await Deno.makeTempDir({ prefix: "dz-archive-" });
  const archive = `${work}/cat.tar`;
  const exp = await env.dz(["export", "lab/cat", "-o", archive]);
  assert.equal(exp.code, 0, exp.stderr);
  assert.equal(exp.stdout, "");

  // Standard tools read it.
  const copy = await run("skopeo", ["copy", `oci-archive:${archive}:latest`, `oci:${work}/copy:latest`]);
  assert.ok(copy.ok, copy.err);
  await Deno.mkdir(`${work}/layout`);
  assert.ok((await run("tar", ["-xf", archive, "-C", `${work}/layout`])).ok);
  const unpack = await run("umoci", [
    "unpack",
    "--rootless",
    "--image",
    `${work}/layout:latest`,
    `${work}/bundle`,
  ]);
  assert.ok(unpack.ok, unpack.err);
  assert.ok((await Deno.stat(`${work}/bundle/rootfs/usr/bin/echo`)).isFile);
  const index = JSON.parse(await Deno.readTextFile(`${work}/layout/index.json`));
  const names = index.manifests.map((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"]
  );
  assert.ok(names.includes("latest"));
  assert.ok(names.includes(`sha256-${pub.digest.slice(7)}.sig`), "the signature travels with the image");

  // The air-gapped machine: its own home, the same registry policy, and no registry at all.
  await env.registry.stop();
  const home2 = await Deno.makeTempDir({ prefix: "dz-airgap-" });
  const dz2 = (argv: string[]) => runDz(argv, { home: home2, env: { PATH: Deno.env.get("PATH") ?? "" } });
  const add = await dz2(labRegistryArgs(env));
  assert.equal(add.code, 0, add.stderr);
  const verified = await dz2(["verify", archive, "--json"]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout).verified, true);
  const installed = await dz2(["install", archive]);
  assert.equal(installed.code, 0, installed.stderr);
  assert.equal((await runWrapper(`${home2}/bin/cat`)).stdout, "air gapped\n");
  const list = JSON.parse((await dz2(["list", "--json"])).stdout);
  assert.equal(list[0].digest, pub.digest);
  assert.equal(list[0].signed, true);

  // Same archive, stricter policy elsewhere: refused exactly as online.
  const home3 = await Deno.makeTempDir({ prefix: "dz-airgap-" });
  const dz3 = (argv: string[]) => runDz(argv, { home: home3 });
  await dz3(labRegistryArgs(env, { identity: IDENTITY.replace("tools", "other") }));
  const refused = await dz3(["install", archive]);
  assert.equal(refused.code, 3, refused.stderr);
  for (const d of [work, home2, home3]) {
    await new Deno.Command("chmod", { args: ["-R", "u+rwX", d] }).output();
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("dz export of an installed package by name installs air-gapped under its tag, pinned to its digest", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "1.0", "by name\n");
  assert.equal((await env.dz(["install", "lab/cat:1.0"])).code, 0);
  const work = await Deno.makeTempDir({ prefix: "dz-archive-" });
  const home2 = await Deno.makeTempDir({ prefix: "dz-airgap-" });
  try {
    const archive = `${work}/cat.tar`;
    const exp = await env.dz(["export", "cat", "-o", archive]);
    assert.equal(exp.code, 0, exp.stderr);
    // The export read the package's digest, not its tag: the archive must not need a tag resolution.
    await env.registry.stop();
    const dz2 = (argv: string[]) => runDz(argv, { home: home2, env: { PATH: Deno.env.get("PATH") ?? "" } });
    assert.equal((await dz2(labRegistryArgs(env))).code, 0);
    const installed = await dz2(["install", archive]);
    assert.equal(installed.code, 0, installed.stderr);
    const info = JSON.parse((await dz2(["info", "cat", "--json"])).stdout);
    assert.equal(info.digest, pub.digest);
    assert.equal(info.tag, "1.0");
  } finally {
    for (const d of [work, home2]) {
      await new Deno.Command("chmod", { args: ["-R", "u+rwX", d] }).output();
      await Deno.remove(d, { recursive: true });
    }
  }
});
