import assert from "node:assert/strict";
import { join } from "node:path";
import { DropzoneError } from "../../src/errors.ts";
import { linkOwner, linkTarget, packagesDirOf, planLink } from "../../src/shim/link.ts";
import { binSlot, removeWrapper, writeLink, writeWrapper } from "../../src/shim/write.ts";
import { ociHost } from "../../src/runtime.ts";

const HOST = ociHost(Deno.build.os, Deno.build.arch);

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "dz-link-" });
  try {
    await Deno.mkdir(join(home, "bin"));
    await Deno.mkdir(join(home, "packages"));
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("linkOwner() names the package only for <packages>/<name>/current/rootfs/… targets", () => {
  const packages = "/home/me/.dropzone/packages";
  assert.equal(linkOwner(packages, linkTarget(packages, "tool", "/tool")), "tool");
  assert.equal(linkOwner(packages, "/home/me/.dropzone/packages/tool/sha256-ab/rootfs/tool"), null);
  assert.equal(linkOwner(packages, "/usr/bin/tool"), null);
  assert.equal(linkOwner(packages, "/home/me/.dropzone/packagesX/tool/current/rootfs/tool"), null);
  assert.equal(packagesDirOf("/home/me/.dropzone/bin"), packages);
});

Deno.test("planLink() accepts a static ELF and a script, refuses data and a dynamic ELF whose loader is missing", async () => {
  await withHome(async (home) => {
    const rootfs = join(home, "rootfs");
    await Deno.mkdir(rootfs);
    await Deno.copyFile("/bin/busybox", join(rootfs, "busybox"));
    await Deno.writeTextFile(join(rootfs, "script"), "#!/bin/sh\necho hi\n");
    await Deno.writeTextFile(join(rootfs, "README"), "# not a program\n");
    const echo = await Deno.readFile(await Deno.realPath("/usr/bin/echo"));
    const text = new TextDecoder("latin1").decode(echo);
    const interp = /\/lib[^\0]*ld-linux[^\0]*\.so\.\d/.exec(text)![0];
    const patched = new Uint8Array(echo);
    patched.set(new TextEncoder().encode(interp.slice(0, -1) + "9"), text.indexOf(interp));
    await Deno.writeFile(join(rootfs, "dyn"), patched);
    await Deno.copyFile(await Deno.realPath("/usr/bin/echo"), join(rootfs, "echo"));

    assert.equal(
      (await planLink({ rootfs, path: "/busybox", host: HOST, name: "busybox" })).kind,
      "elf-static",
    );
    const script = await planLink({ rootfs, path: "/script", host: HOST, name: "script" });
    assert.deepEqual([script.kind, script.interpreter], ["script", "/bin/sh"]);
    const dynamic = await planLink({ rootfs, path: "/echo", host: HOST, name: "echo" });
    assert.equal(dynamic.kind, "elf-dynamic");
    assert.equal(dynamic.interpreter, interp, "the host has the loader echo was built for");
    await assert.rejects(
      planLink({ rootfs, path: "/dyn", host: HOST, name: "dyn" }),
      (e) =>
        e instanceof DropzoneError && e.code === "ENTRYPOINT" && e.exitCode === 1 &&
        e.message.includes(interp.slice(0, -1) + "9"),
    );
    await assert.rejects(
      planLink({ rootfs, path: "/README", host: HOST, name: "readme" }),
      /not an ELF or Mach-O/,
    );
    const other = HOST.arch === "amd64" ? "arm64" : "amd64";
    await assert.rejects(
      planLink({ rootfs, path: "/busybox", host: { ...HOST, arch: other }, name: "busybox" }),
      /is built for linux\//,
    );
  });
});

Deno.test("writeLink() and removeWrapper(): dz links are replaced and removed, foreign links never", async () => {
  await withHome(async (home) => {
    const bin = join(home, "bin");
    const packages = join(home, "packages");
    await writeLink(bin, "tool", linkTarget(packages, "tool", "/tool"), "tool");
    assert.equal(await Deno.readLink(join(bin, "tool")), linkTarget(packages, "tool", "/tool"));
    assert.deepEqual(await binSlot(bin, "tool"), { kind: "dz", owner: "tool" });
    // The same package may repoint it; another package may not take it; a wrapper of another package neither.
    await writeLink(bin, "tool", linkTarget(packages, "tool", "/v2/tool"), "tool");
    await assert.rejects(
      writeLink(bin, "tool", linkTarget(packages, "other", "/tool"), "other"),
      /belongs to package "tool"/,
    );
    await assert.rejects(
      writeWrapper(bin, "tool", '#!/bin/sh\n# dz-wrapper v1\n# name="tool" package="other" digest="x"\n'),
      /belongs to package "tool"/,
    );
    assert.equal(await removeWrapper(bin, "tool"), true);
    await assert.rejects(Deno.lstat(join(bin, "tool")));

    await Deno.symlink("/usr/bin/env", join(bin, "mine"));
    assert.deepEqual(await binSlot(bin, "mine"), { kind: "other", owner: null });
    await assert.rejects(
      writeLink(bin, "mine", linkTarget(packages, "mine", "/mine"), "mine"),
      /not written by dz/,
    );
    await assert.rejects(removeWrapper(bin, "mine"), /not written by dz/);
    assert.equal(await Deno.readLink(join(bin, "mine")), "/usr/bin/env", "left alone");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(bin))).map((e) => e.name),
      ["mine"],
      "no temp files left",
    );
  });
});
