import assert from "node:assert/strict";
import meta from "../../deno.json" with { type: "json" };
import { compileArgs, PERMISSIONS, WORKER_ENTRIES } from "../../scripts/compile.ts";
import { DZ_PERMISSIONS } from "../support/cli_harness.ts";

Deno.test("the dz task, the spawn tests and the compiled binary use the same permission flags", () => {
  assert.deepEqual(DZ_PERMISSIONS, PERMISSIONS);
  const task = meta.tasks.dz.split(" ").filter((w) => w.startsWith("--"));
  assert.deepEqual(task, PERMISSIONS);
});

Deno.test("compileArgs() builds every target with fixed permissions, a frozen lockfile and no node_modules", () => {
  const args = compileArgs("aarch64-apple-darwin", "dist");
  for (const p of PERMISSIONS) assert.ok(args.includes(p), p);
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
