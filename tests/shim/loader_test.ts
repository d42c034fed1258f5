import assert from "node:assert/strict";
import { join } from "node:path";
import {
  findLoader,
  globInRootfs,
  libraryDirs,
  parseLdSoConf,
  probeLoaderBytes,
} from "../../src/shim/loader.ts";
import { readBinaryFormat } from "../../src/shim/resolve.ts";
import type { ElfInfo } from "../../src/shim/binary_format.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("parseLdSoConf() handles comments, include, hwcap and libc5 suffixes", () => {
  const text = [
    "# comment",
    "include /etc/ld.so.conf.d/*.conf   # trailing",
    "include extra/*.conf more.conf",
    "hwcap 0 nosegneg",
    "/opt/lib  /opt/lib2:/opt/lib3,/opt/lib4",
    "/usr/X11R6/lib=libc5",
    "relative/ignored",
    "\t/usr/local/lib\r",
  ].join("\n");
  assert.deepEqual(parseLdSoConf(text), [
    { kind: "include", pattern: "/etc/ld.so.conf.d/*.conf" },
    { kind: "include", pattern: "extra/*.conf" },
    { kind: "include", pattern: "more.conf" },
    { kind: "dir", path: "/opt/lib" },
    { kind: "dir", path: "/opt/lib2" },
    { kind: "dir", path: "/opt/lib3" },
    { kind: "dir", path: "/opt/lib4" },
    { kind: "dir", path: "/usr/X11R6/lib" },
    { kind: "dir", path: "/usr/local/lib" },
  ]);
});

Deno.test("libraryDirs() follows ld.so.conf includes, then multiarch and standard dirs, resolved and deduplicated", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (
      const d of [
        "etc/ld.so.conf.d",
        "etc/extra",
        "opt/a",
        "opt/b",
        "opt/c",
        "usr/lib/x86_64-linux-gnu",
        "usr/lib64",
        "usr/local/lib",
      ]
    ) {
      await Deno.mkdir(join(root, d), { recursive: true });
    }
    await Deno.symlink("usr/lib", join(root, "lib"));
    await Deno.symlink("/usr/lib64", join(root, "lib64"));
    await Deno.writeTextFile(
      join(root, "etc/ld.so.conf"),
      "include /etc/ld.so.conf.d/*.conf\ninclude extra/x.conf\n/opt/missing\ninclude /etc/ld.so.conf\n",
    );
    await Deno.writeTextFile(join(root, "etc/ld.so.conf.d/b.conf"), "/opt/b\n");
    await Deno.writeTextFile(join(root, "etc/ld.so.conf.d/a.conf"), "/opt/a\n/lib64\n");
    await Deno.writeTextFile(join(root, "etc/ld.so.conf.d/.hidden.conf"), "/opt/c\n");
    await Deno.writeTextFile(join(root, "etc/ld.so.conf.d/c.txt"), "/opt/c\n");
    await Deno.writeTextFile(join(root, "etc/extra/x.conf"), "/opt/c\n");
    assert.deepEqual(await libraryDirs(root, "amd64"), [
      "/opt/a",
      "/usr/lib64",
      "/opt/b",
      "/opt/c",
      "/usr/lib/x86_64-linux-gnu",
      "/usr/lib",
      "/usr/local/lib",
    ]);
    assert.deepEqual(await globInRootfs(root, "/etc/ld.so.conf.d/[ab].conf"), [
      "/etc/ld.so.conf.d/a.conf",
      "/etc/ld.so.conf.d/b.conf",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("libraryDirs() reads musl's ld-musl-<arch>.path", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "etc"));
    await Deno.mkdir(join(root, "opt/m"), { recursive: true });
    await Deno.mkdir(join(root, "lib"));
    await Deno.writeTextFile(join(root, "etc/ld-musl-aarch64.path"), "/opt/m:/lib\n/nope\n");
    assert.deepEqual(await libraryDirs(root, "arm64"), ["/opt/m", "/lib"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("probeLoaderBytes() tells glibc and musl apart and finds their options", () => {
  assert.deepEqual(probeLoaderBytes(enc("xx GNU C Library --argv0 --inhibit-cache ld.so.cache")), {
    flavor: "glibc",
    argv0: true,
    inhibitCache: true,
  });
  assert.deepEqual(probeLoaderBytes(enc("--inhibit-cache /etc/ld.so.cache")), {
    flavor: "glibc",
    argv0: false,
    inhibitCache: true,
  });
  assert.deepEqual(probeLoaderBytes(enc("musl libc (x86_64)\0library-path\0argv0\0")), {
    flavor: "musl",
    argv0: true,
    inhibitCache: false,
  });
  assert.deepEqual(probeLoaderBytes(enc("something else")), {
    flavor: "unknown",
    argv0: false,
    inhibitCache: false,
  });
});

Deno.test({
  name: "findLoader() probes the host glibc loader (2.33+ has --argv0) and musl's when installed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const interp = (await readBinaryFormat("/bin/ls") as ElfInfo).interpreter!;
    const glibc = await findLoader("/", interp);
    assert.equal(glibc?.flavor, "glibc");
    assert.equal(glibc?.inhibitCache, true);
    const version = new TextDecoder().decode(
      (await new Deno.Command("ldd", { args: ["--version"], stdout: "piped" }).output()).stdout,
    ).match(/(\d+)\.(\d+)/);
    if (version && (Number(version[1]) > 2 || Number(version[2]) >= 33)) assert.equal(glibc?.argv0, true);
    const musl = `/lib/ld-musl-${Deno.build.arch}.so.1`;
    const muslInfo = await findLoader("/", musl);
    if (muslInfo !== null) {
      assert.equal(muslInfo.flavor, "musl");
      assert.equal(muslInfo.argv0, true);
      assert.equal(muslInfo.inhibitCache, false);
    }
    assert.equal(await findLoader("/", "/lib/ld-does-not-exist.so"), null);
  },
});
