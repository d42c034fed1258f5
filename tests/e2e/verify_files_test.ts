/**
 * `dz verify NAME --files` (issue 11 item 10): the per-file sha256 manifest recorded at unpack time finds
 * modified, missing and extra files (exit 3), and `dz run` never reuses a cached tree that no longer matches it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnDz } from "../support/cli_harness.ts";
import { startE2E } from "../support/e2e.ts";

Deno.test("dz verify --files finds modified, missing and extra files and exits 3", async () => {
  await using env = await startE2E();
  const pub = await env.publish("tool", "latest", "tool\n", {
    extraEntries: [{ type: "file", path: "etc/conf", content: "a=1\n" }],
  });
  assert.equal((await env.dz(["install", "lab/tool"])).code, 0);
  const version = join(env.home, "packages", "tool", pub.digest.replace(":", "-"));
  const manifest = JSON.parse(await Deno.readTextFile(join(version, "files.json")));
  assert.equal(manifest.schema_version, 1);
  assert.ok(manifest.files.some((f: { path: string }) => f.path === "usr/bin/echo"));

  const clean = await env.dz(["verify", "tool", "--files"]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(
    clean.stdout,
    new RegExp(`^tool sha256:[0-9a-f]{12}: ${manifest.files.length} files checked\\nAll files match\\.\\n$`),
  );

  const rootfs = join(version, "rootfs");
  await Deno.writeTextFile(join(rootfs, "etc/conf"), "a=2\n"); // same size
  await Deno.remove(join(rootfs, "etc/release"));
  await Deno.writeTextFile(join(rootfs, "etc/added"), "x\n");
  const dirty = await env.dz(["verify", "tool", "--files"]);
  assert.equal(dirty.code, 3, dirty.stderr);
  assert.match(dirty.stdout, /^modified {4}etc\/conf {2}\(content\)$/m);
  assert.match(dirty.stdout, /^missing {5}etc\/release$/m);
  assert.match(dirty.stdout, /^extra {7}etc\/added$/m);
  assert.match(dirty.stderr, /^error: 3 file\(s\) of "tool" differ from what was installed/m);
  const report = JSON.parse((await env.dz(["verify", "tool", "--files", "--json"])).stdout);
  assert.deepEqual(report.modified, [{ path: "etc/conf", changes: ["content"] }]);
  assert.deepEqual([report.missing, report.extra, report.intact], [["etc/release"], ["etc/added"], false]);
});

Deno.test("dz run checks its cached tree before reuse and unpacks a modified one again", async () => {
  await using env = await startE2E();
  const pub = await env.publish("hello", "latest", "hello\n");
  const childEnv = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DZ_NO_TUF: "1" };
  const first = await spawnDz(["run", "lab/hello"], { home: env.home, env: childEnv });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "hello\n");
  const cached = join(env.home, "cache", "run", pub.digest.replace(":", "-"), "current");
  assert.ok((await Deno.stat(join(cached, "files.json"))).isFile);

  const again = await spawnDz(["run", "lab/hello"], { home: env.home, env: childEnv });
  assert.equal(again.stdout, "hello\n");
  assert.doesNotMatch(again.stderr, /could not be reused/);

  // Replace the program in the cache: the next run must not execute it.
  await Deno.remove(join(cached, "rootfs/usr/bin/echo"));
  await Deno.writeTextFile(join(cached, "rootfs/usr/bin/echo"), "#!/bin/sh\necho tampered\n", {
    mode: 0o755,
  });
  const tampered = await spawnDz(["run", "lab/hello"], { home: env.home, env: childEnv });
  assert.equal(tampered.code, 0, tampered.stderr);
  assert.equal(tampered.stdout, "hello\n");
  assert.match(tampered.stderr, /the cached copy could not be reused and was unpacked again: 1 modified/);
});
