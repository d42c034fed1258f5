import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_IMAGE_PATH,
  imagePath,
  isHostSafe,
  resolveCommand,
  resolveInRootfs,
  RootfsPathError,
  tryResolveInRootfs,
} from "../../src/shim/resolve.ts";

async function tree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "dz-resolve-" });
  await Deno.mkdir(join(root, "usr/bin"), { recursive: true });
  await Deno.mkdir(join(root, "usr/lib64"), { recursive: true });
  await Deno.mkdir(join(root, "usr/lib/x"), { recursive: true });
  await Deno.mkdir(join(root, "etc"), { recursive: true });
  await Deno.writeTextFile(join(root, "usr/bin/tool"), "#!/bin/sh\n");
  await Deno.chmod(join(root, "usr/bin/tool"), 0o755);
  await Deno.writeTextFile(join(root, "usr/bin/data"), "not executable");
  await Deno.writeTextFile(join(root, "usr/lib/x/ld.so"), "");
  await Deno.writeTextFile(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  await Deno.symlink("usr/bin", join(root, "bin"));
  await Deno.symlink("/usr/lib64", join(root, "lib64"));
  await Deno.symlink("/usr/lib/x/ld.so", join(root, "usr/lib64/ld.so"));
  await Deno.symlink("tool", join(root, "usr/bin/alias"));
  await Deno.symlink("/etc/passwd", join(root, "usr/bin/abs-passwd"));
  await Deno.symlink("../../../../../../etc/passwd", join(root, "usr/bin/escape"));
  await Deno.symlink("..", join(root, "up"));
  await Deno.symlink("loop-b", join(root, "loop-a"));
  await Deno.symlink("loop-a", join(root, "loop-b"));
  return root;
}

Deno.test("resolveInRootfs() follows relative and absolute links, including intermediate directories", async () => {
  const root = await tree();
  try {
    assert.equal((await resolveInRootfs(root, "/bin/tool")).path, "/usr/bin/tool");
    assert.equal((await resolveInRootfs(root, "bin/alias")).path, "/usr/bin/tool");
    assert.equal((await resolveInRootfs(root, "/lib64/ld.so")).path, "/usr/lib/x/ld.so");
    assert.equal((await resolveInRootfs(root, "/bin/abs-passwd")).path, "/etc/passwd");
    assert.equal((await resolveInRootfs(root, "/usr/bin/../lib64/./ld.so")).path, "/usr/lib/x/ld.so");
    assert.equal((await resolveInRootfs(root, "/")).path, "/");
    assert.ok((await resolveInRootfs(root, "/lib64")).info.isDirectory);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveInRootfs() refuses escapes, loops and missing paths with a reason", async () => {
  const root = await tree();
  try {
    const reason = async (path: string) => {
      try {
        await resolveInRootfs(root, path);
        return "ok";
      } catch (err) {
        assert.ok(err instanceof RootfsPathError);
        return err.reason;
      }
    };
    assert.equal(await reason("/bin/escape"), "escape");
    assert.equal(await reason("/up/etc/passwd"), "escape");
    assert.equal(await reason("/../etc/passwd"), "escape");
    assert.equal(await reason("/loop-a"), "loop");
    assert.equal(await reason("/bin/missing"), "not-found");
    assert.equal(await reason("/usr/bin/tool/sub"), "not-a-directory");
    assert.equal(await tryResolveInRootfs(root, "/nope"), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveInRootfs() stops after 40 symlink hops", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "end"), "");
    for (let i = 0; i < 41; i++) await Deno.symlink(i === 0 ? "end" : `l${i - 1}`, join(root, `l${i}`));
    assert.equal((await resolveInRootfs(root, "/l39")).path, "/end");
    await assert.rejects(
      resolveInRootfs(root, "/l40"),
      (err) => err instanceof RootfsPathError && err.reason === "loop",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("isHostSafe() is false when the host kernel would follow an absolute link out of the rootfs", async () => {
  const root = await tree();
  try {
    assert.equal(await isHostSafe(root, "/bin/alias", "/usr/bin/tool"), true);
    assert.equal(await isHostSafe(root, "/lib64/ld.so", "/usr/lib/x/ld.so"), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveCommand() searches the image PATH for executables and resolves paths", async () => {
  const root = await tree();
  try {
    const found = await resolveCommand(root, "tool", "/nowhere:/bin");
    assert.deepEqual([found?.path, found?.resolved], ["/bin/tool", "/usr/bin/tool"]);
    assert.equal(await resolveCommand(root, "data", "/usr/bin"), null, "not executable");
    assert.equal(await resolveCommand(root, "escape", "/usr/bin"), null);
    assert.equal(await resolveCommand(root, "tool", "relative/bin"), null);
    assert.equal(
      (await resolveCommand(root, "./tool", DEFAULT_IMAGE_PATH, "/usr/bin"))?.path,
      "/usr/bin/tool",
    );
    assert.equal((await resolveCommand(root, "/bin/alias"))?.resolved, "/usr/bin/tool");
    assert.equal(await resolveCommand(root, "/bin/missing"), null);
    assert.equal(await resolveCommand(root, ""), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("imagePath() reads PATH from image Env, defaulting like Docker", () => {
  assert.equal(imagePath(["A=1", "PATH=/opt/bin:/usr/bin"]), "/opt/bin:/usr/bin");
  assert.equal(imagePath(null), DEFAULT_IMAGE_PATH);
  assert.equal(imagePath(["PATHX=1"]), DEFAULT_IMAGE_PATH);
});
