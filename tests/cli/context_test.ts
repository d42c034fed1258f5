/** The per-invocation context (src/cli/context.ts): logging levels, sinks, widths, user paths, home set-up. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliContext, createContext, sinkWidth } from "../../src/cli/context.ts";
import { DropzoneError } from "../../src/errors.ts";
import { removeTree } from "../../src/fs.ts";
import { ociHost, type Runtime } from "../../src/runtime.ts";
import { HOME_MARKER } from "../../src/store/layout.ts";

interface Captured {
  runtime: Runtime;
  out: string[];
  err: string[];
}

function fakeRuntime(env: Record<string, string>, options: { errColumns?: number } = {}): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const runtime: Runtime = {
    fetch: () => Promise.reject(new TypeError("no network in context tests")),
    now: () => new Date("2026-12-01T00:00:00Z"),
    env: (name) => env[name],
    homeDir: "/nonexistent-user-home",
    host: ociHost("linux", "x86_64"),
    stdout: { write: (t) => void out.push(t), isTerminal: false },
    stderr: {
      write: (t) => void err.push(t),
      isTerminal: options.errColumns !== undefined,
      columns: () => options.errColumns,
    },
    stdinIsTerminal: false,
    readStdin: () => Promise.resolve(""),
    prompt: () => Promise.resolve(null),
  };
  return { runtime, out, err };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dz-context-" });
  try {
    await fn(dir);
  } finally {
    await removeTree(dir);
  }
}

Deno.test("log levels: info hidden by --quiet, warn always, debug only with --verbose; all on stderr", () => {
  const cases: { quiet: boolean; verbose: boolean; expected: string[] }[] = [
    { quiet: false, verbose: false, expected: ["i\n", "warning: w\n"] },
    { quiet: true, verbose: false, expected: ["warning: w\n"] },
    { quiet: false, verbose: true, expected: ["i\n", "warning: w\n", "debug: d\n"] },
  ];
  for (const c of cases) {
    const cap = fakeRuntime({ DROPZONE_HOME: "/x" });
    const ctx = createContext(cap.runtime, { quiet: c.quiet, verbose: c.verbose });
    ctx.log.info("i");
    ctx.log.warn("w");
    ctx.log.debug("d");
    assert.deepEqual(cap.err, c.expected, JSON.stringify(c));
    assert.deepEqual(cap.out, []);
  }
});

Deno.test("stdout and stderr sinks escape terminal control sequences; messages fold to stderr's width", () => {
  const cap = fakeRuntime({ DROPZONE_HOME: "/x" }, { errColumns: 20 });
  const ctx = createContext(cap.runtime, { quiet: false, verbose: false });
  ctx.out("tag\u001b]52;c;x\u0007\n");
  ctx.log.warn("a long message that does not fit twenty columns");
  assert.deepEqual(cap.out, ["tag\\u001b]52;c;x\\u0007\n"]);
  const lines = cap.err.join("").trimEnd().split("\n");
  assert.ok(lines.length > 1, "folded");
  for (const line of lines) assert.ok(line.length < 20, line);
  assert.equal(
    lines.join(" ").replace(/\s+/g, " "),
    "warning: a long message that does not fit twenty columns",
  );
});

Deno.test("sinkWidth: a terminal's size, else $COLUMNS, else 80; undefined when piped", () => {
  const sink = (isTerminal: boolean, size?: number) => ({ write() {}, isTerminal, columns: () => size });
  assert.equal(sinkWidth(sink(true, 132), { columns: 50 }), 132);
  assert.equal(sinkWidth(sink(true, undefined), { columns: 50 }), 50);
  assert.equal(sinkWidth(sink(true, 0), { columns: undefined }), 80);
  assert.equal(sinkWidth(sink(false, 132), { columns: 50 }), undefined);
});

Deno.test("user paths are resolved against INIT_CWD when deno task set it, else the working directory", () => {
  const withInit = createContext(fakeRuntime({ DROPZONE_HOME: "/x", INIT_CWD: "/work/here" }).runtime, {
    quiet: false,
    verbose: false,
  });
  assert.equal(withInit.userPath("dz.lock"), "/work/here/dz.lock");
  assert.equal(withInit.userPath("/abs/f.tar"), "/abs/f.tar");
  const without = createContext(fakeRuntime({ DROPZONE_HOME: "/x" }).runtime, {
    quiet: false,
    verbose: false,
  });
  assert.equal(without.userPath("a/../b"), join(Deno.cwd(), "b"));
});

Deno.test("init creates the home, writes the marker and config once, and prints the PATH hint only the first time", async () => {
  await withDir(async (dir) => {
    const home = join(dir, "home");
    const first = fakeRuntime({ DROPZONE_HOME: home });
    const ctx: CliContext = createContext(first.runtime, { quiet: false, verbose: false });
    await ctx.init();
    await ctx.init(); // idempotent within one invocation
    for (const p of [HOME_MARKER, "bin", "packages", "cache", "config/config.yaml"]) {
      await Deno.lstat(join(home, p));
    }
    assert.equal(first.err.join("").match(/initialised/g)?.length, 1);
    assert.match(first.err.join(""), new RegExp(`export PATH="${home}/bin:\\$PATH"`));
    const config = await Deno.readTextFile(join(home, "config", "config.yaml"));

    // A second invocation: nothing printed, config kept as the user edited it, a deleted bin/ recreated.
    await Deno.writeTextFile(join(home, "config", "config.yaml"), config + "# mine\n");
    await Deno.remove(join(home, "bin"));
    const second = fakeRuntime({ DROPZONE_HOME: home });
    await createContext(second.runtime, { quiet: false, verbose: false }).init();
    assert.deepEqual(second.err, []);
    assert.match(await Deno.readTextFile(join(home, "config", "config.yaml")), /# mine\n$/);
    await Deno.lstat(join(home, "bin"));
  });
});

Deno.test("init refuses a non-empty directory dz did not create, and a home that is a file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
    const foreign = createContext(fakeRuntime({ DROPZONE_HOME: dir }).runtime, {
      quiet: false,
      verbose: false,
    });
    await assert.rejects(
      foreign.init(),
      (e: unknown) => e instanceof DropzoneError && e.code === "NOT_A_DZ_HOME",
    );
    await assert.rejects(Deno.lstat(join(dir, HOME_MARKER)), Deno.errors.NotFound);

    const file = join(dir, "notes.txt");
    const asFile = createContext(fakeRuntime({ DROPZONE_HOME: file }).runtime, {
      quiet: false,
      verbose: false,
    });
    await assert.rejects(asFile.init(), (e: unknown) => e instanceof DropzoneError && e.exitCode === 1);
  });
});

Deno.test("config() initialises the home first, then loads config.yaml once per invocation", async () => {
  await withDir(async (dir) => {
    const home = join(dir, "home");
    const ctx = createContext(fakeRuntime({ DROPZONE_HOME: home }).runtime, { quiet: true, verbose: false });
    const a = await ctx.config();
    await Deno.lstat(join(home, "config", "config.yaml"));
    assert.equal(a.config.registries[0]?.name, "chainguard");
    await Deno.writeTextFile(join(home, "config", "config.yaml"), "not: [valid");
    assert.equal(await ctx.config(), a, "the second call reuses the first load");
  });
});
