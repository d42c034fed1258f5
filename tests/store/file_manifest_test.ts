import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  checkFiles,
  isIntact,
  manifestOfTree,
  readFileManifest,
  writeFileManifest,
} from "../../src/store/file_manifest.ts";
import type { UnpackedFile } from "../../src/store/file_manifest.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

Deno.test("checkFiles reports modified content, size and mode, missing and extra files", async () => {
  const version = await Deno.makeTempDir({ prefix: "dz-files-" });
  const root = `${version}/rootfs`;
  try {
    const files: UnpackedFile[] = [];
    for (
      const [path, text, mode] of [["a", "aaa", 0o644], ["b", "bbb", 0o755], ["c", "ccc", 0o644], [
        "d/e",
        "eee",
        0o644,
      ], ["f", "fff", 0o644]] as const
    ) {
      await Deno.mkdir(`${root}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, text, { mode });
      await Deno.chmod(`${root}/${path}`, mode);
      files.push({ path, sha256: sha(text), size: text.length, mode });
    }
    await writeFileManifest(version, files);
    assert.deepEqual(await readFileManifest(version), files);
    const clean = await checkFiles(root, files);
    assert.ok(isIntact(clean));
    assert.equal(clean.checked, 5);

    await Deno.writeTextFile(`${root}/a`, "AAA"); // same size, other bytes
    await Deno.chmod(`${root}/b`, 0o777);
    await Deno.writeTextFile(`${root}/c`, "longer"); // size
    await Deno.remove(`${root}/d/e`);
    await Deno.remove(`${root}/f`);
    await Deno.symlink("a", `${root}/f`); // now a symlink
    await Deno.writeTextFile(`${root}/d/new`, "x");
    const check = await checkFiles(root, files);
    assert.deepEqual(check.modified, [
      { path: "a", changes: ["content"] },
      { path: "b", changes: ["mode"] },
      { path: "c", changes: ["size"] },
      { path: "f", changes: ["type"] },
    ]);
    assert.deepEqual(check.missing, ["d/e"]);
    assert.deepEqual(check.extra, ["d/new"]);
    assert.ok(!isIntact(check));
  } finally {
    await Deno.remove(version, { recursive: true });
  }
});

Deno.test("readFileManifest: absent is undefined, garbage is an IO error with a hint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dz-files-" });
  try {
    assert.equal(await readFileManifest(dir), undefined);
    await Deno.writeTextFile(`${dir}/files.json`, "{");
    await assert.rejects(() => readFileManifest(dir), /not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifestOfTree records every regular file with its sha256, size and mode, and nothing else", async () => {
  const root = await Deno.makeTempDir({ prefix: "dz-files-" });
  try {
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/bin/tool`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.chmod(`${root}/usr/bin/tool`, 0o755);
    await Deno.writeTextFile(`${root}/etc`, "e");
    await Deno.chmod(`${root}/etc`, 0o600);
    await Deno.symlink("usr/bin/tool", `${root}/link`);
    await Deno.link(`${root}/etc`, `${root}/hard`);
    const files = await manifestOfTree(root);
    assert.deepEqual(files, [
      { path: "etc", sha256: sha("e"), size: 1, mode: 0o600 },
      { path: "hard", sha256: sha("e"), size: 1, mode: 0o600 },
      { path: "usr/bin/tool", sha256: sha("#!/bin/sh\n"), size: 10, mode: 0o755 },
    ]);
    assert.ok(isIntact(await checkFiles(root, files)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
