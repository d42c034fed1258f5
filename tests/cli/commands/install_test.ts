/** `dz install` and `dz remove` (src/cli/commands/install.ts): end to end against a real registry, and through the CLI harness. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { exists } from "../../../src/fs.ts";
import { shortDigest } from "../../../src/oci/digest.ts";
import { packageDir, versionDir } from "../../../src/store/packages.ts";
import { runDz } from "../../support/cli_harness.ts";
import { runWrapper, startE2E } from "../../support/e2e.ts";
import { tempHome } from "../../support/temp_home.ts";
import { installVersion } from "../../support/store_fixtures.ts";

Deno.test("dz install verifies a keyless legacy signature, unpacks, and the wrapper runs the image's binary", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "latest", "release one\n");
  const r = await env.dz(["install", "lab/cat"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "", "install prints no data on stdout");
  assert.match(r.stderr, /Verified signature: https:\/\/github\.com\/dz-test/);
  const run = await runWrapper(`${env.home}/bin/cat`);
  assert.equal(run.stdout, "release one\n", run.stderr);
  // Arguments replace the image's Cmd, like `docker run image args`.
  const withArg = await runWrapper(`${env.home}/bin/cat`, ["from", "args"]);
  assert.equal(withArg.stdout, "from args\n");

  const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(list.length, 1);
  assert.equal(list[0].name, "cat");
  assert.equal(list[0].digest, pub.digest);
  assert.equal(list[0].index_digest, pub.indexDigest);
  assert.equal(list[0].signed, true);
  assert.equal(list[0].issuer, "https://token.actions.githubusercontent.com");

  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.signature.source, "legacy-sig");
  assert.equal(typeof info.signature.rekor_log_index, "number");
  assert.ok(info.loader, "dynamic binary uses the rootfs loader");

  const again = await env.dz(["install", "lab/cat"]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /already installed and current; nothing to do/);

  // A wrapper lost (e.g. a crash between activation and the wrapper write) is restored by reinstalling.
  await Deno.remove(`${env.home}/bin/cat`);
  const restore = await env.dz(["install", "lab/cat"]);
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stderr, /restored .*\/bin\/cat/);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "release one\n");

  const rm = await env.dz(["remove", "cat", "--yes"]);
  assert.equal(rm.code, 0, rm.stderr);
  await assert.rejects(() => Deno.stat(`${env.home}/bin/cat`));
  assert.equal((await env.dz(["list", "--json"])).stdout, "[]\n");
});

Deno.test("dz install accepts a Sigstore bundle attached as an OCI referrer", async () => {
  await using env = await startE2E();
  await env.publish("tool", "1.0", "bundle signed\n", { sign: "bundle" });
  const r = await env.dz(["install", "lab/tool:1.0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "bundle signed\n");
  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.equal(info.signature.source, "bundle-referrer");
});

Deno.test("dz install accepts an index-only signature for the platform the verified index lists", async () => {
  await using env = await startE2E();
  const pub = await env.publish("idx", "latest", "index signed\n", { sign: "index-only" });
  const r = await env.dz(["install", "lab/idx"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await env.dz(["info", "idx", "--json"])).stdout);
  assert.equal(info.signature.signed_digest, pub.indexDigest);
  assert.equal(info.digest, pub.digest);
});

Deno.test("dz install fails closed (exit 3) and writes nothing for unsigned or wrongly signed images", async () => {
  await using env = await startE2E();
  await env.publish("unsigned", "latest", "x\n", { sign: "none" });
  const unsigned = await env.dz(["install", "lab/unsigned"]);
  assert.equal(unsigned.code, 3, unsigned.stderr);
  assert.match(unsigned.stderr, /^error: .*signature/m);

  const stranger = await env.pki.keyless({
    identity: "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
    issuer: "https://token.actions.githubusercontent.com",
  });
  await env.publish("wrongid", "latest", "x\n", { signer: stranger });
  const wrong = await env.dz(["install", "lab/wrongid"]);
  assert.equal(wrong.code, 3, wrong.stderr);
  assert.match(wrong.stderr, /evil\/fork/, "the error shows the identity that was found");

  // --allow-unsigned never bypasses a policy.
  const bypass = await env.dz(["install", "lab/unsigned", "--allow-unsigned"]);
  assert.equal(bypass.code, 3);

  for (const dir of ["bin", "packages"]) {
    assert.deepEqual(
      [...Deno.readDirSync(`${env.home}/${dir}`)].map((e) => e.name),
      [],
      `${dir} stays empty`,
    );
  }
});

Deno.test("dz install of an ad-hoc host needs --allow-unsigned, and records that choice", async () => {
  await using env = await startE2E();
  await env.publish("adhoc", "latest", "ad hoc\n", { sign: "none" });
  const ref = `${env.registry.host}/apps/adhoc`;
  // A host-qualified ref under the configured URL uses the policy (fails: unsigned).
  const viaHost = await env.dz(["install", ref]);
  assert.equal(viaHost.code, 3);
  // Remove the registry: now the host is ad hoc and has no policy.
  assert.equal((await env.dz(["remove", "registry", "lab"])).code, 0);
  const refused = await env.dz(["install", ref]);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /has no signature policy/);
  assert.match(refused.stderr, /--allow-unsigned/);
  const ok = await env.dz(["install", ref, "--allow-unsigned"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /WITHOUT signature verification/);
  const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(list[0].signed, false);
  assert.equal(list[0].allow_unsigned, true);
  assert.equal((await runWrapper(`${env.home}/bin/adhoc`)).stdout, "ad hoc\n");
});

Deno.test("dz install gives a policy registry's policy to every spelling of its host (exit 3 when unsigned)", async () => {
  await using env = await startE2E();
  await env.publish("unsigned", "latest", "x\n", { sign: "none" });
  await env.publish("signed", "latest", "signed\n");
  const port = env.registry.host.split(":")[1];
  // The registry is configured as 127.0.0.1:PORT/apps; these spell the same registry another way.
  for (const host of [`localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
    const r = await env.dz(["install", `${host}/apps/unsigned`, "--allow-unsigned"]);
    assert.equal(r.code, 3, `${host}: ${r.stderr}`);
    assert.match(r.stderr, /^error: .*signature/m, host);
    assert.doesNotMatch(r.stderr, /WITHOUT signature verification/, host);
  }
  assert.deepEqual([...Deno.readDirSync(`${env.home}/packages`)], [], "nothing was installed");
  const signed = await env.dz(["install", `localhost:${port}/apps/signed`]);
  assert.equal(signed.code, 0, signed.stderr);
  const [listed] = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(listed.signed, true);
  assert.equal(listed.registry, "lab");
});

Deno.test("dz install refuses a name owned by another source unless --name picks another", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "one\n");
  await env.publish("other/cat", "latest", "two\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const clash = await env.dz(["install", "lab/other/cat"]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /already installed from/);
  assert.match(clash.stderr, /--name/);
  const renamed = await env.dz(["install", "lab/other/cat", "--name", "cat2"]);
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat2`)).stdout, "two\n");
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "one\n");
});

// dz remove (src/cli/commands/install.ts), through the CLI harness: its flags, what it prints, its exit codes.

Deno.test("dz remove --dry-run prints what would go on stderr, nothing on stdout, and exits 0 without changes", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const current = await installVersion(home.layout, "cat", "2");
  const r = await runDz(["remove", "cat", "--dry-run"], { home: home.path });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    `Would remove cat (${shortDigest(current.digest)}) and 1 previous version(s), and the wrapper(s) ` +
      `${home.path}/bin/cat\nDry run: nothing was changed\n`,
  );
  assert.ok(await exists(packageDir(home.layout, "cat")));
});

Deno.test("dz remove asks on a terminal (a 'no' aborts with exit 1), removes without asking when piped or with --yes", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const no = await runDz(["remove", "cat"], { home: home.path, answers: ["n"] });
  assert.equal(no.code, 1);
  assert.match(
    no.stderr,
    /Remove cat \(sha256:[0-9a-f]{12}\) and its previous versions\? \[y\/N\]: error: Aborted\nhint: Nothing was changed\n$/,
  );
  assert.ok(await exists(packageDir(home.layout, "cat")));

  const piped = await runDz(["remove", "cat"], { home: home.path });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stderr, "Removed cat\n");
  assert.equal(await exists(packageDir(home.layout, "cat")), false);

  await installVersion(home.layout, "dog", "1");
  const yes = await runDz(["remove", "dog", "--yes"], { home: home.path, answers: [] });
  assert.equal(yes.code, 0, yes.stderr);
  assert.doesNotMatch(yes.stderr, /\[y\/N\]/, "--yes does not ask");
});

Deno.test("dz remove of a damaged package says so; of a missing one fails with exit 1 and a hint", async () => {
  await using home = await tempHome();
  const v = await installVersion(home.layout, "cat", "1");
  await Deno.remove(join(versionDir(home.layout, "cat", v.digest), "rootfs"), { recursive: true });
  const damaged = await runDz(["remove", "cat"], { home: home.path });
  assert.equal(damaged.code, 0, damaged.stderr);
  assert.match(
    damaged.stderr,
    /^Removed cat \(it was damaged: the rootfs of sha256:[0-9a-f]{12} is missing\)\n$/,
  );
  const ghost = await runDz(["remove", "ghost"], { home: home.path });
  assert.equal(ghost.code, 1);
  assert.equal(
    ghost.stderr,
    'error: "ghost" is not installed\nhint: Run "dz list" to see installed packages, or "dz install ghost"\n',
  );
});

Deno.test("dz install without a reference, or with both a reference and --locked, is a usage error (exit 2)", async () => {
  await using home = await tempHome();
  const none = await runDz(["install"], { home: home.path });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: Missing required argument 'ref'\nhint: Try "dz install jq"/);
  const both = await runDz(["install", "jq", "--locked", "dz.lock"], { home: home.path });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /Give either a reference or --locked, not both/);
});
