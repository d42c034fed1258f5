/**
 * `dz rollback` (src/app/rollback.ts): `--to` parsing, and rolling back to a version `keep_versions` pruned,
 * which is reinstalled from its recorded source through the install gate, reusing blobs and layer snapshots.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseRollbackTo } from "../../src/app/rollback.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { spawnDz } from "../support/cli_harness.ts";
import { httpStore } from "../support/cosign_signer.ts";
import { type E2E, runWrapper, startE2E } from "../support/e2e.ts";

Deno.test("parseRollbackTo() reads up to three digits as steps and anything else as a digest or prefix", () => {
  const cases: [string | undefined, number | string | undefined][] = [
    [undefined, undefined],
    ["1", 1],
    [" 12 ", 12],
    ["999", 999],
    ["1234", "1234"],
    ["sha256:abcd", "sha256:abcd"],
    [" abcd ", "abcd"],
  ];
  for (const [input, want] of cases) assert.equal(parseRollbackTo(input), want, `input ${input}`);
});

/** Keeps no previous version, so every update prunes the one it replaces. */
async function keepNoVersions(env: E2E): Promise<void> {
  const path = `${env.home}/config/config.yaml`;
  await Deno.writeTextFile(path, (await Deno.readTextFile(path)) + "keep_versions: 0\n");
}

/** v1 installed, then v2 installed over it with keep_versions: 0 (v1 pruned, its receipt kept). */
async function prunedV1(env: E2E) {
  await keepNoVersions(env);
  const v1 = await env.publish("cat", "latest", "v1\n");
  assert.equal((await env.dz(["install", "lab/cat"])).code, 0);
  const v2 = await env.publish("cat", "latest", "v2\n");
  const up = await env.dz(["update", "cat", "--yes"]);
  assert.equal(up.code, 0, up.stderr);
  await assert.rejects(
    () => Deno.lstat(join(env.home, "packages", "cat", v1.digest.replace(":", "-"))),
    Deno.errors.NotFound,
    "v1 was pruned",
  );
  return { v1, v2 };
}

async function snapshotDirs(home: string): Promise<Map<string, number | null>> {
  const dir = join(home, "cache", "layers");
  const out = new Map<string, number | null>();
  for await (const e of Deno.readDir(dir)) {
    out.set(e.name, (await Deno.lstat(join(dir, e.name))).mtime?.getTime() ?? null);
  }
  return out;
}

/** Runs dz as a child process with DZ_PROFILE=1 (the spans go to the process's stderr). */
function profiled(env: E2E, argv: string[]) {
  return spawnDz(argv, { home: env.home, env: { DZ_NO_TUF: "1", DZ_PROFILE: "1" } });
}

function blobGets(env: E2E, digests: readonly Digest[]): string[] {
  return env.registry.requests()
    .filter((q) => q.method === "GET" && digests.some((d) => q.path.endsWith(`/blobs/${d}`)))
    .map((q) => q.path);
}

