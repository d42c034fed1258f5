/**
 * Damaged packages (issue 11 items 6 and 7): corrupt metadata, a dangling `current` and a deleted rootfs are
 * shown by `list` and `update --check` instead of vanishing, `remove` removes them, `doctor --fix` says exactly
 * what it changed (an earlier version is never chosen silently), and a deleted rootfs is unpacked again by a
 * reinstall or by `doctor --fix`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runWrapper, startE2E } from "../support/e2e.ts";

const versionDir = (home: string, name: string, digest: string) =>
  join(home, "packages", name, digest.replace(":", "-"));
const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

Deno.test("damaged packages show in list, list --json and update --check, and remove removes them", async () => {
  await using env = await startE2E();
  const corrupt = await env.publish("corrupt", "latest", "c\n");
  const dangling = await env.publish("dangling", "latest", "d\n");
  await env.publish("fine", "latest", "f\n");
  for (const n of ["corrupt", "dangling", "fine"]) {
    assert.equal((await env.dz(["install", `lab/${n}`])).code, 0);
  }
  await Deno.writeTextFile(
    join(versionDir(env.home, "corrupt", corrupt.digest), "metadata.json"),
    "{ not json",
  );
  await Deno.remove(versionDir(env.home, "dangling", dangling.digest), { recursive: true });

  const rows = JSON.parse((await env.dz(["list", "--json"])).stdout);
  assert.deepEqual(rows.map((r: { name: string; state: string }) => [r.name, r.state]), [
    ["corrupt", "damaged"],
    ["dangling", "damaged"],
    ["fine", "ok"],
  ]);
  assert.match(rows[0].reason, /metadata\.json is corrupt/);
  assert.equal(rows[0].digest, corrupt.digest);
  assert.match(rows[1].reason, /current points at sha256:[0-9a-f]{12}, which is missing/);
  assert.equal(rows[2].reason, null);

  const table = await env.dz(["list"]);
  assert.match(
    table.stdout,
    /^corrupt .*DAMAGED: current version sha256:[0-9a-f]{12}: its metadata\.json is corrupt/m,
  );
  assert.match(table.stdout, /^dangling .*DAMAGED: current points at/m);
  assert.match(table.stderr, /2 damaged package\(s\): corrupt, dangling; run "dz doctor --fix"/);

  const check = await env.dz(["update", "--check", "--json"]);
  const byName = new Map(JSON.parse(check.stdout).map((c: { name: string }) => [c.name, c]));
  assert.match((byName.get("corrupt") as { error: string }).error, /^damaged: .*dz remove corrupt/);
  assert.match((byName.get("dangling") as { error: string }).error, /^damaged: /);
  assert.equal((byName.get("fine") as { error: null }).error, null);
  assert.equal(check.code, 1, "a check that cannot run fails the command");

  for (const n of ["corrupt", "dangling"]) {
    const removed = await env.dz(["remove", n, "--yes"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stderr, new RegExp(`Removed ${n} \\(it was damaged: `));
    assert.ok(!(await exists(join(env.home, "packages", n))), `${n}: package dir gone`);
    assert.ok(!(await exists(join(env.home, "bin", n))), `${n}: wrapper gone`);
  }
  assert.deepEqual(
    JSON.parse((await env.dz(["list", "--json"])).stdout).map((r: { name: string }) => r.name),
    [
      "fine",
    ],
  );
});

Deno.test("doctor --fix says when it goes back to an earlier version, and which", async () => {
  await using env = await startE2E();
  const v1 = await env.publish("tool", "latest", "v1\n");
  assert.equal((await env.dz(["install", "lab/tool"])).code, 0);
  const v2 = await env.publish("tool", "latest", "v2\n");
  assert.equal((await env.dz(["update", "tool", "--yes"])).code, 0);
  await Deno.writeTextFile(join(versionDir(env.home, "tool", v2.digest), "metadata.json"), "[]");

  const fixed = await env.dz(["doctor", "--fix", "--json"]);
  const changes = JSON.parse(fixed.stdout).fixed as { kind: string; message: string }[];
  const repoint = changes.find((c) => c.kind === "repointed-current");
  assert.ok(repoint, fixed.stdout);
  assert.match(repoint.message, new RegExp(`from sha256-${v2.digest.slice(7)}, which is damaged`));
  assert.match(repoint.message, new RegExp(`to the EARLIER version ${v1.digest} \\(latest, installed `));
  assert.match(repoint.message, /"dz update tool"/);
  const text = await env.dz(["doctor"]);
  assert.match(text.stdout, /corrupt metadata/, "the damaged newer version is still reported");
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "v1\n");
});

Deno.test("a deleted rootfs is unpacked again by reinstalling the same ref or by doctor --fix", async () => {
  await using env = await startE2E();
  const pub = await env.publish("tool", "latest", "works\n");
  assert.equal((await env.dz(["install", "lab/tool"])).code, 0);
  const rootfs = join(versionDir(env.home, "tool", pub.digest), "rootfs");

  await Deno.remove(rootfs, { recursive: true });
  const row = JSON.parse((await env.dz(["list", "--json"])).stdout)[0];
  assert.equal(row.state, "damaged");
  assert.match(row.reason, /the rootfs of sha256:[0-9a-f]{12} is missing/);
  const reinstall = await env.dz(["install", "lab/tool"]);
  assert.equal(reinstall.code, 0, reinstall.stderr);
  assert.match(reinstall.stderr, /Repaired tool latest \(sha256:[0-9a-f]{12}\): unpacked it again/);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "works\n");

  // doctor reports it as fixable from the cache and --fix repairs it offline.
  await Deno.remove(join(rootfs, "usr", "bin", "echo"));
  const before = JSON.parse((await env.dz(["doctor", "--json"])).stdout);
  const damaged = before.findings.filter((f: { kind: string }) => f.kind === "damaged-rootfs");
  assert.equal(damaged.length, 1, JSON.stringify(before));
  assert.equal(damaged[0].fixable, true);
  assert.ok(!before.findings.some((f: { kind: string }) => f.kind === "unplannable-wrapper"));
  assert.match((await env.dz(["doctor"])).stdout, /\/usr\/bin\/echo is missing from the rootfs/);
  await env.registry.stop();
  const fixed = await env.dz(["doctor", "--fix"]);
  assert.match(fixed.stdout, /unpacked "tool" sha256:[0-9a-f]{64} again from the blob cache/);
  assert.equal((await runWrapper(`${env.home}/bin/tool`)).stdout, "works\n");
  assert.ok(
    !JSON.parse((await env.dz(["doctor", "--json"])).stdout).findings.some((f: { kind: string }) =>
      f.kind === "damaged-rootfs"
    ),
  );

  // Without the blobs doctor cannot repair it and says how to.
  await Deno.remove(join(rootfs, "usr", "bin", "echo"));
  await Deno.remove(join(env.home, "cache", "blobs", "sha256", pub.image.layers[0]!.digest.slice(7)));
  const after = JSON.parse((await env.dz(["doctor", "--json"])).stdout);
  const left = after.findings.find((f: { kind: string }) => f.kind === "damaged-rootfs");
  assert.equal(left.fixable, false);
  assert.match(left.message, /reinstall it with "dz install /);
});
