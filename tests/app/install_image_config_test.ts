/** The saved image config: written once into staging, read back and parsed, damage reported with its path. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import {
  IMAGE_CONFIG_FILE,
  parseSavedImageConfig,
  readImageConfig,
  writeImageConfig,
} from "../../src/app/install_image_config.ts";
import { tempHome } from "../support/temp_home.ts";

Deno.test("parseSavedImageConfig() reads the entrypoint, env and platform of a saved config", () => {
  const config = parseSavedImageConfig(
    JSON.stringify({ os: "linux", architecture: "arm64", config: { Entrypoint: ["/jq"], Env: ["A=1"] } }),
    "/x/image-config.json",
  );
  assert.equal(config.os, "linux");
  assert.equal(config.architecture, "arm64");
  assert.deepEqual(config.config.Entrypoint, ["/jq"]);
  assert.deepEqual(config.config.Env, ["A=1"]);
});

Deno.test("parseSavedImageConfig() reports damage as IO naming the file, for each way it can be wrong", () => {
  for (
    const [text, why] of [
      ["{", /not valid JSON/],
      ["[1]", /must be a JSON object/],
      [JSON.stringify({ config: { Entrypoint: "/bin/sh" } }), /Entrypoint must be a list of strings/],
      [JSON.stringify({ config: { Env: [1] } }), /Env must be a list of strings/],
    ] as const
  ) {
    assert.throws(
      () => parseSavedImageConfig(text, "/x/image-config.json"),
      (err) =>
        isDropzoneError(err, "IO") && err.message.includes('"/x/image-config.json"') && why.test(err.message),
      text,
    );
  }
});

Deno.test("writeImageConfig() keeps the exact bytes; readImageConfig() reads them back; a missing file is named", async () => {
  await using home = await tempHome();
  const bytes = new TextEncoder().encode('{ "os": "linux", "config": { "Cmd": ["sh"] } }');
  await writeImageConfig(home.path, bytes);
  assert.deepEqual(await Deno.readFile(join(home.path, IMAGE_CONFIG_FILE)), bytes);
  assert.deepEqual((await readImageConfig(home.path)).config.Cmd, ["sh"]);
  await assert.rejects(() => writeImageConfig(home.path, bytes), "written once: a second write is refused");

  const empty = join(home.path, "other");
  await Deno.mkdir(empty);
  await assert.rejects(
    () => readImageConfig(empty),
    (err) =>
      isDropzoneError(err, "IO") && err.message.includes(join(empty, IMAGE_CONFIG_FILE)) &&
      /missing/.test(err.message),
  );
});
