import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import type { ShimPlan } from "../../src/shim/plan.ts";
import { readWrapperMeta, renderWrapper, WRAPPER_MARKER } from "../../src/shim/wrapper.ts";
import { removeWrapper, writeWrapper } from "../../src/shim/write.ts";

const WRAPPER = `#!/bin/sh\n${WRAPPER_MARKER}\nexec true\n`;

Deno.test("writeWrapper() writes mode 0755 atomically and replaces an existing dz wrapper", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bin = join(dir, "bin");
    await writeWrapper(bin, "jq", WRAPPER);
    assert.equal((await Deno.stat(join(bin, "jq"))).mode! & 0o777, 0o755);
    await writeWrapper(bin, "jq", WRAPPER + "# v2\n");
    assert.equal(await Deno.readTextFile(join(bin, "jq")), WRAPPER + "# v2\n");
    assert.deepEqual([...Deno.readDirSync(bin)].map((e) => e.name), ["jq"], "no temp files left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeWrapper() refuses foreign files, symlinks and directories with NAME_CONFLICT", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "jq"), "#!/bin/sh\necho mine\n");
    await Deno.writeTextFile(join(dir, "target"), WRAPPER);
    await Deno.symlink(join(dir, "target"), join(dir, "link"));
    await Deno.mkdir(join(dir, "d"));
    for (const name of ["jq", "link", "d"]) {
      await assert.rejects(
        writeWrapper(dir, name, WRAPPER),
        (err) => isDropzoneError(err, "NAME_CONFLICT") && !!err.hint,
      );
    }
    assert.equal(await Deno.readTextFile(join(dir, "jq")), "#!/bin/sh\necho mine\n");
    assert.ok((await Deno.lstat(join(dir, "link"))).isSymlink);
    await assert.rejects(writeWrapper(dir, "a/b", WRAPPER), (err) => isDropzoneError(err, "INVALID_NAME"));
    await assert.rejects(writeWrapper(dir, "..", WRAPPER), (err) => isDropzoneError(err, "INVALID_NAME"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeWrapper() removes only dz wrappers and never follows symlinks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await removeWrapper(dir, "missing"), false);
    await writeWrapper(dir, "jq", WRAPPER);
    assert.equal(await removeWrapper(dir, "jq"), true);
    await assert.rejects(Deno.lstat(join(dir, "jq")), Deno.errors.NotFound);
    await Deno.writeTextFile(join(dir, "mine"), "#!/bin/sh\n");
    await assert.rejects(removeWrapper(dir, "mine"), (err) => isDropzoneError(err, "NAME_CONFLICT"));
    await Deno.writeTextFile(join(dir, "target"), WRAPPER);
    await Deno.symlink(join(dir, "target"), join(dir, "link"));
    await assert.rejects(removeWrapper(dir, "link"), (err) => isDropzoneError(err, "NAME_CONFLICT"));
    assert.ok((await Deno.lstat(join(dir, "link"))).isSymlink);
    assert.equal(await Deno.readTextFile(join(dir, "target")), WRAPPER);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeWrapper() refuses to take over another package's wrapper unless told to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plan: ShimPlan = {
      name: "tool",
      entrypoint: { argv: ["/t"], path: "/t", resolved: "/t" },
      kind: "elf-static",
      exec: "/t",
      argv0: { kind: "invoked" },
      libraryPath: [],
      argv0Supported: false,
      inhibitCache: false,
      bakedArgs: [],
      defaultArgs: [],
      env: [],
      extraBins: [],
    };
    const a = renderWrapper(plan, { packagesDir: "/p", name: "pkg-a", digest: "sha256:1" });
    const b = renderWrapper(plan, { packagesDir: "/p", name: "pkg-b", digest: "sha256:2" });
    assert.deepEqual(readWrapperMeta(a), { name: "tool", package: "pkg-a", digest: "sha256:1" });
    await writeWrapper(dir, "tool", a);
    await writeWrapper(dir, "tool", a.replace("sha256:1", "sha256:3"));
    await assert.rejects(
      writeWrapper(dir, "tool", b),
      (err) => isDropzoneError(err, "NAME_CONFLICT") && /pkg-a/.test(err.message),
    );
    await writeWrapper(dir, "tool", b, { replaceOtherPackage: true });
    assert.equal(readWrapperMeta(await Deno.readTextFile(join(dir, "tool")))?.package, "pkg-b");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
