import assert from "node:assert/strict";
import { type E2E, IDENTITY, OCI_ARCH, startE2E } from "../support/e2e.ts";
import {
  type ArtifactSpec,
  pushArtifact,
  pushArtifactIndex,
  tamperStoredBlob,
} from "../support/artifact_pusher.ts";
import { httpStore, signImageLegacy } from "../support/cosign_signer.ts";
import { buildTar, compress } from "../support/image_builder.ts";
import type { Digest } from "../../src/oci/digest.ts";

const BUSYBOX = "/bin/busybox";
const OTHER_ARCH = OCI_ARCH === "amd64" ? "arm64" : "amd64";
const TAG_ARCH = Deno.build.arch;

async function sign(env: E2E, repository: string, ...digests: Digest[]): Promise<void> {
  const signer = await env.signer();
  for (const d of digests) await signImageLegacy(httpStore(env.registry), repository, d, signer);
}

async function publishArtifact(env: E2E, repo: string, tag: string, spec: ArtifactSpec): Promise<Digest> {
  const a = await pushArtifact(env.registry, `apps/${repo}`, tag, spec);
  await sign(env, `apps/${repo}`, a.digest);
  return a.digest;
}

async function run(path: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(path, { args, stdout: "piped", stderr: "piped" }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function binEntries(env: E2E): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(`${env.home}/bin`))).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("dz install of a static binary artifact links it into bin/ with no wrapper; info, list, reinstall, remove", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  const digest = await publishArtifact(env, "busybox", "1.36", {
    files: [{ title: "busybox", content: busybox }],
  });
  const r = await env.dz(["install", "lab/busybox:1.36"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /Binary: .*\/bin\/busybox -> busybox \(artifact, linked\)/);

  const link = `${env.home}/bin/busybox`;
  assert.ok((await Deno.lstat(link)).isSymlink, "a link, not a wrapper");
  assert.equal(await Deno.readLink(link), `${env.home}/packages/busybox/current/rootfs/busybox`);
  assert.equal(((await Deno.stat(link)).mode ?? 0) & 0o111, 0o111, "executable");
  assert.deepEqual(await Deno.readFile(link), busybox, "the bytes the registry served");
  const echoed = await run(link, ["echo", "from", "artifact"]);
  assert.equal(echoed.stdout, "from artifact\n", echoed.stderr);

  const info = JSON.parse((await env.dz(["info", "busybox", "--json"])).stdout);
  assert.equal(info.kind, "artifact");
  assert.equal(info.artifact_file, "busybox");
  assert.equal(info.digest, digest);
  assert.equal(info.loader, null);
  assert.equal(info.signature.identity, IDENTITY);
  const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(list[0].name, "busybox");
  assert.equal(list[0].signed, true);

  const again = await env.dz(["install", "lab/busybox:1.36"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already installed and current/);
  await Deno.remove(link);
  const restored = await env.dz(["install", "lab/busybox:1.36"]);
  assert.match(restored.stderr, /restored .*\/bin\/busybox/);
  assert.ok((await Deno.lstat(link)).isSymlink);

  const doctor = await env.dz(["doctor", "--json"]);
  const findings = JSON.parse(doctor.stdout).findings as { kind: string }[];
  assert.deepEqual(findings.filter((f) => /wrapper|foreign/.test(f.kind)), [], doctor.stdout);

  const rm = await env.dz(["remove", "busybox", "--yes"]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(await binEntries(env), []);
});

Deno.test("dz install of an artifact index picks the host's entry; files named tool-<os>-<arch> and --file", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  const other = new TextEncoder().encode("not for this host");
  const index = await pushArtifactIndex(env.registry, "apps/tool", "2.0", [
    {
      files: [{ title: `tool-linux-${OTHER_ARCH}`, content: other }],
      platform: { os: "linux", architecture: OTHER_ARCH },
    },
    {
      files: [
        { title: "README.md", content: "# tool\n" },
        { title: `tool-linux-${OCI_ARCH}`, content: busybox },
      ],
      platform: { os: "linux", architecture: OCI_ARCH },
    },
  ]);
  await sign(env, "apps/tool", index.digest, ...index.artifacts.map((a) => a.digest));
  const r = await env.dz(["install", "lab/tool:2.0"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.equal(info.digest, index.artifacts[1]!.digest);
  assert.equal(info.index_digest, index.digest);
  assert.equal(info.platform, `linux/${OCI_ARCH}`);
  assert.equal(info.artifact_file, `tool-linux-${OCI_ARCH}`);
  assert.equal(info.layers.length, 1, "only the chosen file is downloaded");
  // busybox dispatches on argv[0]: run through the link as "tool" it says so, which proves what runs.
  assert.match((await run(`${env.home}/bin/tool`, ["echo", "ok"])).stderr, /tool: applet not found/);

  // --file picks another title; a README is no executable and is refused before anything changes.
  const readme = await env.dz(["install", "lab/tool:2.0", "--name", "doc", "--file", "README.md"]);
  assert.equal(readme.code, 1, readme.stderr);
  assert.match(readme.stderr, /"README\.md" is not an ELF or Mach-O executable/);
  assert.deepEqual(await binEntries(env), ["tool"]);
  const missing = await env.dz(["install", "lab/tool:2.0", "--name", "x", "--file", "nope"]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /no file "nope" \(files: "README\.md", "tool-linux-/);
});

Deno.test("dz install uses TAG-<arch>-<os> when TAG does not exist (static-binary catalog convention)", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  const digest = await publishArtifact(env, "busybox", `1.36-${TAG_ARCH}-linux`, {
    files: [{ title: "busybox", content: busybox }],
    artifactType: null,
    config: "unknown",
  });
  const r = await env.dz(["install", "lab/busybox:1.36"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await env.dz(["info", "busybox", "--json"])).stdout);
  assert.equal(info.tag, `1.36-${TAG_ARCH}-linux`);
  assert.equal(info.digest, digest);
  const absent = await env.dz(["install", "lab/busybox:9.9", "--name", "b2"]);
  assert.equal(absent.code, 1);
  assert.match(absent.stderr, /9\.9/, "the error names the tag that was asked for");
});

Deno.test("dz install of a .tar.gz release archive unpacks it safely and links the binary found by name", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  const tgz = await compress(
    buildTar([
      { type: "dir", path: "busybox-1.36" },
      { type: "file", path: "busybox-1.36/README", content: "read me\n" },
      { type: "file", path: "busybox-1.36/busybox", content: busybox, mode: 0o755 },
      { type: "symlink", path: "busybox-1.36/sh", target: "/bin/sh" },
    ]),
    "gzip",
  );
  await publishArtifact(env, "busybox", "1.36", {
    files: [{ title: `busybox-1.36-linux-${OCI_ARCH}.tar.gz`, content: tgz, mediaType: "application/gzip" }],
  });
  const r = await env.dz(["install", "lab/busybox:1.36"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await env.dz(["info", "busybox", "--json"])).stdout);
  assert.equal(info.bins[0].path, "/busybox-1.36/busybox");
  assert.equal((await run(`${env.home}/bin/busybox`, ["echo", "unpacked"])).stdout, "unpacked\n");

  // A hostile archive (an entry climbing out of the rootfs) is refused by the same unpacker.
  const evil = await compress(buildTar([{ type: "file", path: "../../escape", content: "x" }]), "gzip");
  await publishArtifact(env, "evil", "1", { files: [{ title: "evil.tar.gz", content: evil }] });
  const bad = await env.dz(["install", "lab/evil:1"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /error: .*(outside|climbs|unsafe)/i);
  await assert.rejects(() => Deno.lstat(`${env.home}/packages/evil/current`));
});

Deno.test("dz update, rollback, lock and export work for artifact packages", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  const v1 = await publishArtifact(env, "busybox", "stable", {
    files: [{ title: "busybox", content: busybox }],
  });
  assert.equal((await env.dz(["install", "lab/busybox:stable"])).code, 0);
  // A rebuild under the same tag: the file differs (a trailing byte busybox ignores).
  const rebuilt = new Uint8Array([...busybox, 0]);
  const v2 = await publishArtifact(env, "busybox", "stable", {
    files: [{ title: "busybox", content: rebuilt }],
  });
  const check = await env.dz(["update", "--check", "--json"]);
  assert.equal(check.code, 100, check.stderr);
  assert.equal(JSON.parse(check.stdout)[0].rebuild, true);
  const up = await env.dz(["update", "--yes"]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(JSON.parse((await env.dz(["info", "busybox", "--json"])).stdout).digest, v2);
  assert.equal((await Deno.readFile(`${env.home}/bin/busybox`)).length, rebuilt.length);

  const back = await env.dz(["rollback", "busybox"]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(JSON.parse((await env.dz(["info", "busybox", "--json"])).stdout).digest, v1);
  assert.deepEqual(await Deno.readFile(`${env.home}/bin/busybox`), busybox);
  assert.equal((await run(`${env.home}/bin/busybox`, ["echo", "v1"])).stdout, "v1\n");

  const lockPath = `${env.home}-dz.lock`;
  try {
    const lock = await env.dz(["lock", lockPath]);
    assert.equal(lock.code, 0, lock.stderr);
    assert.match(await Deno.readTextFile(lockPath), new RegExp(v1));
    assert.equal((await env.dz(["lock", lockPath, "--check"])).code, 0);
    // A fresh home installs exactly the locked digest.
    assert.equal((await env.dz(["remove", "busybox", "--yes"])).code, 0);
    const locked = await env.dz(["install", "--locked", lockPath]);
    assert.equal(locked.code, 0, locked.stderr);
    assert.equal(JSON.parse((await env.dz(["info", "busybox", "--json"])).stdout).digest, v1);

    const archive = `${env.home}-busybox.tar`;
    try {
      const exported = await env.dz(["export", "busybox", "-o", archive]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.equal((await env.dz(["remove", "busybox", "--yes"])).code, 0);
      const fromArchive = await env.dz(["install", archive]);
      assert.equal(fromArchive.code, 0, fromArchive.stderr);
      assert.equal((await run(`${env.home}/bin/busybox`, ["echo", "air-gapped"])).stdout, "air-gapped\n");
    } finally {
      await Deno.remove(archive).catch(() => {});
    }
  } finally {
    await Deno.remove(lockPath).catch(() => {});
  }
});

Deno.test("dz install refuses hostile titles, tampered layer bytes and a missing loader, writing nothing", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  for (
    const [repo, title] of [["dotdot", "../../bin/sh"], ["escape", "\u001b]52;c;aGk=\u0007tool"], [
      "untitled",
      undefined,
    ]] as const
  ) {
    await publishArtifact(env, repo, "1", { files: [{ title, content: busybox }] });
    const r = await env.dz(["install", `lab/${repo}:1`]);
    assert.equal(r.code, 1, `${repo}: ${r.stderr}`);
    assert.match(r.stderr, /error: Refusing lab\/.*: layer 1 .* cannot be written as a file/);
    assert.ok(!r.stderr.includes("\u001b"), "no raw escape reaches the terminal");
  }
  assert.deepEqual(await binEntries(env), []);

  // The registry serves other bytes for the layer than its digest names: refused as a trust failure.
  const a = await pushArtifact(env.registry, "apps/tampered", "1", {
    files: [{ title: "tampered", content: busybox }],
  });
  await sign(env, "apps/tampered", a.digest);
  const evil = new Uint8Array(busybox);
  evil[1000] = evil[1000]! ^ 0xff;
  await tamperStoredBlob(env.registry.dir, a.layers[0]!, evil);
  const tampered = await env.dz(["install", "lab/tampered:1"]);
  assert.equal(tampered.code, 3, tampered.stderr);
  assert.match(tampered.stderr, /Cannot verify blob sha256:.* content hashes to sha256:/);
  assert.deepEqual(await binEntries(env), []);

  // A dynamic executable whose loader this host does not have.
  const echo = await Deno.readFile(await Deno.realPath("/usr/bin/echo"));
  const text = new TextDecoder("latin1").decode(echo);
  const interp = /\/lib[^\0]*ld-linux[^\0]*\.so\.\d/.exec(text)![0];
  const patched = new Uint8Array(echo);
  const missing = interp.slice(0, -1) + "9";
  patched.set(new TextEncoder().encode(missing), text.indexOf(interp));
  await publishArtifact(env, "dyn", "1", { files: [{ title: "dyn", content: patched }] });
  const dyn = await env.dz(["install", "lab/dyn:1"]);
  assert.equal(dyn.code, 1, dyn.stderr);
  assert.ok(dyn.stderr.includes(`loader "${missing}" does not exist on this host`), dyn.stderr);
  assert.deepEqual(await binEntries(env), []);
  await assert.rejects(() => Deno.lstat(`${env.home}/packages/dyn/current`));

  // Unsigned under a policy: the same gate as images.
  await pushArtifact(env.registry, "apps/unsigned", "1", {
    files: [{ title: "unsigned", content: busybox }],
  });
  const unsigned = await env.dz(["install", "lab/unsigned:1", "--allow-unsigned"]);
  assert.equal(unsigned.code, 3, unsigned.stderr);
  assert.match(unsigned.stderr, /No signature found/);
});

Deno.test("dz doctor knows artifact links: a missing or repointed link is restored, an orphan dz link removed", async () => {
  await using env = await startE2E();
  const busybox = await Deno.readFile(BUSYBOX);
  await publishArtifact(env, "busybox", "1.36", { files: [{ title: "busybox", content: busybox }] });
  assert.equal((await env.dz(["install", "lab/busybox:1.36"])).code, 0);
  const link = `${env.home}/bin/busybox`;
  const want = await Deno.readLink(link);
  await Deno.remove(link);
  await Deno.symlink(`${env.home}/packages/busybox/current/rootfs/elsewhere`, link);
  await Deno.symlink(`${env.home}/packages/gone/current/rootfs/gone`, `${env.home}/bin/gone`);
  await Deno.symlink("/usr/bin/env", `${env.home}/bin/mine`);
  const report = JSON.parse((await env.dz(["doctor", "--json"])).stdout);
  const kinds = (report.findings as { kind: string; subject: string }[]).map((f) => `${f.kind} ${f.subject}`);
  assert.ok(kinds.includes(`stale-wrapper ${link}`), kinds.join("\n"));
  assert.ok(kinds.includes(`orphan-wrapper ${env.home}/bin/gone`), kinds.join("\n"));
  assert.ok(kinds.includes(`foreign-file ${env.home}/bin/mine`), kinds.join("\n"));
  const fixed = await env.dz(["doctor", "--fix"]);
  assert.ok([0, 1].includes(fixed.code), fixed.stderr);
  assert.equal(await Deno.readLink(link), want);
  await assert.rejects(Deno.lstat(`${env.home}/bin/gone`));
  assert.equal(await Deno.readLink(`${env.home}/bin/mine`), "/usr/bin/env", "a foreign link is left alone");
  await Deno.remove(link);
  await env.dz(["doctor", "--fix"]);
  assert.equal(await Deno.readLink(link), want, "a missing link is written again");
});
