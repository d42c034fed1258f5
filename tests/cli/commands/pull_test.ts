/** `dz pull REF -o DIR` (src/cli/commands/pull.ts) end to end: files, rootfs, --platform, --json receipt, refusals. */
import assert from "node:assert/strict";
import { type E2E, IDENTITY, OCI_ARCH, startE2E } from "../../support/e2e.ts";
import { pushArtifact, pushArtifactIndex, tamperStoredBlob } from "../../support/artifact_pusher.ts";
import { httpStore, signImageLegacy } from "../../support/cosign_signer.ts";
import type { Digest } from "../../../src/oci/digest.ts";

const OTHER_ARCH = OCI_ARCH === "amd64" ? "arm64" : "amd64";

async function sign(env: E2E, repository: string, ...digests: Digest[]): Promise<void> {
  const signer = await env.signer();
  for (const d of digests) await signImageLegacy(httpStore(env.registry), repository, d, signer);
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

async function withOutDir(fn: (parent: string) => Promise<void>): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "dz-pull-out-" });
  try {
    await fn(parent);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

Deno.test("dz pull of a signed artifact writes each file by title, digest-checked, with a dz-pull.json receipt", async () => {
  await using env = await startE2E();
  const tool = new TextEncoder().encode("#!/bin/sh\necho tool\n");
  const a = await pushArtifact(env.registry, "apps/tool", "v1", {
    files: [{ title: "tool-linux-amd64", content: tool }, { title: "README.md", content: "# Tool\n" }],
  });
  await sign(env, "apps/tool", a.digest);
  await withOutDir(async (parent) => {
    const dir = `${parent}/tool-v1`;
    const r = await env.dz(["pull", "lab/tool:v1", "-o", dir, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await names(dir), ["README.md", "dz-pull.json", "tool-linux-amd64"]);
    assert.deepEqual(await Deno.readFile(`${dir}/tool-linux-amd64`), tool);
    assert.equal(await Deno.readTextFile(`${dir}/README.md`), "# Tool\n");
    const receipt = JSON.parse(await Deno.readTextFile(`${dir}/dz-pull.json`));
    assert.deepEqual(JSON.parse(r.stdout), receipt, "--json prints the receipt");
    assert.equal(receipt.kind, "artifact");
    assert.equal(receipt.digest, a.digest);
    assert.equal(receipt.source, `${env.registry.host}/apps/tool`);
    assert.equal(receipt.tag, "v1");
    assert.deepEqual(receipt.files.map((f: { name: string; digest: string }) => [f.name, f.digest]), [
      ["tool-linux-amd64", a.layers[0]],
      ["README.md", a.layers[1]],
    ]);
    assert.equal(receipt.signer.identity, IDENTITY);
    assert.equal(receipt.signer.signed_digest, a.digest);
    assert.match(r.stderr, /Pulled lab\/tool:v1 .* into /);
    assert.deepEqual((await names(parent)).filter((n) => n.startsWith(".")), [], "no staging left behind");

    // An existing non-empty DIR is refused; --force writes into it and keeps unrelated files.
    const again = await env.dz(["pull", "lab/tool:v1", "-o", dir]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /exists and is not empty[\s\S]*--force/);
    await Deno.writeTextFile(`${dir}/mine.txt`, "keep me");
    await Deno.writeTextFile(`${dir}/README.md`, "stale");
    const forced = await env.dz(["pull", "lab/tool:v1", "-o", dir, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/mine.txt`), "keep me");
    assert.equal(await Deno.readTextFile(`${dir}/README.md`), "# Tool\n");
  });
});

Deno.test("dz pull of a container image writes its unpacked rootfs; --platform picks an index entry", async () => {
  await using env = await startE2E();
  await env.publish("cat", "1.0", "pulled rootfs\n");
  const other = new TextEncoder().encode("other platform");
  const index = await pushArtifactIndex(env.registry, "apps/multi", "1", [
    { files: [{ title: "multi", content: "host build" }], platform: { os: "linux", architecture: OCI_ARCH } },
    { files: [{ title: "multi", content: other }], platform: { os: "linux", architecture: OTHER_ARCH } },
  ]);
  await sign(env, "apps/multi", index.digest, ...index.artifacts.map((a) => a.digest));
  await withOutDir(async (parent) => {
    const r = await env.dz(["pull", "lab/cat:1.0", "-o", `${parent}/cat`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await names(`${parent}/cat`), ["dz-pull.json", "rootfs"]);
    assert.equal(await Deno.readTextFile(`${parent}/cat/rootfs/etc/release`), "pulled rootfs\n");
    assert.ok((await Deno.lstat(`${parent}/cat/rootfs/usr/bin/echo`)).isFile);
    const receipt = JSON.parse(await Deno.readTextFile(`${parent}/cat/dz-pull.json`));
    assert.equal(receipt.kind, "image");
    assert.equal(receipt.layers.length, 2);

    const p = await env.dz([
      "pull",
      "lab/multi:1",
      "-o",
      `${parent}/multi`,
      "--platform",
      `linux/${OTHER_ARCH}`,
    ]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await Deno.readFile(`${parent}/multi/multi`), other);
    const multi = JSON.parse(await Deno.readTextFile(`${parent}/multi/dz-pull.json`));
    assert.equal(multi.platform, `linux/${OTHER_ARCH}`);
    assert.equal(multi.index_digest, index.digest);
  });
});

Deno.test("dz pull writes nothing to DIR when verification fails, a title is hostile or a layer is tampered", async () => {
  await using env = await startE2E();
  const bytes = new TextEncoder().encode("payload bytes");
  await pushArtifact(env.registry, "apps/unsigned", "1", { files: [{ title: "f", content: bytes }] });
  const wrong = await pushArtifact(env.registry, "apps/wrong", "1", {
    files: [{ title: "f", content: bytes }],
  });
  const stranger = await env.pki.keyless({
    identity: "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
    issuer: "https://token.actions.githubusercontent.com",
  });
  await signImageLegacy(httpStore(env.registry), "apps/wrong", wrong.digest, stranger);
  const hostile = await pushArtifact(env.registry, "apps/hostile", "1", {
    files: [{ title: "ok", content: bytes }, { title: "../outside", content: bytes }],
  });
  await sign(env, "apps/hostile", hostile.digest);
  const tampered = await pushArtifact(env.registry, "apps/tampered", "1", {
    files: [{ title: "f", content: bytes }],
  });
  await sign(env, "apps/tampered", tampered.digest);
  await tamperStoredBlob(env.registry.dir, tampered.layers[0]!, new TextEncoder().encode("PAYLOAD BYTES"));

  await withOutDir(async (parent) => {
    const cases: [string, number, RegExp][] = [
      ["unsigned", 3, /No signature found/],
      ["wrong", 3, /no signature matches the policy/],
      ["hostile", 1, /layer 2 \("\.\.\/outside"\) cannot be written as a file/],
      ["tampered", 3, /content hashes to/],
    ];
    for (const [repo, code, message] of cases) {
      const r = await env.dz(["pull", `lab/${repo}:1`, "-o", `${parent}/${repo}`, "--allow-unsigned"]);
      assert.equal(r.code, code, `${repo}: ${r.stderr}`);
      assert.match(r.stderr, message, repo);
    }
    assert.deepEqual(await names(parent), [], "no DIR, no staging dir, nothing outside");
  });
});