Deno.test("dz rollback --to a pruned digest reinstalls it from snapshots: nothing downloaded or extracted", async () => {
  await using env = await startE2E({ accessLog: true });
  const { v1, v2 } = await prunedV1(env);
  const before = await snapshotDirs(env.home);
  const layers = v1.image.layers.map((l) => l.digest);
  const gets = blobGets(env, layers).length;

  // One step back has nothing kept; the hint names the pruned digest to roll back to.
  const step = await env.dz(["rollback", "cat"]);
  assert.equal(step.code, 1, step.stderr);
  assert.match(step.stderr, new RegExp(`^hint: .*"dz rollback cat --to ${v1.digest.slice(0, 19)}"`, "m"));

  const r = await profiled(env, ["rollback", "cat", "--to", v1.digest.slice(7, 19)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`Rolled cat back to latest \\(${v1.digest.slice(0, 19)}\\)`));
  assert.match(
    r.stderr,
    /Reinstalled from \S+\/apps\/cat \(keep_versions had pruned it\); signature verified/,
  );
  assert.match(r.stderr, /Layers: +2 reused from the layer cache, 0 extracted/);
  assert.doesNotMatch(r.stderr, /profile: extract-layer/, "no layer extracted");
  assert.match(r.stderr, /profile: verify /, "the signature was verified again");
  assert.deepEqual(await snapshotDirs(env.home), before, "no snapshot created or replaced");
  assert.equal(blobGets(env, layers).length, gets, "no layer blob downloaded");
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v1\n");

  // Recorded like a rollback: v1 is current with its tag; v2 (pruned now, keep_versions: 0) comes back the same way.
  const info = JSON.parse((await env.dz(["info", "cat", "--json"])).stdout);
  assert.equal(info.digest, v1.digest);
  assert.equal(info.tag, "latest");
  const back = await env.dz(["rollback", "cat", "--to", v2.digest]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v2\n");

  // A digest that was never installed keeps the ordinary error.
  const never = await env.dz(["rollback", "cat", "--to", "abcdef0123"]);
  assert.equal(never.code, 2, never.stderr);
  assert.match(never.stderr, /^error: Cannot roll back "cat" to "abcdef0123": no such version is installed/m);
  assert.match(never.stderr, /^hint: /m);
});

Deno.test("dz rollback --to a pruned digest whose blobs gc removed downloads and extracts them again", async () => {
  await using env = await startE2E({ accessLog: true });
  const { v1 } = await prunedV1(env);
  const gc = await env.dz(["gc"]);
  assert.equal(gc.code, 0, gc.stderr);
  const top = v1.image.layers[1]!.digest;
  const gets = blobGets(env, [top]).length;

  const r = await profiled(env, ["rollback", "cat", "--to", v1.digest]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Layers: +1 reused from the layer cache, 1 extracted/);
  assert.match(r.stderr, /profile: extract-layer /);
  assert.equal(blobGets(env, [top]).length, gets + 1, "v1's own layer downloaded again");
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v1\n");
});

Deno.test("dz rollback --to a pruned digest with its blobs gone and the registry unreachable fails with exit 1", async () => {
  await using env = await startE2E();
  const { v1 } = await prunedV1(env);
  assert.equal((await env.dz(["gc"])).code, 0);
  await env.registry.stop();

  const r = await env.dz(["rollback", "cat", "--to", v1.digest]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: /m);
  assert.match(r.stderr, /^hint: /m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v2\n", "v2 stays current");
  const leftovers = (await Array.fromAsync(Deno.readDir(join(env.home, "packages", "cat")), (e) => e.name))
    .filter((n) => n.startsWith("."));
  assert.deepEqual(leftovers, []);
});

Deno.test("dz rollback --to a pruned digest whose signature was tampered with is refused with exit 3", async () => {
  await using env = await startE2E();
  const { v1 } = await prunedV1(env);
  // Flip a character of every signature on v1 (index and platform digest): the bytes no longer verify.
  const store = httpStore(env.registry);
  for (const digest of [v1.indexDigest, v1.digest]) {
    const tag = `sha256-${digest.slice(7)}.sig`;
    const doc = JSON.parse(new TextDecoder().decode((await store.getManifestBytes("apps/cat", tag))!));
    for (const layer of doc.layers) {
      const sig: string = layer.annotations["dev.cosignproject.cosign/signature"];
      layer.annotations["dev.cosignproject.cosign/signature"] = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    }
    await store.putManifest("apps/cat", tag, new TextEncoder().encode(JSON.stringify(doc)), doc.mediaType);
  }

  const r = await env.dz(["rollback", "cat", "--to", v1.digest]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^error: /m);
  assert.equal((await runWrapper(`${env.home}/bin/cat`)).stdout, "v2\n", "v2 stays current");
  await assert.rejects(
    () => Deno.lstat(join(env.home, "packages", "cat", v1.digest.replace(":", "-"))),
    Deno.errors.NotFound,
  );
});
