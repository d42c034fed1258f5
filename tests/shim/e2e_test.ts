/**
 * End to end: a rootfs built from real host binaries and their libraries, planned, rendered, written and
 * executed through the wrapper exactly as an installed package would be.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ImageConfig } from "../../src/oci/manifest.ts";
import { planShim } from "../../src/shim/plan.ts";
import { renderWrapper } from "../../src/shim/wrapper.ts";
import { writeWrapper } from "../../src/shim/write.ts";
import { readBinaryFormat } from "../../src/shim/resolve.ts";
import { buildRootfs, canBuildRootfs, HOST, run, TRIPLET } from "../support/shim_fixtures.ts";

const ignore = !(await canBuildRootfs());
const BUSYBOX = "/bin/busybox";
const busyboxStatic = !ignore &&
  await readBinaryFormat(BUSYBOX).then((f) => f.kind === "elf" && !f.dynamic).catch(() => false);

/** A dz home with one shared rootfs; each package's current/rootfs links to it. */
interface Home extends AsyncDisposable {
  readonly dir: string;
  readonly rootfs: string;
  readonly bin: string;
  install(name: string, config: ImageConfig["config"]): Promise<string>;
}

async function home(
  binaries: Record<string, string>,
  extra?: (rootfs: string) => Promise<void>,
): Promise<Home> {
  const dir = await Deno.makeTempDir({ prefix: "dz e2e 'home' " });
  const rootfs = join(dir, "image", "rootfs");
  await Deno.mkdir(rootfs, { recursive: true });
  await buildRootfs(rootfs, binaries);
  if (extra) await extra(rootfs);
  const packages = join(dir, "packages");
  const bin = join(dir, "bin");
  return {
    dir,
    rootfs,
    bin,
    async install(name, imageConfig) {
      const plan = await planShim({ rootfs, config: { config: imageConfig }, host: HOST, name });
      await Deno.mkdir(join(packages, name), { recursive: true });
      await Deno.symlink(join(dir, "image"), join(packages, name, "current"));
      await writeWrapper(
        bin,
        name,
        renderWrapper(plan, { packagesDir: packages, name, digest: "sha256:" + "0".repeat(64) }),
      );
      return join(bin, name);
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** An environment with nothing from the host but a PATH for the wrapper's own /bin/sh. */
const CLEAN = { PATH: "/usr/bin:/bin" };

Deno.test({
  name: "wrapper runs a dynamic host binary from the rootfs with its bundled loader and libraries",
  ignore,
  async fn() {
    await using h = await home({ "usr/bin/ls": "/bin/ls", "usr/bin/cat": "/bin/cat" });
    const ls = await h.install("ls", { Entrypoint: ["/bin/ls"], Cmd: ["-1", "/"] });
    await Deno.writeTextFile(join(h.dir, "probe file"), "");
    const out = await run(ls, ["-1", h.dir], { env: CLEAN, clearEnv: true });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split("\n").sort(), ["bin", "image", "packages", "probe file"]);
    const defaults = await run(ls, [], { env: CLEAN, clearEnv: true });
    assert.ok(defaults.stdout.split("\n").includes("usr"), "Cmd is used when no arguments are given");

    // Every shared object the program maps comes from the rootfs.
    const cat = await h.install("cat", { Entrypoint: ["/usr/bin/cat"] });
    const maps = await run(cat, ["/proc/self/maps"], { env: CLEAN, clearEnv: true });
    assert.equal(maps.code, 0, maps.stderr);
    const realRoot = await Deno.realPath(h.rootfs);
    const objects = new Set(
      maps.stdout.split("\n").map((l) => l.match(/^(?:\S+\s+){5}(.*)$/)?.[1] ?? "").filter((p) =>
        /\.so(\.|$)/.test(p)
      ),
    );
    assert.ok(objects.size >= 2, [...objects].join("\n"));
    for (const object of objects) {
      assert.ok(object.startsWith(realRoot + "/"), `${object} is outside the rootfs`);
    }
  },
});

Deno.test({
  name: "wrapper ignores the host's LD_LIBRARY_PATH and library cache for the bundled program",
  ignore,
  async fn() {
    await using h = await home({ "usr/bin/ls": "/bin/ls" });
    const ls = await h.install("ls", { Entrypoint: ["/bin/ls"] });
    // Poison every library ls needs except libc (the wrapper's own /bin/sh needs the host libc).
    const poison = join(h.dir, "poison");
    await Deno.mkdir(poison);
    for await (const e of Deno.readDir(join(h.rootfs, "usr/lib", TRIPLET))) {
      if (!e.name.startsWith("libc.so") && !e.name.startsWith("ld-")) {
        await Deno.writeTextFile(join(poison, e.name), "");
      }
    }
    const out = await run(ls, ["/"], { env: { ...CLEAN, LD_LIBRARY_PATH: poison }, clearEnv: true });
    assert.equal(out.code, 0, out.stderr);
  },
});

Deno.test({
  name:
    "wrapper passes argv[0] via --argv0: the wrapper's path when names match, the program's path otherwise",
  ignore,
  async fn() {
    await using h = await home({ "usr/bin/bash": "/bin/bash", "usr/bin/ls": "/bin/ls" });
    const bash = await h.install("bash", { Entrypoint: ["/bin/bash"] });
    const same = await run(bash, ["-c", 'printf "%s" "$0"'], { env: CLEAN, clearEnv: true });
    assert.equal(same.stdout, bash);
    const ls = await h.install("ls", { Entrypoint: ["/bin/ls"] });
    const err = await run(ls, ["--definitely-not-an-option"], { env: CLEAN, clearEnv: true });
    assert.ok(err.stderr.startsWith(`${ls}: `), err.stderr);
    const other = await h.install("mybash", { Entrypoint: ["/bin/bash"] });
    const diff = await run(other, ["-c", 'printf "%s" "$0"'], { env: CLEAN, clearEnv: true });
    // The entrypoint as the image wrote it (/bin/bash), as a container runtime would pass it.
    assert.equal(diff.stdout, join(h.dir, "packages/mybash/current/rootfs/bin/bash"));
  },
});

Deno.test({
  name: "wrapper applies image Env into the rootfs and sets no LD_* variables in the child",
  ignore,
  async fn() {
    await using h = await home({ "usr/bin/env": "/usr/bin/env" }, async (rootfs) => {
      await Deno.mkdir(join(rootfs, "etc/ssl/certs"), { recursive: true });
      await Deno.writeTextFile(join(rootfs, "etc/ssl/certs/ca-certificates.crt"), "");
    });
    const env = await h.install("env", {
      Entrypoint: ["/usr/bin/env"],
      Env: [
        "PATH=/usr/bin",
        "LD_PRELOAD=/nope.so",
        "LIBDIR=/lib/" + TRIPLET,
        "GREETING=hello world",
        "HOME=/root",
      ],
    });
    const out = await run(env, [], { env: { ...CLEAN, HOME: "/home/me" }, clearEnv: true });
    assert.equal(out.code, 0, out.stderr);
    const vars = new Map(
      out.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const root = join(h.dir, "packages/env/current/rootfs");
    assert.equal(vars.get("LIBDIR"), `${root}/usr/lib/${TRIPLET}`);
    assert.equal(vars.get("GREETING"), "hello world");
    assert.equal(vars.get("SSL_CERT_FILE"), `${root}/etc/ssl/certs/ca-certificates.crt`);
    assert.equal(vars.get("HOME"), "/home/me");
    assert.equal(vars.get("PATH"), CLEAN.PATH);
    assert.ok(![...vars.keys()].some((k) => k.startsWith("LD_")), [...vars.keys()].join(" "));
    assert.ok(!vars.has("ROOT"));
  },
});

Deno.test({
  name: "wrapper runs a #! script entrypoint with the rootfs's own shell through the loader",
  ignore,
  async fn() {
    await using h = await home({ "usr/bin/bash": "/bin/bash" }, async (rootfs) => {
      await Deno.mkdir(join(rootfs, "app"));
      await Deno.writeTextFile(
        join(rootfs, "app/run.sh"),
        '#!/bin/bash\nprintf "%s|" "$BASH_VERSION" "$@"\n',
      );
      await Deno.chmod(join(rootfs, "app/run.sh"), 0o755);
    });
    const app = await h.install("app", { Entrypoint: ["/app/run.sh", "baked arg"] });
    const out = await run(app, ["it's", "$x"], { env: CLEAN, clearEnv: true });
    assert.equal(out.code, 0, out.stderr);
    const [version, ...args] = out.stdout.split("|");
    assert.ok(version!.length > 0);
    assert.deepEqual(args, ["baked arg", "it's", "$x", ""]);
  },
});

Deno.test({
  name: "wrapper execs a static multi-call binary through its symlink name (busybox)",
  ignore: !busyboxStatic,
  async fn() {
    await using h = await home({}, async (rootfs) => {
      await Deno.copyFile(BUSYBOX, join(rootfs, "usr/bin/busybox"));
      await Deno.chmod(join(rootfs, "usr/bin/busybox"), 0o755);
      await Deno.symlink("busybox", join(rootfs, "usr/bin/sh"));
      await Deno.symlink("/usr/bin/busybox", join(rootfs, "usr/bin/abs-sh"));
    });
    const alpine = await h.install("alpine", { Cmd: ["/bin/sh"] });
    const out = await run(alpine, ["-c", "echo multi-call ok"], { env: CLEAN, clearEnv: true });
    assert.equal(out.stdout, "multi-call ok\n", out.stderr);
    const interactive = await run(alpine, [], { env: CLEAN, clearEnv: true });
    assert.equal(interactive.code, 0, "Cmd-only image with no args runs the shell (stdin is empty)");
  },
});
