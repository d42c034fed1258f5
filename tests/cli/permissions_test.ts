import assert from "node:assert/strict";
import meta from "../../deno.json" with { type: "json" };
import { compileArgs, PERMISSIONS, RUN_FLAGS, V8_FLAGS, WORKER_ENTRIES } from "../../scripts/compile.ts";
import { DZ_RUN_FLAGS } from "../support/cli_harness.ts";

Deno.test("the dz task, the spawn tests and the compiled binary use the same permission and V8 flags", () => {
  assert.deepEqual(DZ_RUN_FLAGS, [...PERMISSIONS, ...V8_FLAGS]);
  const task = meta.tasks.dz.split(" ").filter((w) => w.startsWith("--"));
  assert.deepEqual(task, RUN_FLAGS);
});

Deno.test("the V8 flags are ones this deno accepts (a typo would fail every dz start)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", ...V8_FLAGS, "0"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.doesNotMatch(stderr, /unrecognized|unknown|error/i);
});

Deno.test("compileArgs() builds every target with fixed permissions, a frozen lockfile and no node_modules", () => {
  const args = compileArgs("aarch64-apple-darwin", "dist");
  for (const p of RUN_FLAGS) assert.ok(args.includes(p), p);
  assert.ok(args.includes("--frozen"));
  assert.ok(args.includes("--node-modules-dir=none"));
  assert.equal(args[args.indexOf("--target") + 1], "aarch64-apple-darwin");
  assert.equal(args[args.indexOf("--output") + 1], `dist/dz-${meta.version}-macos-arm64`);
  assert.equal(args.at(-1), "main.ts");
});

Deno.test("compileArgs() includes every Worker entry module that src/ starts, so the binary can start them", async () => {
  const started = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        for (const m of text.matchAll(/new Worker\(new URL\("\.\/([^"]+)", import\.meta\.url\)/g)) {
          started.add(`${dir}/${m[1]}`);
        }
      }
    }
  };
  await walk("src");
  assert.ok(started.size > 0, "the scan finds the extraction worker");
  assert.deepEqual([...started].sort(), [...WORKER_ENTRIES].sort());
  const args = compileArgs("x86_64-unknown-linux-gnu", "dist");
  for (const entry of WORKER_ENTRIES) assert.equal(args[args.indexOf(entry) - 1], "--include", entry);
});
