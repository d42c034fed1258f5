/** The wrappers of an image version: planned from its saved config, written, restored only where stale, pruned. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import {
  checkWrapperSlot,
  planForVersion,
  removeStaleWrappers,
  renderWrappers,
  restoreWrappers,
  writeWrappers,
} from "../../src/app/install_wrappers.ts";
import { IMAGE_CONFIG_FILE } from "../../src/app/install_image_config.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import { activate, commitVersion, makePackageStaging } from "../../src/store/packages.ts";
import { HOST } from "../support/shim_fixtures.ts";
import { sampleMetadata } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";
import { OCI_ARCH } from "../support/e2e.ts";

const CONFIG = { os: "linux", architecture: OCI_ARCH, config: { Entrypoint: ["/usr/bin/busybox", "sh"] } };

/** Commits and activates a version of `name` whose rootfs holds the static busybox and `config` as its config. */
async function installBusybox(
  layout: StoreLayout,
  name: string,
  config: unknown = CONFIG,
  bins: PackageMetadata["bins"] = [{ name, path: "/usr/bin/busybox" }],
): Promise<PackageMetadata> {
  const staging = await makePackageStaging(layout, name);
  await Deno.mkdir(join(staging, "rootfs/usr/bin"), { recursive: true });
  await Deno.copyFile("/bin/busybox", join(staging, "rootfs/usr/bin/busybox"));
  await Deno.writeTextFile(join(staging, IMAGE_CONFIG_FILE), JSON.stringify(config));
  const metadata = await sampleMetadata(name, "1", { bins });
  await commitVersion(layout, name, staging, metadata);
  await activate(layout, name, metadata.digest);
  return metadata;
}

function versionDir(layout: StoreLayout, meta: PackageMetadata): string {
  return join(layout.packages, meta.name, meta.digest.replace(":", "-"));
}

Deno.test("planForVersion() re-plans the wrapper from the saved image config: its entrypoint args are baked in", async () => {
  await using home = await tempHome();
  const meta = await installBusybox(home.layout, "bb", CONFIG, [
    { name: "bb", path: "/usr/bin/busybox" },
    { name: "bb-extra", path: "/usr/bin/busybox" },
  ]);
  const plan = await planForVersion(home.layout, meta, HOST);
  assert.equal(plan.name, "bb");
  assert.equal(plan.kind, "elf-static");
  assert.deepEqual(plan.entrypoint.argv, ["/usr/bin/busybox", "sh"]);
  assert.deepEqual(plan.extraBins.map((b) => b.name), ["bb-extra"]);
  const wrappers = renderWrappers(home.layout, meta.name, plan, meta.digest);
  assert.deepEqual(wrappers.map((w) => w.path), [
    join(home.layout.bin, "bb"),
    join(home.layout.bin, "bb-extra"),
  ]);
  assert.match(wrappers[0]!.script, /busybox/);
  assert.ok(
    wrappers[0]!.script.includes(`digest=${JSON.stringify(meta.digest)}`),
    "the wrapper names this exact version",
  );
});

Deno.test("planForVersion() names the saved config when it is missing or damaged (exit 1, not a trust failure)", async () => {
  await using home = await tempHome();
  const meta = await installBusybox(home.layout, "bb");
  const path = join(versionDir(home.layout, meta), IMAGE_CONFIG_FILE);
  for (const damage of ["{not json", JSON.stringify({ config: { Entrypoint: "sh" } }), null]) {
    await Deno.remove(path).catch(() => {});
    if (damage !== null) await Deno.writeTextFile(path, damage);
    await assert.rejects(
      () => planForVersion(home.layout, meta, HOST),
      (err) =>
        isDropzoneError(err, "IO") && err.message.includes(path) && (err.hint ?? "").includes("reinstall"),
    );
  }
});

Deno.test("writeWrappers() writes every wrapper; restoreWrappers() rewrites only a missing or stale one", async () => {
  await using home = await tempHome();
  const meta = await installBusybox(home.layout, "bb", CONFIG, [
    { name: "bb", path: "/usr/bin/busybox" },
    { name: "bb2", path: "/usr/bin/busybox" },
  ]);
  const plan = await planForVersion(home.layout, meta, HOST);
  const written = await writeWrappers(home.layout, "bb", plan, meta.digest);
  assert.deepEqual(written, [join(home.layout.bin, "bb"), join(home.layout.bin, "bb2")]);
  assert.deepEqual(await restoreWrappers(home.layout, meta, HOST), [], "all current: nothing rewritten");

  const good = await Deno.readTextFile(join(home.layout.bin, "bb"));
  await Deno.remove(join(home.layout.bin, "bb2"));
  await Deno.writeTextFile(join(home.layout.bin, "bb"), good.replace("busybox", "elsewhere"));
  assert.deepEqual(await restoreWrappers(home.layout, meta, HOST), [
    join(home.layout.bin, "bb"),
    join(home.layout.bin, "bb2"),
  ]);
  assert.equal(await Deno.readTextFile(join(home.layout.bin, "bb")), good);
});

Deno.test("checkWrapperSlot() refuses a file dz did not write and another package's wrapper", async () => {
  await using home = await tempHome();
  const meta = await installBusybox(home.layout, "bb");
  await writeWrappers(home.layout, "bb", await planForVersion(home.layout, meta, HOST), meta.digest);
  await Deno.mkdir(home.layout.bin, { recursive: true });
  await Deno.writeTextFile(join(home.layout.bin, "mine"), "#!/bin/sh\necho my own script\n");

  await checkWrapperSlot(home.layout, "bb", "bb");
  await checkWrapperSlot(home.layout, "free", "bb");
  await assert.rejects(
    () => checkWrapperSlot(home.layout, "mine", "bb"),
    (err) => isDropzoneError(err, "NAME_CONFLICT") && /not written by dz/.test(err.message),
  );
  await assert.rejects(
    () => checkWrapperSlot(home.layout, "bb", "other"),
    (err) => isDropzoneError(err, "NAME_CONFLICT") && /belongs to package "bb"/.test(err.message),
  );
});

Deno.test("removeStaleWrappers() removes only the previous version's wrappers that are not kept", async () => {
  await using home = await tempHome();
  const meta = await installBusybox(home.layout, "bb", CONFIG, [
    { name: "bb", path: "/usr/bin/busybox" },
    { name: "old", path: "/usr/bin/busybox" },
  ]);
  await writeWrappers(home.layout, "bb", await planForVersion(home.layout, meta, HOST), meta.digest);
  await removeStaleWrappers(home.layout, undefined, []);
  assert.ok(await Deno.lstat(join(home.layout.bin, "old")), "no previous version: nothing removed");
  await removeStaleWrappers(home.layout, meta, ["bb"]);
  await assert.rejects(() => Deno.lstat(join(home.layout.bin, "old")), Deno.errors.NotFound);
  assert.ok(await Deno.lstat(join(home.layout.bin, "bb")));
});
