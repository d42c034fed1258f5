import assert from "node:assert/strict";
import { readCurrent } from "../../../src/store/packages.ts";
import { runDz } from "../../support/cli_harness.ts";
import { runWrapper, startE2E } from "../../support/e2e.ts";
import { installVersion } from "../../support/store_fixtures.ts";
import { tempHome } from "../../support/temp_home.ts";

Deno.test("dz rollback: history-stack semantics, --to N and digest prefix, wrappers regenerated per version", async () => {
  await using env = await startE2E();
  const wrapper = `${env.home}/bin/cat`;
  const say = `${env.home}/bin/say`;
  const v1 = await env.publish("cat", "latest", "v1\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);

  const nothing = await env.dz(["rollback", "cat"]);
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /^error: Cannot roll back "cat": no previous version/m);
  assert.match(nothing.stderr, /^hint: /m);

  // v2 adds a second wrapper; v1 does not have it.
  const v2 = await env.publish("cat", "latest", "v2\n");
  const i2 = await env.dz(["install", "lab/cat", "--bin", "/usr/bin/echo:say"]);
  assert.equal(i2.code, 0, i2.stderr);
  assert.equal((await runWrapper(say, ["hi"])).stdout, "hi\n");
  const v3 = await env.publish("cat", "latest", "v3\n");
  const u3 = await env.dz(["update", "cat", "--yes"]);
  assert.equal(u3.code, 0, u3.stderr);
  assert.equal((await runWrapper(wrapper)).stdout, "v3\n");
  assert.equal((await runWrapper(say, ["kept"])).stdout, "kept\n", "update keeps the extra --bin wrappers");

  // v3 → v2 → v1: a stack, not a toggle between the two newest.
  const r1 = await env.dz(["rollback", "cat"]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stderr, new RegExp(`Rolled cat back to latest \\(${v2.digest.slice(0, 19)}\\)`));
  assert.equal((await runWrapper(wrapper)).stdout, "v2\n");
  const r2 = await env.dz(["rollback", "cat"]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal((await runWrapper(wrapper)).stdout, "v1\n");
  await assert.rejects(() => Deno.lstat(say), Deno.errors.NotFound, "v1 has no `say` wrapper");

  // Forward again by digest prefix (sha256: form) restores the extra wrapper of that version.
  const fwd = await env.dz(["rollback", "cat", "--to", v3.digest.slice(0, 7 + 8)]);
  assert.equal(fwd.code, 0, fwd.stderr);
  assert.equal((await runWrapper(wrapper)).stdout, "v3\n");
  assert.equal((await runWrapper(say, ["back"])).stdout, "back\n");

  // --to N steps back through the history.
  const steps = await env.dz(["rollback", "cat", "--to", "2"]);
  assert.equal(steps.code, 0, steps.stderr);
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.ok([v1.digest, v2.digest].includes(info.digest));
  assert.equal((await runWrapper(wrapper)).stdout, info.digest === v1.digest ? "v1\n" : "v2\n");

  const tooFar = await env.dz(["rollback", "cat", "--to", "9"]);
  assert.equal(tooFar.code, 2);
  assert.match(tooFar.stderr, /hint: /);
});

Deno.test("dz rollback refusals: not installed (exit 1), bad or out-of-range --to (exit 2), no name (exit 2)", async () => {
  await using home = await tempHome();
  const v1 = await installVersion(home.layout, "jq", "1.6");
  const v2 = await installVersion(home.layout, "jq", "1.7");
  const cases: [string[], number, RegExp][] = [
    [["rollback", "nope"], 1, /^error: "nope" is not installed$/m],
    [
      ["rollback", "jq", "--to", "5"],
      2,
      /^error: Cannot roll back "jq" 5 steps: only 1 previous version\(s\) are installed$/m,
    ],
    [["rollback", "jq", "--to", "0"], 2, /^error: Invalid rollback step count "0": expected 1 or more$/m],
    [["rollback", "jq", "--to", "sha256:zz"], 2, /^error: Invalid rollback target "sha256:zz"/m],
    [["rollback"], 2, /^error: Missing required argument 'name'$/m],
  ];
  for (const [argv, code, message] of cases) {
    const r = await runDz(argv, { home: home.path });
    assert.equal(r.code, code, `${argv.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, message, argv.join(" "));
    assert.match(r.stderr, /^hint: /m);
  }
  assert.equal(
    (await readCurrent(home.layout, "jq"))?.digest,
    v2.digest,
    "a refused rollback changes nothing",
  );
  assert.notEqual(v1.digest, v2.digest);
});
