/** End to end: what counts as an archive, and an archive is trusted only as a whole (issue 9 findings 2, 3). */
import assert from "node:assert/strict";
import { digestHex, sha256Digest } from "../../src/oci/digest.ts";
import { startE2E } from "../support/e2e.ts";

async function sh(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("a local file never stands in for a registry reference; a missing archive says it does not exist (finding 2)", async () => {
  await using env = await startE2E();
  const work = await Deno.makeTempDir({ prefix: "dz-cwd-" });
  const before = Deno.cwd();
  try {
    await env.publish("tool", "latest", "from the registry\n");
    // An old export lying around as ./lab/tool.
    const exp = await env.dz(["export", "lab/tool", "-o", `${work}/old.tar`]);
    assert.equal(exp.code, 0, exp.stderr);
    await Deno.mkdir(`${work}/lab`);
    await Deno.rename(`${work}/old.tar`, `${work}/lab/tool`);
    await env.publish("tool", "latest", "newer in the registry\n");
    Deno.chdir(work);
    const r = await env.dz(["install", "lab/tool"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Loaded/);
    const run = await new Deno.Command(`${env.home}/bin/tool`, { stdout: "piped" }).output();
    assert.equal(new TextDecoder().decode(run.stdout), "newer in the registry\n");

    for (const arg of ["./nosuch.tar", "nosuch.tar", "../nosuch", "/nonexistent/x"]) {
      const missing = await env.dz(["install", arg]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /does not exist/, arg);
      assert.doesNotMatch(missing.stderr, /valid registry host/, arg);
      const v = await env.dz(["verify", arg]);
      assert.match(v.stderr, /does not exist/, arg);
    }
  } finally {
    Deno.chdir(before);
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("an archive whose index.json entry is repointed to an unsigned manifest is refused by verify and install (finding 3)", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "signed\n");
  const work = await Deno.makeTempDir({ prefix: "dz-archive-" });
  try {
    const archive = `${work}/cat.tar`;
    assert.equal((await env.dz(["export", "lab/cat", "-o", archive])).code, 0);
    const ok = await env.dz(["verify", archive, "--json"]);
    assert.equal(ok.code, 0, ok.stderr);

    // An unsigned manifest (the signed one with an extra annotation) added to the layout, and index.json's
    // "latest" repointed at it: what skopeo copy oci-archive: and umoci would then import.
    const dir = `${work}/layout`;
    await Deno.mkdir(dir);
    await sh("tar", ["-xf", archive, "-C", dir]);
    const manifest = JSON.parse(
      await Deno.readTextFile(`${dir}/blobs/sha256/${pub.digest.slice(7)}`),
    );
    manifest.annotations = { "org.example.tampered": "yes" };
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const hex = digestHex(await sha256Digest(bytes));
    await Deno.writeFile(`${dir}/blobs/sha256/${hex}`, bytes);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    const entry = index.manifests.find((m: { annotations?: Record<string, string> }) =>
      m.annotations?.["org.opencontainers.image.ref.name"] === "latest"
    );
    entry.digest = `sha256:${hex}`;
    entry.size = bytes.length;
    await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(index));
    const tampered = `${work}/tampered.tar`;
    await sh("tar", ["-cf", tampered, "-C", dir, "."]);

    const v = await env.dz(["verify", tampered, "--json"]);
    assert.equal(v.code, 3, v.stderr);
    const report = JSON.parse(v.stdout);
    assert.equal(report.verified, false);
    assert.match(report.error.message, /index\.json lists "latest"/);
    const i = await env.dz(["install", tampered]);
    assert.equal(i.code, 3, i.stderr);
    assert.match(i.stderr, /index\.json/);
    assert.equal((await env.dz(["list", "--json"])).stdout.trim(), "[]");
    // Already installed from the good archive: the tampered one is still refused, not "already installed".
    assert.equal((await env.dz(["install", archive])).code, 0);
    assert.equal((await env.dz(["install", tampered])).code, 3);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
