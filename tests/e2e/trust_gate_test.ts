/** End to end: every way into the store passes the same trust gate (issue 9). */
import assert from "node:assert/strict";
import { parseLockfile } from "../../src/app/lockfile.ts";
import { renderLockfile } from "../../src/cli/lockfile_render.ts";
import { buildImage, pushIndex } from "../support/image_builder.ts";
import {
  hostBinaryEntries,
  ISSUER,
  labRegistryArgs,
  OCI_ARCH,
  runWrapper,
  startE2E,
} from "../support/e2e.ts";

type Env = Awaited<ReturnType<typeof startE2E>>;

/** Pushes an unsigned echo image outside the lab registry's namespace: `<host>/<repository>:<tag>`. */
async function pushUnsigned(env: Env, repository: string, tag: string, content: string) {
  const image = await buildImage({
    layers: [{ entries: await hostBinaryEntries("/usr/bin/echo", "echo") }, {
      entries: [{ type: "file", path: "etc/release", content }],
    }],
    config: { Entrypoint: ["/usr/bin/echo"], Cmd: [content.trim()], Env: ["PATH=/usr/bin:/bin"] },
    platform: { os: "linux", architecture: OCI_ARCH },
  });
  const index = await pushIndex(env.registry, repository, tag, [image]);
  return { image, index };
}

async function useRegexPolicy(env: Env, regex: string): Promise<void> {
  assert.equal((await env.dz(["remove", "registry", "lab", "--force"])).code, 0);
  const add = await env.dz(labRegistryArgs(env, { identityRegex: regex }));
  assert.equal(add.code, 0, add.stderr);
}

Deno.test("install --locked cannot replace a signed package with an unsigned one from another source (finding 1)", async () => {
  await using env = await startE2E();
  await env.publish("cat", "1.0", "signed one\n");
  assert.equal((await env.dz(["install", "lab/cat:1.0"])).code, 0);
  const evil = await pushUnsigned(env, "evil/cat", "1.0", "evil\n");
  const file = `${env.home}-dz.lock`;
  const entry = {
    name: "cat",
    source: `${env.registry.host}/evil/cat`,
    tag: "1.0",
    index_digest: evil.index.digest,
    platforms: { [`linux/${OCI_ARCH}`]: evil.image.digest },
    signer: null,
    allow_unsigned: true,
  };
  try {
    await Deno.writeTextFile(file, renderLockfile({ version: 1, packages: [entry] }));
    for (const extra of [[], ["--allow-unsigned"]]) {
      const r = await env.dz(["install", "--locked", file, ...extra]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`from ${env.registry.host}/evil/cat`));
      assert.match(r.stderr, new RegExp(`installed from ${env.registry.host}/apps/cat`));
    }
    assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "signed one\n");

    // Nothing installed under that name: the lockfile's allow_unsigned still grants nothing.
    assert.equal((await env.dz(["remove", "cat", "--yes"])).code, 0);
    const noConsent = await env.dz(["install", "--locked", file]);
    assert.equal(noConsent.code, 3, noConsent.stderr);
    assert.match(noConsent.stderr, /a lockfile never grants consent/);
    assert.deepEqual([...Deno.readDirSync(`${env.home}/bin`)], []);
    const consent = await env.dz(["install", "--locked", file, "--allow-unsigned"]);
    assert.equal(consent.code, 0, consent.stderr);
    assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "evil\n");
  } finally {
    await Deno.remove(file).catch(() => {});
  }
});

