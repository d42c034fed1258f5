import assert from "node:assert/strict";
import { runDz } from "../support/cli_harness.ts";
import { buildImage, pushImage } from "../support/image_builder.ts";
import { launchRegistry } from "../support/registry_launcher.ts";
import { parseAccept } from "../../src/cli/commands/registry.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { tempDir } from "../support/temp_home.ts";

Deno.test("dz login verifies credentials before saving them 0600, and logout removes them", async () => {
  await using reg = await launchRegistry({ auth: { username: "alice", password: "s3cret" } });
  await using homeDir = await tempDir("dz-cmd-");
  const home = homeDir.path;
  const bad = await runDz(["login", reg.host, "-u", "alice", "--password-stdin"], { home, stdin: "wrong\n" });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /rejected the credentials/);
  assert.ok(!bad.stderr.includes("wrong"), "the password never appears in output");
  await assert.rejects(() => Deno.stat(`${home}/auth.json`), "nothing saved on failure");

  const ok = await runDz(["login", reg.host, "-u", "alice", "--password-stdin"], { home, stdin: "s3cret\n" });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "");
  assert.ok(!ok.stderr.includes("s3cret"));
  const info = await Deno.stat(`${home}/auth.json`);
  assert.equal(info.mode! & 0o777, 0o600);

  // The saved credentials are used: tags on the protected registry work.
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "a" }] }] });
  await pushImage({ url: reg.url, auth: reg.credentials! }, "team/tool", "1.0", image);
  const tags = await runDz(["tags", `${reg.host}/team/tool`], { home });
  assert.equal(tags.code, 0, tags.stderr);
  assert.equal(tags.stdout, "1.0\n");

  const out = await runDz(["logout", reg.host], { home });
  assert.equal(out.code, 0);
  assert.match(out.stderr, /Removed credentials/);
  const denied = await runDz(["tags", `${reg.host}/team/tool`], { home });
  assert.equal(denied.code, 1);
  const again = await runDz(["logout", reg.host], { home });
  assert.match(again.stderr, /No saved credentials/);
});

Deno.test("dz login without a terminal or --password-stdin explains how", async () => {
  await using homeDir = await tempDir("dz-cmd-");
  const home = homeDir.path;
  const r = await runDz(["login", "ghcr.io", "-u", "me"], { home });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--password-stdin/);
});

Deno.test("dz tags lists newest first (semver-aware), groups suffix tracks and hides cosign tags", async () => {
  await using reg = await launchRegistry();
  await using homeDir = await tempDir("dz-cmd-");
  const home = homeDir.path;
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "a" }] }] });
  const hex = "a".repeat(64);
  for (
    const tag of ["1.10", "1.9", "1.2", "latest", "1.10-dev", `sha256-${hex}.sig`, `sha256-${hex}.att`, "2.0"]
  ) {
    await pushImage(reg, "apps/jq", tag, image);
  }
  await runDz(["add", "registry", "lab", `${reg.host}/apps`, "--insecure"], { home });
  const r = await runDz(["tags", "lab/jq"], { home });
  assert.equal(r.code, 0, r.stderr);
  const tags = r.stdout.trim().split("\n");
  assert.deepEqual(tags, ["latest", "2.0", "1.10", "1.9", "1.2", "1.10-dev"]);
  assert.ok(!tags.some((t) => t.startsWith("sha256-")));
  assert.match(r.stderr, /2 cosign signature\/attestation tags hidden/);
  const all = JSON.parse((await runDz(["tags", "lab/jq", "--all", "--json"], { home })).stdout);
  assert.equal(all.tags.filter((t: string) => t.startsWith("sha256-")).length, 2);
  assert.equal(all.repository, "apps/jq");
  // `registry` stays the host; registry_host and registry_name name both unambiguously.
  assert.equal(all.registry, reg.host);
  assert.equal(all.registry_host, reg.host);
  assert.equal(all.registry_name, "lab");
  await pushImage(reg, "other/jq", "1", image);
  const adHoc = JSON.parse((await runDz(["tags", `${reg.host}/other/jq`, "--json"], { home })).stdout);
  assert.equal(adHoc.registry_name, null);
});

