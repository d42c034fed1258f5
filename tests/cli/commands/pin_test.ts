/** Tests for src/cli/commands/pin.ts: `dz pin` and `dz unpin` messages, idempotence and errors. */
import assert from "node:assert/strict";
import { readPin } from "../../../src/store/pins.ts";
import { runDz } from "../../support/cli_harness.ts";
import { installVersion } from "../../support/store_fixtures.ts";
import { tempHome } from "../../support/temp_home.ts";

Deno.test("dz pin / unpin: messages on stderr only, idempotent, and the pin file follows", async () => {
  await using home = await tempHome();
  const jq = await installVersion(home.layout, "jq", "1.7");
  const dz = (argv: string[]) => runDz(argv, { home: home.path });
  const steps: [string[], RegExp, boolean][] = [
    [
      ["pin", "jq"],
      new RegExp(
        `^Pinned jq at ${jq.digest.slice(0, 19)}; "dz update --all" and "dz update --yes" skip it$`,
        "m",
      ),
      true,
    ],
    [["pin", "jq"], /^jq is already pinned$/m, true],
    [["unpin", "jq"], /^Unpinned jq; dz update may update it again$/m, false],
    [["unpin", "jq"], /^jq was not pinned$/m, false],
  ];
  for (const [argv, message, pinned] of steps) {
    const r = await dz(argv);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "", "pin prints no data");
    assert.match(r.stderr, message, argv.join(" "));
    assert.equal((await readPin(home.layout, "jq")) !== undefined, pinned, argv.join(" "));
  }
});

Deno.test("dz pin of a package that is not installed: exit 1 with a hint; a missing name is a usage error", async () => {
  await using home = await tempHome();
  for (const cmd of ["pin", "unpin"]) {
    const r = await runDz([cmd, "nope"], { home: home.path });
    assert.equal(r.code, 1, cmd);
    assert.match(r.stderr, /^error: "nope" is not installed$/m);
    assert.match(r.stderr, /^hint: Run "dz list"/m);
    assert.equal((await runDz([cmd], { home: home.path })).code, 2);
  }
});
