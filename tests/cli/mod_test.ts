/** runCli (src/cli/mod.ts): where errors become exit codes and stderr text, interrupts included. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../../src/cli/mod.ts";
import { removeTree } from "../../src/fs.ts";
import { ociHost, type Runtime } from "../../src/runtime.ts";
import { storeLayout } from "../../src/store/layout.ts";
import { installVersion } from "../support/store_fixtures.ts";

function runtimeFor(
  home: string,
  signal?: AbortSignal,
): { runtime: Runtime; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  const runtime: Runtime = {
    fetch: () => Promise.reject(new TypeError("no network in mod tests")),
    now: () => new Date("2026-12-01T00:00:00Z"),
    env: (name) => (name === "DROPZONE_HOME" ? home : undefined),
    homeDir: `${home}-user`,
    host: ociHost("linux", "x86_64"),
    stdout: { write: (t) => void (out += t), isTerminal: false },
    stderr: { write: (t) => void (err += t), isTerminal: false },
    stdinIsTerminal: false,
    readStdin: () => Promise.resolve(""),
    prompt: () => Promise.resolve(null),
    ...(signal ? { signal } : {}),
  };
  return { runtime, out: () => out, err: () => err };
}

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "dz-mod-" });
  try {
    await fn(join(root, "home"));
  } finally {
    await removeTree(root);
  }
}

Deno.test("a DropzoneError is one error: line and its hint with its code's exit code; --verbose adds the causes", async () => {
  await withHome(async (home) => {
    assert.equal(await runCli(["list"], runtimeFor(home).runtime), 0); // a dz home
    const jq = await installVersion(storeLayout(home), "jq", "1");
    await Deno.writeTextFile(join(jq.dir, "metadata.json"), "{");
    for (const verbose of [false, true]) {
      const r = runtimeFor(home);
      const code = await runCli([...(verbose ? ["-v"] : []), "info", "jq"], r.runtime);
      assert.equal(code, 1);
      assert.equal(r.out(), "");
      const lines = r.err().trimEnd().split("\n");
      assert.match(lines[0]!, /^error: Cannot read package metadata ".*metadata\.json": invalid JSON$/);
      assert.match(lines[1]!, /^hint: Run "dz doctor"/);
      assert.equal(lines.some((l) => l.startsWith("  caused by: ")), verbose, r.err());
      assert.doesNotMatch(r.err(), /bug in dz|\s{4}at /);
    }
  });
});

Deno.test("usage errors exit 2 and help exits 0, whatever commander throws", async () => {
  await withHome(async (home) => {
    const usage = runtimeFor(home);
    assert.equal(await runCli(["list", "--jsn"], usage.runtime), 2);
    assert.match(usage.err(), /^error: Unknown option "--jsn" for "dz list"$/m);
    const help = runtimeFor(home);
    assert.equal(await runCli(["list", "--help"], help.runtime), 0);
    assert.match(help.out(), /Usage: dz list/);
  });
});

Deno.test("an error raised after an interrupt is reported as the interrupt (exit 130), not as the error", async () => {
  await withHome(async (home) => {
    const interrupt = new AbortController();
    interrupt.abort(new DOMException("Interrupted", "AbortError"));
    const r = runtimeFor(home, interrupt.signal);
    const code = await runCli(["info", "nosuch"], r.runtime);
    assert.equal(code, 130);
    assert.equal(r.err().match(/^error: /gm)?.length, 1, r.err());
    assert.match(r.err(), /^error: interrupted; stopped and removed partial work$/m);
    assert.doesNotMatch(r.err(), /not installed/);
  });
});
