/** Tests for src/app/pin.ts: pinning and unpinning installed packages, and the refusal for pinned updates. */
import assert from "node:assert/strict";
import { pinnedError, pinPackage, unpinPackage } from "../../src/app/pin.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { readPin } from "../../src/store/pins.ts";
import { installVersion } from "../support/store_fixtures.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("pinPackage() records the current digest once; unpinPackage() removes it once", async () => {
  await using home = await tempHome();
  const installed = await installVersion(home.layout, "jq", "1.7");
  const now = new Date("2026-11-22T10:00:00Z");
  const first = await pinPackage(home.layout, "jq", now);
  assert.deepEqual(first, { name: "jq", changed: true, digest: installed.digest });
  const pin = await readPin(home.layout, "jq");
  assert.equal(pin?.digest, installed.digest);
  const again = await pinPackage(home.layout, "jq", new Date("2026-11-23T10:00:00Z"));
  assert.deepEqual(again, { name: "jq", changed: false, digest: installed.digest });
  assert.deepEqual(await readPin(home.layout, "jq"), pin, "pinning twice does not rewrite the pin");
  assert.deepEqual(await unpinPackage(home.layout, "jq"), {
    name: "jq",
    changed: true,
    digest: installed.digest,
  });
  assert.equal(await readPin(home.layout, "jq"), undefined);
  assert.equal((await unpinPackage(home.layout, "jq")).changed, false);
});

Deno.test("pin and unpin of a package that is not installed fail NOT_INSTALLED with a hint and write nothing", async () => {
  await using home = await tempHome();
  for (
    const op of [() => pinPackage(home.layout, "nope", new Date()), () => unpinPackage(home.layout, "nope")]
  ) {
    await assert.rejects(
      op(),
      (err) => isDropzoneError(err, "NOT_INSTALLED") && /dz list/.test(err.hint ?? ""),
    );
  }
  assert.equal(await readPin(home.layout, "nope"), undefined);
});

Deno.test("pinnedError() names the package and says how to unpin it", () => {
  const err = pinnedError("jq");
  assert.ok(isDropzoneError(err, "PINNED"));
  assert.match(err.message, /"jq" is pinned/);
  assert.match(err.hint ?? "", /dz unpin jq/);
});
