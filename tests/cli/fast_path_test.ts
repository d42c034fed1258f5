/** The start-up fast path (main.ts → src/cli/fast_path.ts) answers exactly as the full command tree does. */
import assert from "node:assert/strict";
import { HOME_MARKER, storeLayout } from "../../src/store/layout.ts";
import { removeTree } from "../../src/fs.ts";
import { runDz, spawnDz } from "../support/cli_harness.ts";
import { installVersion } from "../support/store_fixtures.ts";

Deno.test("dz --version, __complete packages and list [--json] print the same through the fast path as through the full CLI", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-fast-" });
  try {
    await Deno.writeTextFile(`${home}/${HOME_MARKER}`, "");
    await runDz(["list"], { home }); // seed config.yaml like any first run
    for (const name of ["jq", "yq", "b-tool"]) await installVersion(storeLayout(home), name, "1");
    // Left out by both paths: a package whose current is dangling, one without current, a staging leftover.
    await Deno.mkdir(`${home}/packages/dangling`);
    await Deno.symlink(`sha256-${"0".repeat(64)}`, `${home}/packages/dangling/current`);
    await Deno.mkdir(`${home}/packages/nocurrent`);
    await Deno.mkdir(`${home}/packages/.staging-x`);
    for (const argv of [["--version"], ["-V"], ["__complete", "packages"], ["list"], ["list", "--json"]]) {
      const fast = await spawnDz(argv, { home });
      const full = await runDz(argv, { home });
      assert.deepEqual(fast, full, argv.join(" "));
      assert.notEqual(fast.stdout, "", argv.join(" "));
    }
  } finally {
    await removeTree(home);
  }
});

Deno.test("dz list through the fast path initialises a fresh home like the full CLI", async () => {
  const homes = [
    await Deno.makeTempDir({ prefix: "dz-fast-" }),
    await Deno.makeTempDir({ prefix: "dz-fast-" }),
  ];
  try {
    const fast = await spawnDz(["list"], { home: homes[0]! });
    const full = await runDz(["list"], { home: homes[1]! });
    assert.equal(fast.code, full.code);
    assert.equal(fast.stdout, full.stdout);
    assert.equal(fast.stderr.replaceAll(homes[0]!, "HOME"), full.stderr.replaceAll(homes[1]!, "HOME"));
    assert.match(fast.stderr, /initialised/);
    await Deno.lstat(`${homes[0]}/config/config.yaml`);
  } finally {
    for (const h of homes) await removeTree(h);
  }
});
