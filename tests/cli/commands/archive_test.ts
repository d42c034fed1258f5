import assert from "node:assert/strict";
import { runDz, spawnDz } from "../../support/cli_harness.ts";
import { IDENTITY, labRegistryArgs, runWrapper, startE2E } from "../../support/e2e.ts";
import { tempDir } from "../../support/temp_home.ts";

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
}

Deno.test("dz export writes an OCI archive that skopeo and umoci read and dz installs air-gapped", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "air gapped\n");
  await using workDir = await tempDir("dz-archive-");
  const work = workDir.path;
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
  await using home2Dir = await tempDir("dz-airgap-");
  const home2 = home2Dir.path;
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
  await using home3Dir = await tempDir("dz-airgap-");
  const home3 = home3Dir.path;
  const dz3 = (argv: string[]) => runDz(argv, { home: home3 });
  await dz3(labRegistryArgs(env, { identity: IDENTITY.replace("tools", "other") }));
  const refused = await dz3(["install", archive]);
  assert.equal(refused.code, 3, refused.stderr);
});

Deno.test("an archive exported by installed name or by reference installs offline in a fresh home (child dz)", async () => {
  await using env = await startE2E();
  const pub = await env.publish("tool", "1.0", "exported\n");
  const work = await Deno.makeTempDir({ prefix: "dz-archive-" });
  const path = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  const childEnv = { PATH: path, DZ_NO_TUF: "1" };
  const homes: string[] = [];
  try {
    assert.equal((await env.dz(["install", "lab/tool:1.0"])).code, 0);
    // One archive per form, written by the real binary.
    const byName = await spawnDz(["export", "tool", "-o", `${work}/by-name.tar`], {
      home: env.home,
      env: childEnv,
    });
    assert.equal(byName.code, 0, byName.stderr);
    const byRef = await spawnDz(["export", "lab/tool:1.0", "-o", `${work}/by-ref.tar`], {
      home: env.home,
      env: childEnv,
    });
    assert.equal(byRef.code, 0, byRef.stderr);
    await env.registry.stop();
    for (const form of ["by-name", "by-ref"]) {
      const home = await Deno.makeTempDir({ prefix: "dz-airgap-" });
      homes.push(home);
      await Deno.remove(home);
      const dz = (argv: string[]) => spawnDz(argv, { home, env: childEnv });
      assert.equal((await dz(labRegistryArgs(env))).code, 0);
      const installed = await dz(["install", `${work}/${form}.tar`]);
      assert.equal(installed.code, 0, `${form}: ${installed.stderr}`);
      assert.equal((await runWrapper(`${home}/bin/tool`)).stdout, "exported\n", form);
      const list = JSON.parse((await dz(["list", "--json"])).stdout);
      assert.equal(list[0].digest, pub.digest, form);
      assert.equal(list[0].tag, "1.0", `${form}: the tag travels with the archive`);
      assert.equal(list[0].signed, true, form);
    }
  } finally {
    for (const d of [work, ...homes]) {
      await new Deno.Command("chmod", { args: ["-R", "u+rwX", d] }).output().catch(() => {});
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});
