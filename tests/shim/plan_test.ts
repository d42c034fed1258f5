import assert from "node:assert/strict";
import { join } from "node:path";
import { type DropzoneError, isDropzoneError } from "../../src/errors.ts";
import type { ImageConfig } from "../../src/oci/manifest.ts";
import { parseBinSpec, planShim } from "../../src/shim/plan.ts";
import {
  buildRootfs,
  canBuildRootfs,
  craftElf,
  craftFat,
  craftMachO,
  HOST,
  TRIPLET,
} from "../support/shim_fixtures.ts";

const e2e = await canBuildRootfs();

function config(c: ImageConfig["config"], platform: Partial<ImageConfig> = {}): ImageConfig {
  return { config: c, ...platform };
}

async function expectEntrypointError(promise: Promise<unknown>, pattern: RegExp): Promise<DropzoneError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(isDropzoneError(caught, "ENTRYPOINT"), `expected ENTRYPOINT, got ${caught}`);
  assert.match(caught.message, pattern);
  assert.ok(caught.hint && caught.hint.length > 0, "has a hint");
  return caught;
}

async function withRootfs(
  fn: (rootfs: string) => Promise<void>,
  binaries: Record<string, string> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dz-plan-" });
  try {
    const rootfs = join(dir, "rootfs");
    await Deno.mkdir(rootfs);
    if (Object.keys(binaries).length > 0) await buildRootfs(rootfs, binaries);
    await fn(rootfs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeExec(path: string, bytes: Uint8Array | string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  if (typeof bytes === "string") await Deno.writeTextFile(path, bytes);
  else await Deno.writeFile(path, bytes);
  await Deno.chmod(path, 0o755);
}

const LINUX_AMD64 = { os: "linux", arch: "amd64" };

Deno.test("planShim() refuses an image with neither Entrypoint nor Cmd", async () => {
  await withRootfs(async (rootfs) => {
    for (const c of [{}, { Entrypoint: [], Cmd: null }, { Entrypoint: null, Cmd: [""] }]) {
      await expectEntrypointError(
        planShim({ rootfs, config: config(c), host: LINUX_AMD64, name: "x" }),
        /neither an Entrypoint nor a Cmd/,
      );
    }
  });
});

Deno.test("planShim() refuses a missing entrypoint and a symlink escaping the rootfs", async () => {
  await withRootfs(async (rootfs) => {
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/usr/bin/jq"] }), host: LINUX_AMD64, name: "jq" }),
      /"\/usr\/bin\/jq" does not exist/,
    );
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Cmd: ["jq"] }), host: LINUX_AMD64, name: "jq" }),
      /"jq" does not exist/,
    );
    await Deno.mkdir(join(rootfs, "bin"));
    await Deno.symlink("../../../../../bin/sh", join(rootfs, "bin/sh"));
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/bin/sh"] }), host: LINUX_AMD64, name: "sh" }),
      /cannot be resolved: .*escapes/,
    );
  });
});

Deno.test("planShim() refuses wrong OS and architecture, naming both platforms", async () => {
  await withRootfs(async (rootfs) => {
    await writeExec(join(rootfs, "arm"), craftElf({ machine: 183 }));
    const err = await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/arm"] }), host: LINUX_AMD64, name: "a" }),
      /built for linux\/arm64, not for linux\/amd64/,
    );
    assert.equal(err.hint, "Use an image built for linux/amd64");
    await expectEntrypointError(
      planShim({
        rootfs,
        config: config({ Entrypoint: ["/arm"] }, { os: "linux", architecture: "arm64" }),
        host: LINUX_AMD64,
        name: "a",
      }),
      /the image is built for linux\/arm64/,
    );
    await expectEntrypointError(
      planShim({
        rootfs,
        config: config({ Entrypoint: ["/arm"] }, { os: "windows" }),
        host: LINUX_AMD64,
        name: "a",
      }),
      /windows/,
    );
    await writeExec(join(rootfs, "mac"), craftMachO(0xcffaedfe, 0x0100000c, true));
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/mac"] }), host: LINUX_AMD64, name: "m" }),
      /built for darwin\/arm64, not for linux\/amd64/,
    );
    await expectEntrypointError(
      planShim({
        rootfs,
        config: config({ Entrypoint: ["/arm"] }),
        host: { os: "darwin", arch: "arm64" },
        name: "m",
      }),
      /linux\/arm64, not for darwin\/arm64/,
    );
    await writeExec(join(rootfs, "bsd"), craftElf({ osabi: 9 }));
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/bsd"] }), host: LINUX_AMD64, name: "b" }),
      /freebsd\/amd64/,
    );
  });
});