Deno.test("install --locked checks the signer by fields, also when the locked digest is already installed; keeps the tag", async () => {
  await using env = await startE2E();
  const pub = await env.publish("cat", "1.0", "locked\n");
  assert.equal((await env.dz(["install", "lab/cat:1.0"])).code, 0);
  const file = `${env.home}-dz.lock`;
  try {
    assert.equal((await env.dz(["lock", file])).code, 0);
    const good = await Deno.readTextFile(file);
    // Already installed, lockfile signer edited: refused (it used to say "already at").
    const edits: [string, RegExp][] = [
      [good.replace("dz-test/tools", "dz-test/other"), /dz-test\/other/],
      [
        good.replace(/issuer: https:\/\/token\.actions\.githubusercontent\.com/, "issuer: https://evil"),
        /evil/,
      ],
    ];
    for (const [text, shown] of edits) {
      await Deno.writeTextFile(file, text);
      const r = await env.dz(["install", "--locked", file]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /the lockfile says/);
      assert.match(r.stderr, shown);
    }
    // signed -> unsigned in the lockfile is a signer change too.
    const lock = parseLockfile(good, file);
    await Deno.writeTextFile(
      file,
      renderLockfile({
        version: 1,
        packages: [{ ...lock.packages[0]!, signer: null, allow_unsigned: true }],
      }),
    );
    const unsigned = await env.dz(["install", "--locked", file]);
    assert.equal(unsigned.code, 3, unsigned.stderr);

    // A fresh install from the lockfile keeps its tag (issue 11 item 4).
    await Deno.writeTextFile(file, good);
    assert.equal((await env.dz(["remove", "cat", "--yes"])).code, 0);
    const li = await env.dz(["install", "--locked", file]);
    assert.equal(li.code, 0, li.stderr);
    const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
    assert.equal(list[0].tag, "1.0");
    assert.equal(list[0].digest, pub.digest);
    const check = await env.dz(["update", "--check"]);
    assert.doesNotMatch(check.stdout, /pinned by digest/);
    assert.equal((await env.dz(["lock", file])).code, 0);
    assert.equal(parseLockfile(await Deno.readTextFile(file), file).packages[0]!.tag, "1.0");
  } finally {
    await Deno.remove(file).catch(() => {});
  }
});

Deno.test("a tag moved back to an older signed digest is a downgrade: shown by update --check, refused without --allow-downgrade (finding 4)", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  // Signed two minutes after the first (the test PKI's clock is fixed; the tlog clock is shifted).
  const later = await env.pki.keyless({
    identity: "https://github.com/dz-test/tools/.github/workflows/release.yml@refs/heads/main",
    issuer: ISSUER,
    tlogOffsetSeconds: 120,
  });
  await env.publish("cat", "latest", "two\n", { signer: later });
  const up = await env.dz(["update", "--yes"]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "two\n");

  // The tag moves back to a digest signed at the earlier time.
  await env.publish("cat", "latest", "old again\n");
  const check = await env.dz(["update", "--check"]);
  assert.equal(check.code, 100, check.stderr);
  assert.match(check.stdout, /DOWNGRADE: signed before the installed version/);
  const js = JSON.parse((await env.dz(["update", "--check", "--json"])).stdout);
  assert.equal(js[0].downgrade, true);

  const refused = await env.dz(["update", "--yes"]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /this is a downgrade/);
  assert.match(refused.stderr, /--allow-downgrade/);
  const reinstall = await env.dz(["install", "lab/cat"]);
  assert.equal(reinstall.code, 3, reinstall.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "two\n");

  const allowed = await env.dz(["update", "--yes", "--allow-downgrade"]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "old again\n");
});

Deno.test("dz run applies min_release_age, attestation gates and the installed package's signer pin (finding 8)", async () => {
  await using env = await startE2E();
  await useRegexPolicy(
    env,
    "https://github\\.com/dz-test/[a-z]+/\\.github/workflows/release\\.yml@refs/heads/main",
  );
  await env.publish("cat", "1.0", "one\n");
  const young = await env.dz(["run", "lab/cat:1.0", "--min-age", "3d"]);
  assert.equal(young.code, 1, young.stderr);
  assert.match(young.stderr, /younger than the minimum release age 3d/);
  const cfg = `${env.home}/config/config.yaml`;
  const text = await Deno.readTextFile(cfg);
  await Deno.writeTextFile(cfg, text + "min_release_age: 1h\n");
  assert.equal((await env.dz(["run", "lab/cat:1.0"])).code, 1);
  await Deno.writeTextFile(cfg, text);

  assert.equal((await env.dz(["install", "lab/cat:1.0"])).code, 0);
  const impostor = await env.pki.keyless({
    identity: "https://github.com/dz-test/impostor/.github/workflows/release.yml@refs/heads/main",
    issuer: ISSUER,
  });
  await env.publish("cat", "2.0", "impostor\n", { signer: impostor });
  const pinned = await env.dz(["run", "lab/cat:2.0"]);
  assert.equal(pinned.code, 3, pinned.stderr);
  assert.match(pinned.stderr, /different signer/);
  assert.doesNotMatch(pinned.stdout, /impostor/);
  const accepted = await env.dz(["run", "lab/cat:2.0", "--accept-new-signer"]);
  assert.equal(accepted.code, 0, accepted.stderr);

  // Attestation gates: a policy requiring provenance refuses an image without it.
  await Deno.writeTextFile(
    cfg,
    (await Deno.readTextFile(cfg)).replace(
      `url: ${env.registry.host}/apps\n    cosign_policy:`,
      `url: ${env.registry.host}/apps\n    cosign_policy:\n      require_provenance_builder: https://builder.test`,
    ),
  );
  const gated = await env.dz(["run", "lab/cat:1.0"]);
  assert.equal(gated.code, 3, gated.stderr);
  assert.match(gated.stderr, /provenance/);
});

