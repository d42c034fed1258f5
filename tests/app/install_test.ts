/**
 * `installPackage()` through an in-memory registry (unsigned installs, so no PKI is needed; the signed paths
 * are covered end to end in tests/e2e/install_test.ts): what an install writes, what a reinstall restores, and
 * what a refusal before the commit leaves (nothing).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type InstallEvent, installPackage } from "../../src/app/install.ts";
import { IMAGE_CONFIG_FILE } from "../../src/app/install_image_config.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { readDirOrEmpty } from "../../src/fs.ts";
import { resolveReference } from "../../src/oci/reference.ts";
import { readCurrent } from "../../src/store/packages.ts";
import { buildImage } from "../support/image_builder.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { OCI_ARCH } from "../support/e2e.ts";
import { FIXTURE_REGISTRIES } from "../support/resolved_image.ts";
import { unsignedInstallDeps } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

async function setup() {
  const home = await tempHome();
  const registry = new MemoryRegistry();
  const image = await buildImage({
    layers: [{
      entries: [{
        type: "file",
        path: "usr/bin/busybox",
        content: await Deno.readFile("/bin/busybox"),
        mode: 0o755,
      }],
    }],
    config: { Entrypoint: ["/usr/bin/busybox", "echo"] },
    platform: { os: "linux", architecture: OCI_ARCH },
  });
  for (const bytes of image.blobs.values()) await registry.putBlob("apps/tool", bytes);
  await registry.putManifest("apps/tool", "1.0", image.manifestBytes, image.mediaType);
  const events: InstallEvent["type"][] = [];
  const deps = unsignedInstallDeps(home.layout, registry, (e) => events.push(e.type));
  const ref = resolveReference("lab/tool:1.0", { registries: FIXTURE_REGISTRIES, defaultRegistry: "lab" });
  return { home, deps, ref, image, events };
}

Deno.test("installPackage() commits the version with its config and file manifest, and writes a working wrapper", async () => {
  const { home, deps, ref, image, events } = await setup();
  await using _home = home;
  const outcome = await installPackage(deps, { origin: "install", ref, allowUnsigned: true });
  assert.equal(outcome.status, "installed");
  assert.equal(outcome.metadata.digest, image.digest);
  assert.equal(outcome.metadata.allow_unsigned, true);
  assert.deepEqual(outcome.wrappers, [join(home.layout.bin, "tool")]);
  const current = await readCurrent(home.layout, "tool");
  assert.equal(current?.digest, image.digest);
  assert.deepEqual(await Deno.readFile(join(current!.dir, IMAGE_CONFIG_FILE)), image.configBytes);
  assert.ok(await Deno.lstat(join(current!.dir, "files.json")));
  assert.deepEqual(events.filter((e) => !e.startsWith("layer") && !e.startsWith("unpack")), [
    "resolved",
    "unsigned",
    "committed",
  ]);
  const run = await new Deno.Command(join(home.layout.bin, "tool"), { args: ["hi"], stdout: "piped" })
    .output();
  assert.equal(new TextDecoder().decode(run.stdout), "hi\n");
});

Deno.test("installPackage() of what is current is unchanged, and restores a deleted wrapper", async () => {
  const { home, deps, ref } = await setup();
  await using _home = home;
  await installPackage(deps, { origin: "install", ref, allowUnsigned: true });
  await Deno.remove(join(home.layout.bin, "tool"));
  const again = await installPackage(deps, { origin: "install", ref, allowUnsigned: true });
  assert.equal(again.status, "unchanged");
  assert.deepEqual(again.wrappers, [join(home.layout.bin, "tool")]);
  assert.ok(await Deno.lstat(join(home.layout.bin, "tool")));
});

Deno.test("a refusal before the commit leaves no package directory: a foreign file in bin/, --file on an image", async () => {
  const { home, deps, ref } = await setup();
  await using _home = home;
  await Deno.mkdir(home.layout.bin, { recursive: true });
  await Deno.writeTextFile(join(home.layout.bin, "tool"), "#!/bin/sh\necho mine\n");
  await assert.rejects(
    () => installPackage(deps, { origin: "install", ref, allowUnsigned: true }),
    (err) => isDropzoneError(err, "NAME_CONFLICT"),
  );
  assert.equal(await Deno.readTextFile(join(home.layout.bin, "tool")), "#!/bin/sh\necho mine\n");
  await assert.rejects(
    () => installPackage(deps, { origin: "install", ref, allowUnsigned: true, name: "other", file: "x" }),
    (err) => isDropzoneError(err, "INVALID_ARGUMENT") && /--file with .*container image/.test(err.message),
  );
  const left = (await readDirOrEmpty(home.layout.packages)).map((e) => e.name);
  assert.deepEqual(left.filter((n) => !n.startsWith(".")), []);
});