Deno.test("planShim() accepts thin and fat Mach-O on a matching macOS host", async () => {
  await withRootfs(async (rootfs) => {
    await writeExec(join(rootfs, "usr/bin/fat"), craftFat([0x01000007, 0x0100000c]));
    await Deno.mkdir(join(rootfs, "usr/lib"), { recursive: true });
    const plan = await planShim({
      rootfs,
      config: config({ Entrypoint: ["/usr/bin/fat"] }),
      host: { os: "darwin", arch: "arm64" },
      name: "fat",
    });
    assert.equal(plan.kind, "macho");
    assert.deepEqual(plan.libraryPath, ["/usr/lib"]);
    assert.equal(plan.loader, undefined);
    await writeExec(join(rootfs, "usr/bin/thin"), craftMachO(0xcffaedfe, 0x01000007, true));
    await expectEntrypointError(
      planShim({
        rootfs,
        config: config({ Entrypoint: ["/usr/bin/thin"] }),
        host: { os: "darwin", arch: "arm64" },
        name: "t",
      }),
      /darwin\/amd64, not for darwin\/arm64/,
    );
  });
});

Deno.test("planShim() refuses files that are not executables and scripts whose interpreter is missing", async () => {
  await withRootfs(async (rootfs) => {
    await writeExec(join(rootfs, "data"), "just text\n");
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/data"] }), host: LINUX_AMD64, name: "d" }),
      /not an ELF or Mach-O executable or a #! script/,
    );
    await writeExec(join(rootfs, "run.sh"), "#!/bin/bash -e\necho hi\n");
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/run.sh"] }), host: LINUX_AMD64, name: "r" }),
      /script for "\/bin\/bash", which does not exist in the image/,
    );
    await writeExec(join(rootfs, "env.py"), "#!/usr/bin/env python3\n");
    await expectEntrypointError(
      planShim({ rootfs, config: config({ Entrypoint: ["/env.py"] }), host: LINUX_AMD64, name: "p" }),
      /script for "python3"/,
    );
  });
});

Deno.test({
  name: "planShim() refuses a dynamic ELF whose loader is missing from the rootfs",
  ignore: !e2e,
  async fn() {
    await withRootfs(async (rootfs) => {
      await writeExec(join(rootfs, "usr/bin/ls"), await Deno.readFile("/bin/ls"));
      await expectEntrypointError(
        planShim({ rootfs, config: config({ Entrypoint: ["/usr/bin/ls"] }), host: HOST, name: "ls" }),
        /dynamic loader ".*ld-linux.*" of "\/usr\/bin\/ls" does not exist in the image/,
      );
    });
  },
});

Deno.test({
  name: "planShim() plans a dynamic ELF: real loader and lib dirs inside the rootfs, argv and Cmd split",
  ignore: !e2e,
  async fn() {
    await withRootfs(async (rootfs) => {
      const plan = await planShim({
        rootfs,
        config: config({ Entrypoint: ["/bin/ls", "-1"], Cmd: ["/"] }, {
          os: HOST.os,
          architecture: HOST.arch,
        }),
        host: HOST,
        name: "ls",
      });
      assert.equal(plan.kind, "elf-dynamic");
      assert.deepEqual(plan.entrypoint, {
        argv: ["/bin/ls", "-1"],
        path: "/bin/ls",
        resolved: "/usr/bin/ls",
      });
      assert.equal(plan.loader, `/usr/lib/${TRIPLET}/${plan.loader!.split("/").pop()}`);
      assert.equal(
        plan.exec,
        "/usr/bin/ls",
        "the loader gets the real file so $ORIGIN matches a kernel exec",
      );
      assert.deepEqual(plan.argv0, { kind: "invoked" });
      assert.deepEqual(plan.bakedArgs, ["-1"]);
      assert.deepEqual(plan.defaultArgs, ["/"]);
      assert.equal(plan.inhibitCache, true);
      assert.ok(plan.libraryPath.includes(`/usr/lib/${TRIPLET}`));
      assert.ok(plan.libraryPath.includes("/usr/lib64"), "lib64 -> /usr/lib64 resolved inside the rootfs");
      assert.ok(plan.libraryPath.every((d) => !d.startsWith("/lib")), "real paths, not links");

      const cmdOnly = await planShim({
        rootfs,
        config: config({ Cmd: ["ls", "-a"] }),
        host: HOST,
        name: "list",
      });
      assert.equal(cmdOnly.entrypoint.path, "/usr/bin/ls", "bare Cmd found in the default image PATH");
      assert.deepEqual([cmdOnly.bakedArgs, cmdOnly.defaultArgs], [[], ["-a"]]);
      assert.deepEqual(
        cmdOnly.argv0,
        { kind: "path", path: "/usr/bin/ls" },
        "name differs: argv[0] is the program",
      );
    }, { "usr/bin/ls": "/bin/ls", "usr/bin/bash": "/bin/bash" });
  },
});

