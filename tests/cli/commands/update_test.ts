/** `dz update` (src/cli/commands/update.ts) end to end: drift detection, tag tracks, consent, failures, exit codes. */
import assert from "node:assert/strict";
import { runWrapper, startE2E } from "../../support/e2e.ts";

Deno.test("dz update: same-tag rebuild is detected by index digest, applied, then no drift; rollback restores", async () => {
  await using env = await startE2E();
  const v1 = await env.publish("cat", "latest", "release one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const wrapper = `${env.home}/bin/cat`;

  // Nothing changed: a multi-arch (index) install must not report a rebuild (the Go tool did, forever).
  const clean = await env.dz(["update", "--check"]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^NAME\s+INSTALLED\s+AVAILABLE\s+REASON\n/);
  assert.match(clean.stdout, /cat\s+latest \(sha256:[0-9a-f]{12}\)\s+up to date/);

  const v2 = await env.publish("cat", "latest", "release two\n");
  const check = await env.dz(["update", "--check"]);
  assert.equal(check.code, 100, check.stderr);
  assert.match(check.stdout, /same-tag rebuild/);

  const js = await env.dz(["update", "--check", "--json"]);
  assert.equal(js.code, 100);
  const rows = JSON.parse(js.stdout);
  assert.deepEqual(rows, [{
    name: "cat",
    tag: "latest",
    installed_digest: v1.digest,
    installed_index_digest: v1.indexDigest,
    current_digest: v2.indexDigest,
    rebuild: true,
    newer_tags: [],
    target_tag: "latest",
    downgrade: false,
    error: null,
    pinned: false,
  }]);

  // Plain `dz update` only reports and hints --yes.
  const plain = await env.dz(["update"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /--yes/);
  assert.equal((await runWrapper(wrapper)).stdout, "release one\n");

  // --all without --yes off a terminal refuses.
  const refused = await env.dz(["update", "--all"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /hint: .*--yes/);

  const applied = await env.dz(["update", "cat", "--yes"]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stderr, /Updated cat to latest/);
  assert.equal((await runWrapper(wrapper)).stdout, "release two\n");

  const after = await env.dz(["update", "--check", "--json"]);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  const afterRows = JSON.parse(after.stdout);
  assert.equal(afterRows[0].rebuild, false);
  assert.equal(afterRows[0].installed_digest, v2.digest);
  assert.equal(afterRows[0].installed_index_digest, v2.indexDigest);

  const back = await env.dz(["rollback", "cat"]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(back.stdout, "");
  assert.match(back.stderr, new RegExp(`Rolled cat back to latest \\(${v1.digest.slice(0, 19)}\\)`));
  assert.equal((await runWrapper(wrapper)).stdout, "release one\n");
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.digest, v1.digest);

  const forward = await env.dz(["rollback", "cat", "--to", v2.digest.slice("sha256:".length, 7 + 10)]);
  assert.equal(forward.code, 0, forward.stderr);
  assert.equal((await runWrapper(wrapper)).stdout, "release two\n");

  const bad = await env.dz(["rollback", "cat", "--to", "ffffffff"]);
  assert.equal(bad.code, 2);
  const missing = await env.dz(["rollback", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not installed/);
  const notInstalled = await env.dz(["update", "nope", "--check"]);
  assert.equal(notInstalled.code, 1);
  assert.match(notInstalled.stderr, /"nope" is not installed/);
});

Deno.test("dz update: newer tags stay in the track (1.10 > 1.2-dev), latest never jumps, tag moves need consent", async () => {
  await using env = await startE2E();
  await env.publish("tool", "1.0", "one oh\n");
  await env.publish("floating", "latest", "floating\n");
  assert.equal((await env.dz(["install", "lab/tool:1.0"])).code, 0);
  assert.equal((await env.dz(["install", "lab/floating"])).code, 0);
  await env.publish("tool", "1.1", "one one\n");
  await env.publish("tool", "1.10", "one ten\n");
  await env.publish("tool", "1.2-dev", "dev\n");
  await env.publish("tool", "1.9", "one nine\n");
  await env.publish("floating", "1.0", "versioned\n");

  const js = await env.dz(["update", "--check", "--json"]);
  assert.equal(js.code, 100, js.stderr);
  const rows = Object.fromEntries(JSON.parse(js.stdout).map((r: { name: string }) => [r.name, r]));
  assert.deepEqual(rows.tool.newer_tags, ["1.1", "1.9", "1.10"]);
  assert.equal(rows.tool.target_tag, "1.10");
  assert.equal(rows.tool.rebuild, false);
  assert.deepEqual(rows.floating.newer_tags, []);
  assert.equal(rows.floating.target_tag, null);

  const table = await env.dz(["update", "--check"]);
  assert.match(table.stdout, /tool\s+1\.0 \(sha256:[0-9a-f]{12}\)\s+1\.1, 1\.9, 1\.10\s+newer tag/);

  // Without a name or --all, --yes applies rebuilds only: no tag move without consent.
  const implicit = await env.dz(["update", "--yes"]);
  assert.equal(implicit.code, 0, implicit.stderr);
  assert.match(implicit.stderr, /dz update <name> --yes/);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "one oh\n");

  const explicit = await env.dz(["update", "tool", "--yes"]);
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "one ten\n");
  assert.equal((await runWrapper(`${env.home}/bin/floating`)).stdout, "floating\n");
  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.equal(info.tag, "1.10");
  const again = await env.dz(["update", "--check"]);
  assert.equal(again.code, 0, again.stdout);
});

Deno.test("dz update: an unsigned new digest fails with exit 3 and keeps the old version; other packages still update", async () => {
  await using env = await startE2E();
  await env.publish("cat", "latest", "signed one\n");
  await env.publish("dog", "latest", "dog one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  assert.equal((await env.dz(["install", "lab/dog"])).code, 0);
  await env.publish("cat", "latest", "evil two\n", { sign: "none" });
  await env.publish("dog", "latest", "dog two\n");

  const r = await env.dz(["update", "--all", "--yes"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^error: .*signature/m);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "signed one\n");
  assert.equal((await runWrapper(`${env.home}/bin/dog`)).stdout, "dog two\n");
  // --allow-unsigned never bypasses a policy.
  const bypass = await env.dz(["update", "cat", "--yes", "--allow-unsigned"]);
  assert.equal(bypass.code, 3);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "signed one\n");

  // A registry that cannot be reached: the check could not run → exit 1 (no update found), reason shown.
  await env.registry.stop();
  const down = await env.dz(["update", "dog", "--check", "--json"], { DZ_HTTP_TIMEOUT_MS: "2000" });
  assert.equal(down.code, 1, down.stderr);
  const rows = JSON.parse(down.stdout);
  assert.equal(typeof rows[0].error, "string");
  assert.equal(rows[0].current_digest, null);
  const table = await env.dz(["update", "dog", "--check"], { DZ_HTTP_TIMEOUT_MS: "2000" });
  assert.match(table.stdout, /<unreachable>/);
});

Deno.test("dz update of an --allow-unsigned install works without the flag (the choice is recorded)", async () => {
  await using env = await startE2E();
  await env.publish("adhoc", "latest", "ad hoc one\n", { sign: "none" });
  assert.equal((await env.dz(["remove", "registry", "lab"])).code, 0);
  const ref = `${env.registry.host}/apps/adhoc`;
  assert.equal((await env.dz(["install", ref, "--allow-unsigned"])).code, 0);
  await env.publish("adhoc", "latest", "ad hoc two\n", { sign: "none" });
  const check = await env.dz(["update", "--check", "--json"]);
  assert.equal(check.code, 100, check.stderr);
  assert.equal(JSON.parse(check.stdout)[0].rebuild, true);
  const r = await env.dz(["update", "adhoc", "--yes"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/adhoc`)).stdout, "ad hoc two\n");
  const list = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.equal(list[0].allow_unsigned, true);
  assert.equal((await env.dz(["update", "--check"])).code, 0);
});

Deno.test("dz update reads the target's manifests and signatures once: its install re-verifies what the preview read", async () => {
  await using env = await startE2E({ accessLog: true });
  await env.publish("cat", "latest", "release one\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const v2 = await env.publish("cat", "latest", "release two\n");
  const before = env.registry.requests().length;
  const r = await env.dz(["update", "cat", "--yes"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Verified signature: /, "the install step verified the signature and said so");
  const asked = env.registry.requests().slice(before).filter((q) => q.userAgent.startsWith("dz/"));
  const count = (path: string) => asked.filter((q) => q.method === "GET" && q.path === path).length;
  const hex = (d: string) => d.slice("sha256:".length);
  assert.equal(count("/v2/apps/cat/manifests/latest"), 1, "the tag, read by the preview");
  assert.equal(count(`/v2/apps/cat/manifests/${v2.digest}`), 1);
  assert.equal(count(`/v2/apps/cat/manifests/sha256-${hex(v2.indexDigest)}.sig`), 1);
  assert.equal(count(`/v2/apps/cat/manifests/sha256-${hex(v2.digest)}.sig`), 1);
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.digest, v2.digest);
});
