/** Tests for src/app/run.ts: `dz run`'s verify-then-unpack into cache/run, reuse and discard of cached trees. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describeFileCheck, prepareRun, runCacheDir } from "../../src/app/run.ts";
import type { InstallDeps } from "../../src/app/install.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { digestToDirName } from "../../src/oci/digest.ts";
import { type RegistryEntry, resolveReference } from "../../src/oci/reference.ts";
import { parseConfigText } from "../../src/store/config.ts";
import { SEED_TEXT } from "../../src/store/config_seed.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import type { CosignPolicy } from "../../src/verify/types.ts";
import { signImageBundle } from "../support/cosign_signer.ts";
import { hostBinaryEntries } from "../support/e2e.ts";
import { buildImage } from "../support/image_builder.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { createTestPki } from "../support/test_pki.ts";
import { ACME_ID as ID, ACME_POLICY as POLICY, GITHUB_ISSUER as ISSUER } from "../support/verify_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

const REGISTRIES: RegistryEntry<CosignPolicy>[] = [{
  name: "lab",
  url: "registry.test/acme",
  cosign_policy: POLICY,
}];
const HOST = { os: "linux", arch: Deno.build.arch === "aarch64" ? "arm64" : "amd64" };
const pki = await createTestPki();
const HAS_BUSYBOX = await Deno.stat("/bin/busybox").then(() => true, () => false);

Deno.test("describeFileCheck() counts each kind and names at most three paths", () => {
  const cases: [Parameters<typeof describeFileCheck>[0], string][] = [
    [{ modified: [], missing: [], extra: [] } as never, "0 modified, 0 missing, 0 extra file(s) ()"],
    [
      { modified: [{ path: "usr/bin/jq" }], missing: ["etc/x"], extra: [] } as never,
      "1 modified, 1 missing, 0 extra file(s) (usr/bin/jq, etc/x)",
    ],
    [
      { modified: [{ path: "a" }, { path: "b" }], missing: ["c"], extra: ["d", "e"] } as never,
      "2 modified, 1 missing, 2 extra file(s) (a, b, c, …)",
    ],
  ];
  for (const [check, want] of cases) assert.equal(describeFileCheck(check), want);
  assert.equal(runCacheDir("/h/cache"), "/h/cache/run");
});

async function publish(reg: MemoryRegistry, tag: string, signed: boolean) {
  const image = await buildImage({
    layers: [{ entries: await hostBinaryEntries("/bin/busybox", "busybox") }],
    config: { Entrypoint: ["/usr/bin/busybox", "echo"], Cmd: ["from the image"] },
    platform: { os: "linux", architecture: HOST.arch },
  });
  for (const bytes of image.blobs.values()) await reg.putBlob("acme/tool", bytes);
  await reg.putManifest("acme/tool", tag, image.manifestBytes, image.mediaType);
  if (signed) {
    await signImageBundle(
      reg,
      "acme/tool",
      image.digest,
      await pki.keyless({ identity: ID, issuer: ISSUER }),
    );
  }
  return image;
}

function deps(layout: StoreLayout, client: MemoryRegistry): InstallDeps {
  const { config } = parseConfigText(SEED_TEXT, "config.yaml");
  return {
    layout,
    config: { ...config, registries: REGISTRIES },
    client,
    host: HOST,
    now: () => pki.clock,
    loadTrust: () => Promise.resolve({ trustedRoot: pki.trustedRoot }),
  };
}

async function runScript(script: string, dir: string, args: string[] = []): Promise<string> {
  const path = join(dir, "run.sh");
  await Deno.writeTextFile(path, script, { mode: 0o755 });
  const out = await new Deno.Command("/bin/sh", { args: [path, ...args], stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name:
    "prepareRun(): fresh unpack into cache/run, then reuse; a tampered tree is discarded and unpacked again",
  ignore: !HAS_BUSYBOX || Deno.build.os !== "linux",
  fn: async () => {
    await using home = await tempHome();
    const reg = new MemoryRegistry();
    const image = await publish(reg, "1.0", true);
    const ref = resolveReference("lab/tool:1.0", { registries: REGISTRIES });
    const events: string[] = [];
    const first = await prepareRun({ ...deps(home.layout, reg), onEvent: (e) => events.push(e.type) }, {
      ref,
    });
    assert.deepEqual([first.source, first.digest, first.discarded], ["fresh", image.digest, undefined]);
    assert.deepEqual(events.slice(0, 2), ["resolved", "verified"]);
    assert.ok(events.includes("layer-start"), events.join());
    assert.ok(
      events.indexOf("verified") < events.indexOf("layer-start"),
      "verified before anything is fetched",
    );
    assert.equal(await runScript(first.script, home.path), "from the image\n");
    assert.equal(await runScript(first.script, home.path, ["hi"]), "hi\n", "arguments replace Cmd");
    const tree = join(runCacheDir(home.layout.cache), digestToDirName(image.digest), "current");
    assert.ok((await Deno.stat(join(tree, "rootfs/usr/bin/busybox"))).isFile);

    const second = await prepareRun(deps(home.layout, reg), { ref });
    assert.equal(second.source, "cache");

    await Deno.writeTextFile(join(tree, "rootfs/usr/bin/evil"), "planted\n");
    const third = await prepareRun(deps(home.layout, reg), { ref });
    assert.equal(third.source, "fresh");
    assert.match(third.discarded ?? "", /^0 modified, 0 missing, 1 extra file\(s\) \(usr\/bin\/evil\)$/);
    assert.equal(await runScript(third.script, home.path), "from the image\n");
    await assert.rejects(
      Deno.stat(join(tree, "rootfs/usr/bin/evil")),
      Deno.errors.NotFound,
      "the planted file is gone",
    );
    const leftovers = [
      ...Deno.readDirSync(join(runCacheDir(home.layout.cache), digestToDirName(image.digest))),
    ];
    assert.deepEqual(leftovers.map((e) => e.name), ["current"], "no staging dir is left behind");
  },
});

Deno.test({
  name: "prepareRun(): an image the policy rejects is never unpacked (exit 3, cache/run untouched)",
  ignore: !HAS_BUSYBOX,
  fn: async () => {
    await using home = await tempHome();
    const reg = new MemoryRegistry();
    await publish(reg, "bare", false);
    const ref = resolveReference("lab/tool:bare", { registries: REGISTRIES });
    await assert.rejects(
      prepareRun(deps(home.layout, reg), { ref }),
      (err) => isDropzoneError(err, "SIGNATURE_MISSING") && err.exitCode === 3,
    );
    await assert.rejects(Deno.stat(runCacheDir(home.layout.cache)), Deno.errors.NotFound);
    const adHoc = resolveReference("registry.test/acme/tool:bare", { registries: [] });
    const refused = await prepareRun(deps(home.layout, reg), { ref: adHoc }).then(() => undefined, (e) => e);
    assert.ok(isDropzoneError(refused, "POLICY_MISSING"), String(refused));
    assert.equal(refused.exitCode, 3, "an ad-hoc registry without --allow-unsigned is refused");
    await assert.rejects(Deno.stat(runCacheDir(home.layout.cache)), Deno.errors.NotFound);
  },
});