Deno.test("dz search lists the registry namespace from the catalog and caches it", async () => {
  await using reg = await launchRegistry();
  await using homeDir = await tempDir("dz-cmd-");
  const home = homeDir.path;
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "a" }] }] });
  for (const repo of ["apps/jq", "apps/python", "apps/tools/yq", "other/thing"]) {
    await pushImage(reg, repo, "1", image);
  }
  await runDz(["add", "registry", "lab", `${reg.host}/apps`], { home });
  const all = await runDz(["search", "--registry", "lab"], { home });
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(all.stdout.trim().split("\n"), ["jq", "python", "tools/yq"]);
  const some = JSON.parse((await runDz(["search", "y", "--registry", "lab", "--json"], { home })).stdout);
  assert.deepEqual(some.repositories, ["python", "tools/yq"]);
  assert.equal(some.cached, true, "the second search is served from the cache");
  // `registry` stays the configured name; registry_name and registry_host name both unambiguously.
  assert.equal(some.registry, "lab");
  assert.equal(some.registry_name, "lab");
  assert.equal(some.registry_host, reg.host);
  const fresh = JSON.parse(
    (await runDz(["search", "--registry", "lab", "--json", "--refresh"], { home })).stdout,
  );
  assert.equal(fresh.cached, false);
});

Deno.test("dz path setup and unset edit only the marked block, and purge removes it", async () => {
  await using homeDir = await tempDir("dz-cmd-");
  const home = homeDir.path;
  await using userDir = await tempDir("dz-cmd-");
  const user = userDir.path;
  const rc = `${user}/.bashrc`;
  await Deno.writeTextFile(rc, "# mine\nalias ll='ls -l'\n");
  const env = { SHELL: "/bin/bash", PATH: "/usr/bin:/bin" };
  const setup = await runDz(["path", "setup"], { home, userHome: user, env });
  assert.equal(setup.code, 0, setup.stderr);
  const text = await Deno.readTextFile(rc);
  assert.match(text, /^# mine\nalias ll='ls -l'\n/);
  assert.match(text, /# >>> dz PATH >>>/);
  const twice = await runDz(["path", "setup"], { home, userHome: user, env });
  assert.match(twice.stderr, /Already configured/);
  assert.equal(await Deno.readTextFile(rc), text);
  const status = await runDz(["path"], { home, userHome: user, env });
  assert.match(status.stdout, /rc block:\s+present/);
  const sourced = await new Deno.Command("bash", {
    args: ["-c", `source ${rc}; echo "$PATH"`],
    stdout: "piped",
  })
    .output();
  assert.ok(new TextDecoder().decode(sourced.stdout).startsWith(`${home}/bin:`));
  const unset = await runDz(["path", "unset"], { home, userHome: user, env });
  assert.equal(unset.code, 0);
  assert.equal(
    await Deno.readTextFile(rc),
    "# mine\nalias ll='ls -l'\n",
    "unset restores the file byte for byte",
  );

  await runDz(["path", "setup"], { home, userHome: user, env });
  const purge = await runDz(["purge", "--yes"], { home, userHome: user, env });
  assert.equal(purge.code, 0, purge.stderr);
  assert.equal(
    await Deno.readTextFile(rc),
    "# mine\nalias ll='ls -l'\n",
    "purge takes the PATH block out too",
  );
});

Deno.test("parseAccept() reads --accept signature,provenance and refuses anything else", () => {
  assert.deepEqual(parseAccept("signature"), ["signature"]);
  assert.deepEqual(parseAccept("signature, provenance"), ["signature", "provenance"]);
  assert.deepEqual(parseAccept("provenance"), ["provenance"]);
  for (const bad of ["", "sig", "provenance,provenance", "signature,attestation"]) {
    assert.throws(() => parseAccept(bad), (e) => isDropzoneError(e, "INVALID_ARGUMENT"), bad);
  }
});
