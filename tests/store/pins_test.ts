/** Package pins: written atomically beside the package, read back, fail safe when damaged, removed with the package. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import { packageDir, removePackage } from "../../src/store/packages.ts";
import { PIN_FILE, pinnedNames, readPin, removePin, writePin } from "../../src/store/pins.ts";
import { tempHome } from "../support/temp_home.ts";
import { installVersion } from "../support/store_fixtures.ts";

const NOW = new Date(Date.UTC(2026, 11, 1, 15, 20));

Deno.test("writePin() records the digest and time; readPin() reads them back; removePin() says whether one was there", async () => {
  await using home = await tempHome();
  const v = await installVersion(home.layout, "cat", "1");
  assert.equal(await readPin(home.layout, "cat"), undefined);
  await writePin(home.layout, "cat", v.digest, NOW);
  assert.deepEqual(await readPin(home.layout, "cat"), {
    version: 1,
    pinned_at: "2026-12-01T15:20:00.000Z",
    digest: v.digest,
  });
  const names = (await Array.fromAsync(Deno.readDir(packageDir(home.layout, "cat")))).map((e) => e.name);
  assert.ok(names.includes(PIN_FILE));
  assert.ok(!names.some((n) => n.includes(".tmp")), "no temp file left by the atomic write");
  assert.equal(await removePin(home.layout, "cat"), true);
  assert.equal(await readPin(home.layout, "cat"), undefined);
  assert.equal(await removePin(home.layout, "cat"), false, "nothing to remove the second time");
});

Deno.test("a pin file that cannot be parsed still pins (dz never updates a package whose pin it cannot read)", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  for (const text of ["{not json", "[]", '{"digest": 7}']) {
    await Deno.writeTextFile(join(packageDir(home.layout, "cat"), PIN_FILE), text);
    const pin = await readPin(home.layout, "cat");
    assert.ok(pin !== undefined, text);
    assert.equal(pin.digest, "", text);
  }
});

Deno.test("pinnedNames() picks the pinned packages; a pin goes with its package", async () => {
  await using home = await tempHome();
  const cat = await installVersion(home.layout, "cat", "1");
  await installVersion(home.layout, "dog", "1");
  await writePin(home.layout, "cat", cat.digest, NOW);
  assert.deepEqual(await pinnedNames(home.layout, ["cat", "dog", "never-installed"]), new Set(["cat"]));
  await removePackage(home.layout, "cat");
  assert.deepEqual(await pinnedNames(home.layout, ["cat", "dog"]), new Set());
});

Deno.test("removePin() reports a failure other than a missing pin as an I/O error naming the file", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  // A directory where pin.json belongs cannot be removed with a plain unlink.
  await Deno.mkdir(join(packageDir(home.layout, "cat"), PIN_FILE, "inside"), { recursive: true });
  await assert.rejects(
    () => removePin(home.layout, "cat"),
    (err) => isDropzoneError(err) && /pin\.json/.test(err.message),
  );
});
