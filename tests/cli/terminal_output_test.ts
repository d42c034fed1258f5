/**
 * Remote-supplied text never reaches the terminal raw: tags, repository names and server error text with escape
 * sequences (OSC 52 clipboard writes, title changes, bidi overrides) from an in-process fake registry (real
 * registries restrict the tag charset), while --json keeps the exact values.
 */
import assert from "node:assert/strict";
import { runDz } from "../support/cli_harness.ts";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { buildImage } from "../support/image_builder.ts";
import { tempHome } from "../support/temp_home.ts";

const OSC52 = "\x1b]52;c;ZXZpbA==\x07"; // writes "evil" to the clipboard
const TITLE = "\x1b]0;pwned\x1b\\";
const BIDI = "\u202E";

/** Any byte or character a terminal would act on: C0 (but TAB/LF), DEL, C1, bidi controls. */
// deno-lint-ignore no-control-regex
const DANGEROUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

Deno.test("dz tags and dz search print hostile names escaped; --json has the exact values", async () => {
  await using reg = await startFakeRegistry();
  await using home = await tempHome();
  const img = await buildImage();
  const hostileTag = `v1${OSC52}`;
  const bidiTag = `v2${BIDI}exe.txt`;
  for (const tag of ["1.0", hostileTag, bidiTag]) {
    await reg.putManifest("team/app", tag, img.manifestBytes, img.mediaType);
  }
  await reg.putManifest(`team/x${TITLE}`, "latest", img.manifestBytes, img.mediaType);

  const text = await runDz(["tags", `${reg.host}/team/app`], { home: home.path });
  assert.equal(text.code, 0, text.stderr);
  assert.doesNotMatch(text.stdout + text.stderr, DANGEROUS);
  assert.ok(text.stdout.includes("v1\\u001b]52;c;ZXZpbA==\\u0007\n"), text.stdout);
  assert.ok(text.stdout.includes("v2\\u202eexe.txt\n"), text.stdout);

  const data = await runDz(["tags", `${reg.host}/team/app`, "--json"], { home: home.path });
  assert.equal(data.code, 0, data.stderr);
  assert.doesNotMatch(data.stdout, DANGEROUS, "even --json is safe to print on a terminal");
  const tags: string[] = JSON.parse(data.stdout).tags;
  assert.ok(tags.includes(hostileTag) && tags.includes(bidiTag), JSON.stringify(tags));

  const add = await runDz(["add", "registry", "fake", reg.host], { home: home.path });
  assert.equal(add.code, 0, add.stderr);
  const search = await runDz(["search", "x", "--registry", "fake"], { home: home.path });
  assert.equal(search.code, 0, search.stderr);
  assert.doesNotMatch(search.stdout + search.stderr, DANGEROUS);
  assert.match(search.stdout, /team\/x\\u001b\]0;pwned\\u001b\\/);
  const searchJson = await runDz(["search", "x", "--registry", "fake", "--json"], { home: home.path });
  assert.deepEqual(JSON.parse(searchJson.stdout).repositories, [`team/x${TITLE}`]);
});

Deno.test("server error text with escape sequences is printed escaped, on stderr and in hints", async () => {
  await using reg = await startFakeRegistry();
  await using home = await tempHome();
  reg.behaviour.failWith = {
    status: 500,
    code: "UNKNOWN",
    message: `boom${OSC52}${TITLE} see ${BIDI}txt.exe`,
  };
  for (
    const argv of [["tags", `${reg.host}/team/app`], ["install", `${reg.host}/team/app`, "--allow-unsigned"]]
  ) {
    for (const verbose of [[], ["--verbose"]]) {
      const r = await runDz([...argv, ...verbose], { home: home.path });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^error: .*boom/m);
      assert.doesNotMatch(
        r.stdout + r.stderr,
        DANGEROUS,
        `${argv[0]} ${verbose}: ${JSON.stringify(r.stderr)}`,
      );
    }
  }
});