Deno.test({
  name:
    "planShim() runs a script through the rootfs's own interpreter, resolving #!/usr/bin/env in the image PATH",
  ignore: !e2e,
  async fn() {
    await withRootfs(async (rootfs) => {
      await writeExec(join(rootfs, "app/run.sh"), "#!/bin/bash -e\necho hi\n");
      const plan = await planShim({
        rootfs,
        config: config({ Entrypoint: ["/app/run.sh", "x"] }),
        host: HOST,
        name: "run",
      });
      assert.equal(plan.kind, "elf-dynamic");
      assert.equal(plan.exec, "/usr/bin/bash");
      assert.deepEqual(plan.script, { path: "/app/run.sh", interpreterArg: "-e" });
      assert.deepEqual(plan.bakedArgs, ["x"]);
      await writeExec(join(rootfs, "app/env.sh"), "#!/usr/bin/env bash\n");
      const viaEnv = await planShim({
        rootfs,
        config: config({ Entrypoint: ["/app/env.sh"] }),
        host: HOST,
        name: "e",
      });
      assert.equal(viaEnv.exec, "/usr/bin/bash");
      assert.deepEqual(viaEnv.script, { path: "/app/env.sh" });
    }, { "usr/bin/bash": "/bin/bash" });
  },
});

Deno.test("planShim() rewrites image Env into the rootfs, adds data hints, and never takes PATH or LD_*", async () => {
  await withRootfs(async (rootfs) => {
    await writeExec(join(rootfs, "bin/tool"), craftElf({ machine: 62 }));
    await Deno.mkdir(join(rootfs, "etc/ssl/certs"), { recursive: true });
    await Deno.writeTextFile(join(rootfs, "etc/ssl/certs/ca-certificates.crt"), "");
    await Deno.mkdir(join(rootfs, "usr/share/zoneinfo"), { recursive: true });
    await Deno.mkdir(join(rootfs, "usr/lib/locale"), { recursive: true });
    await Deno.mkdir(join(rootfs, "opt/jdk"), { recursive: true });
    await Deno.symlink("/opt/jdk", join(rootfs, "opt/java"));
    const plan = await planShim({
      rootfs,
      config: config({
        Entrypoint: ["/bin/tool"],
        Env: [
          "PATH=/usr/bin",
          "LD_LIBRARY_PATH=/lib",
          "LD_PRELOAD=/x.so",
          "DYLD_LIBRARY_PATH=/lib",
          "HOME=/root",
          "JAVA_HOME=/opt/java",
          "CLASSPATH=/opt/jdk:/not/here:rel",
          "LANG=C.UTF-8",
          "TZDIR=/custom/zoneinfo",
          "bad name=1",
          "EMPTY=",
          "NOEQUALS",
        ],
      }),
      host: LINUX_AMD64,
      name: "tool",
    });
    assert.equal(plan.kind, "elf-static");
    assert.deepEqual(plan.env, [
      { name: "JAVA_HOME", value: [{ kind: "root", path: "/opt/jdk" }], mode: "set", source: "image" },
      {
        name: "CLASSPATH",
        value: [{ kind: "root", path: "/opt/jdk" }, { kind: "text", text: ":/not/here:rel" }],
        mode: "set",
        source: "image",
      },
      { name: "LANG", value: [{ kind: "text", text: "C.UTF-8" }], mode: "default", source: "image" },
      {
        name: "TZDIR",
        value: [{ kind: "text", text: "/custom/zoneinfo" }],
        mode: "default",
        source: "image",
      },
      { name: "EMPTY", value: [], mode: "default", source: "image" },
      {
        name: "SSL_CERT_FILE",
        value: [{ kind: "root", path: "/etc/ssl/certs/ca-certificates.crt" }],
        mode: "default",
        source: "hint",
      },
      {
        name: "LOCPATH",
        value: [{ kind: "root", path: "/usr/lib/locale" }],
        mode: "default",
        source: "hint",
      },
    ]);
  });
});

Deno.test("planShim() plans extra binaries from the same rootfs without baked args", async () => {
  await withRootfs(async (rootfs) => {
    await writeExec(join(rootfs, "bin/main"), craftElf());
    await writeExec(join(rootfs, "bin/helper"), craftElf());
    const plan = await planShim({
      rootfs,
      config: config({ Entrypoint: ["/bin/main", "--flag"], Cmd: ["x"] }),
      host: LINUX_AMD64,
      name: "main",
      extraBins: [parseBinSpec("/bin/helper:h"), parseBinSpec("helper")],
    });
    assert.deepEqual(plan.extraBins.map((b) => [b.name, b.exec, b.bakedArgs, b.defaultArgs]), [
      ["h", "/bin/helper", [], []],
      ["helper", "/bin/helper", [], []],
    ]);
    await expectEntrypointError(
      planShim({
        rootfs,
        config: config({ Entrypoint: ["/bin/main"] }),
        host: LINUX_AMD64,
        name: "m",
        extraBins: [{ path: "/nope", name: "n" }],
      }),
      /binary "\/nope" does not exist/,
    );
  });
});

Deno.test("parseBinSpec() splits PATH[:NAME] and refuses bad names", () => {
  assert.deepEqual(parseBinSpec("/usr/bin/jq"), { path: "/usr/bin/jq", name: "jq" });
  assert.deepEqual(parseBinSpec("/usr/bin/jq:q"), { path: "/usr/bin/jq", name: "q" });
  for (const bad of ["", ":x", "/a:", "/a:b/c", "/a:.."]) {
    assert.throws(() => parseBinSpec(bad), (err) => isDropzoneError(err, "INVALID_ARGUMENT"));
  }
});