Deno.test("signer continuity pins the git ref kind: tag -> tag passes, tag -> branch is a signer change (finding 12)", async () => {
  await using env = await startE2E();
  const wf = "https://github.com/dz-test/tools/.github/workflows/release.yml";
  await useRegexPolicy(env, "https://github\\.com/dz-test/tools/\\.github/workflows/release\\.yml@refs/.+");
  const at = (ref: string) => env.pki.keyless({ identity: `${wf}@${ref}`, issuer: ISSUER });
  await env.publish("cat", "latest", "v1\n", { signer: await at("refs/tags/v1") });
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  await env.publish("cat", "latest", "v2\n", { signer: await at("refs/tags/v2") });
  const v2 = await env.dz(["update", "--yes"]);
  assert.equal(v2.code, 0, v2.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v2\n");

  await env.publish("cat", "latest", "pr\n", { signer: await at("refs/heads/pr-1234") });
  const pr = await env.dz(["update", "--yes"]);
  assert.equal(pr.code, 3, pr.stderr);
  assert.match(pr.stderr, /git ref: tags → heads\/pr-1234/);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v2\n");
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.trusted_signer.git_ref, "tags");
});

Deno.test("a pin recorded before git refs were pinned keeps working and is completed on the next install (finding 12)", async () => {
  await using env = await startE2E();
  const wf = "https://github.com/dz-test/tools/.github/workflows/release.yml";
  await useRegexPolicy(env, "https://github\\.com/dz-test/tools/\\.github/workflows/release\\.yml@refs/.+");
  const at = (ref: string) => env.pki.keyless({ identity: `${wf}@${ref}`, issuer: ISSUER });
  const first = await env.publish("cat", "latest", "v1\n", { signer: await at("refs/tags/v1") });
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  // Rewrite the metadata as an older dz wrote it: no git_ref.
  const metaPath = `${env.home}/packages/cat/${first.digest.replace(":", "-")}/metadata.json`;
  const meta = JSON.parse(await Deno.readTextFile(metaPath));
  delete meta.trusted_signer.git_ref;
  await Deno.writeTextFile(metaPath, JSON.stringify(meta));
  await env.publish("cat", "latest", "v2\n", { signer: await at("refs/tags/v2") });
  assert.equal((await env.dz(["update", "--yes"])).code, 0);
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.trusted_signer.git_ref, "tags");
});

Deno.test("install --locked and install FILE.tar refuse a downgrade too, unless --allow-downgrade (finding 4)", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "old\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const file = `${env.home}-dz.lock`;
  const archive = `${env.home}-old.tar`;
  try {
    assert.equal((await env.dz(["lock", file])).code, 0);
    assert.equal((await env.dz(["export", "lab/cat", "-o", archive])).code, 0);
    const later = await env.pki.keyless({
      identity: "https://github.com/dz-test/tools/.github/workflows/release.yml@refs/heads/main",
      issuer: ISSUER,
      tlogOffsetSeconds: 120,
    });
    await env.publish("cat", "latest", "new\n", { signer: later });
    assert.equal((await env.dz(["update", "--yes"])).code, 0);

    for (const argv of [["install", "--locked", file], ["install", archive]]) {
      const refused = await env.dz(argv);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /this is a downgrade/);
      assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "new\n");
    }
    const allowed = await env.dz(["install", "--locked", file, "--allow-downgrade"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "old\n");
  } finally {
    await Deno.remove(file).catch(() => {});
    await Deno.remove(archive).catch(() => {});
  }
});
