import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Digest } from "../../src/oci/digest.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { activate, listPackages, readCurrent, readHistory } from "../../src/store/packages.ts";
import { repairStore, scanStore, type StoreFinding } from "../../src/store/recovery.ts";
import type { StoreLayout } from "../../src/store/layout.ts";
import { tempHome } from "../support/temp_home.ts";
import { spawnDeno } from "./_child.ts";
import { entrypointText, installVersion, sampleMetadata } from "../support/store_fixtures.ts";

const CRASH_CHILD = new URL("./_crash_child.ts", import.meta.url);

async function putBlob(layout: StoreLayout, text: string) {
  const bytes = new TextEncoder().encode(text);
  const digest = await sha256Digest(bytes);
  await openBlobCache(layout.blobs).putStream(digest, bytes.length, ReadableStream.from([bytes]));
  return digest;
}

Deno.test("scanStore() reports nothing for a healthy store", async () => {
  await using home = await tempHome();
  assert.deepEqual(await scanStore(home.layout), []);
  const v1 = await installVersion(home.layout, "jq", "1");
  await installVersion(home.layout, "jq", "2");
  const layer = v1.metadata.layers[0]!;
  const bytes = new TextEncoder().encode("layer jq 1");
  assert.equal(await sha256Digest(bytes), layer);
  await openBlobCache(home.layout.blobs).putStream(layer, bytes.length, ReadableStream.from([bytes]));
  assert.deepEqual(await scanStore(home.layout), []);
});

Deno.test("scanStore() finds every kind of damage and repairStore() applies the safe fixes", async () => {
  await using home = await tempHome();
  const { layout } = home;
  // leftovers
  const jq1 = await installVersion(layout, "jq", "1");
  const jq2 = await installVersion(layout, "jq", "2");
  await Deno.mkdir(join(layout.packages, "jq", ".staging-abc", "rootfs"), { recursive: true });
  await Deno.writeTextFile(join(layout.packages, "jq", ".tmp-history.json-1"), "{");
  await Deno.mkdir(join(layout.packages, ".trash-old-1"));
  await Deno.mkdir(layout.blobs, { recursive: true });
  await Deno.writeTextFile(join(layout.blobs, ".tmp-deadbeef-1"), "partial");
  // broken current: points at a removed version; history says jq2 then jq1 is older
  await Deno.remove(jq2.dir, { recursive: true });
  // incomplete version dir (no metadata.json)
  const incomplete = (await sampleMetadata("jq", "9")).digest;
  await Deno.mkdir(join(layout.packages, "jq", `sha256-${incomplete.slice(7)}`, "rootfs"), {
    recursive: true,
  });
  // no current, but a complete version
  const yq = await installVersion(layout, "yq", "1");
  await Deno.remove(join(layout.packages, "yq", "current"));
  // corrupt metadata in a non-current version
  await installVersion(layout, "zq", "1");
  const zq2 = await installVersion(layout, "zq", "2");
  const zq1Dir = join(layout.packages, "zq", `sha256-${(await sampleMetadata("zq", "1")).digest.slice(7)}`);
  await Deno.writeTextFile(join(zq1Dir, "metadata.json"), "{ broken");
  // a package dir with nothing usable
  const empty = (await sampleMetadata("gone", "1")).digest;
  await Deno.mkdir(join(layout.packages, "gone", `sha256-${empty.slice(7)}`), { recursive: true });
  // unreferenced blob
  const orphan = await putBlob(layout, "nobody uses me");

  const findings = await scanStore(layout);
  const kinds = (kind: StoreFinding["kind"]) => findings.filter((f) => f.kind === kind);
  assert.deepEqual(
    kinds("leftover").map((f) => (f as { path: string }).path).sort(),
    [
      join(layout.blobs, ".tmp-deadbeef-1"),
      join(layout.packages, ".trash-old-1"),
      join(layout.packages, "jq", ".staging-abc"),
      join(layout.packages, "jq", ".tmp-history.json-1"),
    ].sort(),
  );
  assert.deepEqual(kinds("broken-current"), [{
    kind: "broken-current",
    name: "jq",
    target: `sha256-${jq2.digest.slice(7)}`,
  }]);
  assert.deepEqual(kinds("no-current").map((f) => (f as { name: string }).name), ["gone", "yq"]);
  assert.deepEqual(kinds("incomplete-version").map((f) => (f as { name: string }).name), ["gone", "jq"]);
  assert.equal(kinds("corrupt-metadata").length, 1);
  assert.ok((kinds("corrupt-metadata")[0] as { message: string }).message.includes("invalid JSON"));
  assert.deepEqual(kinds("unreferenced-blob"), [{ kind: "unreferenced-blob", digest: orphan, size: 14 }]);

  const changes = await repairStore(layout, findings);
  assert.ok(
    changes.some((c) => c.kind === "repointed-current" && c.name === "jq" && c.digest === jq1.digest),
  );
  assert.ok(changes.some((c) => c.kind === "repointed-current" && c.name === "yq" && c.digest === yq.digest));
  assert.ok(changes.some((c) => c.kind === "removed-empty-package" && c.name === "gone"));
  assert.ok(changes.some((c) => c.kind === "removed-incomplete-version" && c.name === "jq"));
  assert.ok(!changes.some((c) => c.kind === "removed-blob"));

  const after = await scanStore(layout);
  assert.deepEqual(after.map((f) => f.kind).sort(), ["corrupt-metadata", "unreferenced-blob"]);
  assert.deepEqual((await readCurrent(layout, "jq"))?.digest, jq1.digest);
  assert.deepEqual((await readCurrent(layout, "zq"))?.digest, zq2.digest);
  assert.deepEqual((await listPackages(layout)).map((p) => p.name), ["jq", "yq", "zq"]);

  const blobChanges = await repairStore(layout, after, { removeUnreferencedBlobs: true });
  assert.deepEqual(blobChanges, [{ kind: "removed-blob", digest: orphan, size: 14 }]);
});

