import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { applyLayer, createRootfsState, finalizeRootfs } from "../../src/unpack/extract.ts";
import { fileManifestCollector, type UnpackedFile } from "../../src/unpack/file_sink.ts";
import { buildTar, dir, file, hardlink, type RawEntry, streamOf, symlink } from "../support/tar_writer.ts";
import { snapshot, tempDir } from "./_helpers.ts";

/** The manifest of a tree computed the slow way: walk it and hash every regular file. */
async function oracle(root: string): Promise<UnpackedFile[]> {
  const out: UnpackedFile[] = [];
  for (const [path, node] of await snapshot(root)) {
    if (node.type !== "file") continue;
    const bytes = await Deno.readFile(`${root}/${path}`);
    out.push({
      path,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
      mode: node.mode! & 0o777,
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

Deno.test("fileManifestCollector: later reports win, links copy the target, removals drop subtrees", () => {
  const c = fileManifestCollector();
  const f = (path: string, sha256: string) => ({ path, sha256, size: 1, mode: 0o644 });
  c.file(f("a/x", "1"));
  c.file(f("a/y", "2"));
  c.file(f("ab", "3"));
  c.file(f("a/x", "4"));
  c.linked("l", "a/y");
  c.linked("s", "nowhere");
  c.removed("a");
  assert.deepEqual(c.entries(), [f("ab", "3"), f("l", "2")]);
});

Deno.test("the unpacker reports exactly the regular files of the final tree, with their sha256 and mode", async () => {
  await using tmp = await tempDir();
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251); // streamed, not buffered
  const layers: RawEntry[][] = [
    [
      dir("etc"),
      file("etc/keep", "keep\n"),
      file("etc/replaced", "old\n"),
      file("etc/gone", "gone\n"),
      dir("opt"),
      file("opt/old", "old\n"),
      file("usr-big", big, 0o755),
      file("secret", "s\n", 0o600),
    ],
    [
      file("etc/replaced", "new content\n", 0o640),
      file("etc/.wh.gone"),
      file("opt/.wh..wh..opq"),
      file("opt/new", "new\n"),
      hardlink("etc/link", "etc/keep"),
      symlink("etc/sym", "keep"),
      dir("secret"), // a directory replaces a file
    ],
  ];
  const files = fileManifestCollector();
  const state = createRootfsState();
  for (const entries of layers) {
    await applyLayer(streamOf(buildTar(entries), 4096), tmp.path, { state, files });
  }
  await finalizeRootfs(tmp.path, state);
  const expected = await oracle(tmp.path);
  assert.deepEqual(files.entries(), expected);
  assert.deepEqual(expected.map((f) => f.path), [
    "etc/keep",
    "etc/link",
    "etc/replaced",
    "opt/new",
    "usr-big",
  ]);
});
