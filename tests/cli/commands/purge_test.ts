/** `dz purge` through the CLI harness: confirmation, --yes, --dry-run, refusals (exit 1) and what it says. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { exists } from "../../../src/fs.ts";
import { runDz } from "../../support/cli_harness.ts";
import { tempHome } from "../../support/temp_home.ts";
import { installVersion } from "../../support/store_fixtures.ts";

Deno.test("dz purge asks on a terminal, refuses without one unless --yes, and says what it kept", async () => {
  await using user = await tempHome({ marker: false });
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  await Deno.writeTextFile(join(home.path, "notes.txt"), "mine");
  const opts = { home: home.path, userHome: user.path };

  const piped = await runDz(["purge"], opts);
  assert.equal(piped.code, 1);
  assert.match(piped.stderr, /: not confirmed\nhint: Pass --yes to confirm without a terminal\n$/);
  const no = await runDz(["purge"], { ...opts, answers: ["n"] });
  assert.equal(no.code, 1);
  assert.match(
    no.stderr,
    /^Delete .* \(all packages, wrappers, cache and config\)\? \[y\/N\]: error: Aborted\n/,
  );
  assert.ok(await exists(home.layout.packages), "nothing deleted");

  const yes = await runDz(["purge", "--yes"], opts);
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal(yes.stdout, "");
  assert.equal(
    yes.stderr,
    `Purged dz's files from ${home.path}; kept what dz did not create: notes.txt ` +
      `(remove them yourself if you no longer need them)\n`,
  );
  assert.equal(await exists(home.layout.packages), false);

  await Deno.remove(join(home.path, "notes.txt"));
  const all = await runDz(["purge", "--yes"], opts);
  assert.equal(all.stderr, `Purged ${home.path}\n`);
  const gone = await runDz(["purge", "--yes"], opts);
  assert.equal(gone.code, 0);
  assert.equal(gone.stderr, `Nothing to purge: ${home.path} does not exist\n`);
});

Deno.test("dz purge --dry-run lists packages and exits 0 with nothing changed; a foreign home is refused with exit 1", async () => {
  await using user = await tempHome({ marker: false });
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const dry = await runDz(["purge", "--dry-run"], { home: home.path, userHome: user.path });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(
    dry.stderr,
    `Would delete from ${home.path}: 1 package(s) (cat), their wrappers, the cache, config.yaml and saved ` +
      "credentials\nDry run: nothing was changed\n",
  );
  assert.ok(await exists(home.layout.packages));

  await using foreign = await tempHome({ marker: false });
  await Deno.writeTextFile(join(foreign.path, "thesis.tex"), "precious");
  const refused = await runDz(["purge", "--yes"], { home: foreign.path, userHome: user.path });
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^error: Cannot purge .*: it has no .*\.dropzone-home marker\nhint: dz only deletes/,
  );
  assert.ok(await exists(join(foreign.path, "thesis.tex")));
});