interface CrashCase {
  scenario: "update" | "rollback" | "prune" | "remove";
  step: string;
  /** Versions installed before the child runs. */
  setup: string[];
  /** Which version must be current right after the crash (undefined = package gone). */
  expect: (string | undefined)[];
}

const CRASH_CASES: CrashCase[] = [
  { scenario: "update", step: "commit:before-metadata", setup: ["1"], expect: ["1"] },
  { scenario: "update", step: "write:metadata.json", setup: ["1"], expect: ["1"] },
  { scenario: "update", step: "commit:before-rename", setup: ["1"], expect: ["1"] },
  { scenario: "update", step: "commit:after-rename", setup: ["1"], expect: ["1"] },
  { scenario: "update", step: "symlink:current", setup: ["1"], expect: ["1"] },
  { scenario: "update", step: "activate:after-flip", setup: ["1"], expect: ["2"] },
  { scenario: "update", step: "write:history.json", setup: ["1"], expect: ["2"] },
  { scenario: "rollback", step: "symlink:current", setup: ["1", "2", "3"], expect: ["3"] },
  { scenario: "rollback", step: "activate:after-flip", setup: ["1", "2", "3"], expect: ["1"] },
  { scenario: "rollback", step: "write:history.json", setup: ["1", "2", "3"], expect: ["1"] },
  { scenario: "prune", step: "prune:after-trash", setup: ["1", "2", "3"], expect: ["3"] },
  { scenario: "prune", step: "prune:before-history", setup: ["1", "2", "3"], expect: ["3"] },
  { scenario: "prune", step: "write:history.json", setup: ["1", "2", "3"], expect: ["3"] },
  { scenario: "remove", step: "remove:after-trash", setup: ["1", "2"], expect: [undefined] },
];

Deno.test("commitVersion(), activate(), prune() and removePackage() survive SIGKILL at every step", async (t) => {
  for (const c of CRASH_CASES) {
    await t.step(`${c.scenario} killed at ${c.step}`, async () => {
      await using home = await tempHome();
      const { layout } = home;
      for (const v of c.setup) await installVersion(layout, "tool", v);
      {
        await using child = spawnDeno(CRASH_CHILD, [home.path, c.scenario, c.step]);
        assert.equal(await child.waitForLine("at "), `at ${c.step}`);
        child.kill("SIGKILL");
        assert.equal((await child.status).signal, "SIGKILL");
      }
      // Right after the crash: the package is usable (or, for remove, entirely gone).
      const current = await readCurrent(layout, "tool");
      const expected = c.expect[0];
      if (expected === undefined) {
        assert.equal(current, undefined);
      } else {
        assert.equal(current?.metadata.tag, expected);
        assert.equal(await entrypointText(current!), `#!/bin/sh\necho tool ${expected}\n`);
      }
      // doctor --fix cleans up, and the store is consistent afterwards.
      const findings = await scanStore(layout);
      await repairStore(layout, findings);
      assert.deepEqual(await scanStore(layout), []);
      assert.equal((await readCurrent(layout, "tool"))?.metadata.tag, expected);
      if (c.scenario === "remove") {
        assert.deepEqual(await Array.fromAsync(Deno.readDir(layout.packages)), []);
      }
      if (c.scenario === "update") {
        // Retrying the interrupted update in-process succeeds from whatever state the crash left.
        await using retry = spawnDeno(CRASH_CHILD, [home.path, "update", "none"]);
        await retry.waitForLine("done");
        const now = await readCurrent(layout, "tool");
        assert.equal(now?.metadata.tag, "2");
        assert.equal((await readHistory(layout, "tool")).length, 2);
        assert.deepEqual(await scanStore(layout), []);
      }
    });
  }
});

Deno.test("activate() after a crash between flip and history keeps rollback working", async () => {
  await using home = await tempHome();
  const v1 = await installVersion(home.layout, "tool", "1");
  const v2 = await installVersion(home.layout, "tool", "2");
  // Simulate the state left by a crash after the flip: current = v1, history still ends at v2.
  await Deno.remove(join(home.layout.packages, "tool", "current"));
  await Deno.symlink(`sha256-${v1.digest.slice(7)}`, join(home.layout.packages, "tool", "current"));
  await activate(home.layout, "tool", v1.digest);
  assert.deepEqual(await readHistory(home.layout, "tool"), [v1.digest, v2.digest, v1.digest]);
});

Deno.test("repairStore() refuses to delete a leftover outside the store", async () => {
  await using home = await tempHome();
  await assert.rejects(repairStore(home.layout, [{ kind: "leftover", path: "/etc" }]), TypeError);
  await assert.rejects(
    repairStore(home.layout, [{ kind: "leftover", path: join(home.layout.packages, "..", "config") }]),
    TypeError,
  );
});

Deno.test("scanStore() reports a current that is a plain file as broken-current, not as an unexpected error", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "jq", "1");
  const link = join(home.layout.packages, "jq", "current");
  await Deno.remove(link);
  await Deno.writeTextFile(link, "not a link");
  const findings = await scanStore(home.layout);
  assert.deepEqual(findings.filter((f) => f.kind === "broken-current"), [
    { kind: "broken-current", name: "jq", target: "(not a symlink)" },
  ]);
});
