import assert from "node:assert/strict";
import meta from "../../deno.json" with { type: "json" };
import { compileArgs, PERMISSIONS } from "../../scripts/compile.ts";
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
