/** `dz completion <shell>` and the hidden `dz __complete <kind>` (src/cli/commands/completion.ts). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTree } from "../../../src/fs.ts";
import { storeLayout } from "../../../src/store/layout.ts";
import { runDz } from "../../support/cli_harness.ts";
import { installVersion } from "../../support/store_fixtures.ts";

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "dz-complete-" });
  try {
    await fn(join(root, "home"));
  } finally {
    await removeTree(root);
  }
}

Deno.test("dz completion prints each shell's script on stdout with its own header, and refuses other shells", async () => {
  await withHome(async (home) => {
    const headers = {
      bash: /^# bash completion for dz/,
      zsh: /^#compdef dz\n/,
      fish: /^# fish completion for dz/,
      powershell: /^# PowerShell completion for dz/,
    };
    for (const [shell, header] of Object.entries(headers)) {
      const r = await runDz(["completion", shell], { home });
      assert.equal(r.code, 0, shell);
      assert.match(r.stdout, header);
      assert.match(r.stdout, /dz __complete/, shell);
      assert.equal(r.stderr, "", shell);
    }
    const bad = await runDz(["completion", "tcsh"], { home });
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    // Completion never initialises the home.
    await assert.rejects(Deno.lstat(home), Deno.errors.NotFound);
  });
});

Deno.test("dz __complete packages prints installed names sorted, one a line, leaving out unreadable ones", async () => {
  await withHome(async (home) => {
    const layout = storeLayout(home);
    for (const name of ["yq", "jq", "b-tool"]) await installVersion(layout, name, "1");
    const broken = await installVersion(layout, "broken", "1");
    await Deno.writeTextFile(join(broken.dir, "metadata.json"), "{");
    const other = await installVersion(layout, "other", "1");
    await Deno.writeTextFile(
      join(other.dir, "metadata.json"),
      JSON.stringify({ ...other.metadata, name: "someone-else" }),
    );
    await Deno.mkdir(join(layout.packages, "nocurrent"));
    const r = await runDz(["__complete", "packages"], { home });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, "b-tool\njq\nyq\n", ""]);
  });
});

Deno.test("dz __complete stays silent and exits 0 without a home, with a broken config, or for an unknown kind", async () => {
  await withHome(async (home) => {
    for (const kind of ["packages", "registries", "bogus"]) {
      const r = await runDz(["__complete", kind], { home });
      // Without a config.yaml the registries are the seed's, which the first real command will write.
      const expected = kind === "registries" ? "chainguard\n" : "";
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, expected, ""], `missing home: ${kind}`);
    }
    await assert.rejects(Deno.lstat(home), Deno.errors.NotFound, "completion created the home");
    assert.equal((await runDz(["list"], { home })).code, 0);
    const registries = await runDz(["__complete", "registries"], { home });
    assert.deepEqual([registries.code, registries.stdout], [0, "chainguard\n"]);
    await Deno.writeTextFile(join(home, "config", "config.yaml"), "registries: [\n  - {{{\n");
    const broken = await runDz(["__complete", "registries"], { home });
    assert.deepEqual([broken.code, broken.stdout, broken.stderr], [0, "", ""]);
  });
});
