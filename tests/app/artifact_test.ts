import assert from "node:assert/strict";
import { join } from "node:path";
import { artifactLinks, restoreArtifactLinks, stageArtifact } from "../../src/app/artifact.ts";
import { artifactFiles, TITLE_ANNOTATION } from "../../src/oci/artifact.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import { ociHost } from "../../src/runtime.ts";
import { openBlobCache } from "../../src/store/blob_cache.ts";
import { storeLayout } from "../../src/store/layout.ts";
import { buildTar, compress } from "../support/image_builder.ts";
import { sampleMetadata } from "../support/store_fixtures.ts";

const HOST = ociHost(Deno.build.os, Deno.build.arch);

async function cached(dir: string, bytes: Uint8Array, title: string) {
  const cache = openBlobCache(join(dir, "blobs"));
  const digest = await sha256Digest(bytes);
  await cache.putStream(digest, bytes.length, new Blob([bytes as BlobPart]).stream());
  const [file] = artifactFiles({
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest,
      size: bytes.length,
      annotations: { [TITLE_ANNOTATION]: title },
    }],
  }, "test");
  return { cache, file: file! };
}

Deno.test("artifactLinks() points bin/<name> at packages/<name>/current/rootfs/<file>", async () => {
  const layout = storeLayout("/home/me/.dropzone");
  const meta = await sampleMetadata("tool", "1", {
    kind: "artifact",
    bins: [{ name: "tool", path: "/tool-linux-amd64" }],
  });
  assert.deepEqual(artifactLinks(layout, meta), [{
    name: "tool",
    path: "/home/me/.dropzone/bin/tool",
    target: "/home/me/.dropzone/packages/tool/current/rootfs/tool-linux-amd64",
  }]);
});

Deno.test("stageArtifact() writes a plain file executable, and finds the binary inside a tarball by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dz-stage-" });
  try {
    const busybox = await Deno.readFile("/bin/busybox");
    const plain = await cached(dir, busybox, "busybox");
    const link = await stageArtifact({ ...plain, rootfs: join(dir, "a"), name: "busybox", host: HOST });
    assert.equal(link.path, "/busybox");
    assert.equal(link.kind, "elf-static");
    assert.equal(((await Deno.stat(join(dir, "a/busybox"))).mode ?? 0) & 0o777, 0o755);

    const tgz = await compress(
      buildTar([
        { type: "file", path: "pkg/LICENSE", content: "MIT", mode: 0o644 },
        { type: "file", path: "pkg/bin/busybox", content: busybox, mode: 0o644 },
      ]),
      "gzip",
    );
    const archive = await cached(dir, tgz, "busybox-linux.tar.gz");
    const inner = await stageArtifact({ ...archive, rootfs: join(dir, "b"), name: "busybox", host: HOST });
    assert.equal(inner.path, "/pkg/bin/busybox", "found by name even without an executable bit");
    assert.equal(
      ((await Deno.stat(join(dir, "b/pkg/bin/busybox"))).mode ?? 0) & 0o111,
      0o111,
      "made executable",
    );

    const none = await cached(
      dir,
      await compress(
        buildTar([{ type: "file", path: "a", content: "x" }, { type: "file", path: "b", content: "y" }]),
        "gzip",
      ),
      "other.tgz",
    );
    await assert.rejects(
      stageArtifact({ ...none, rootfs: join(dir, "c"), name: "busybox", host: HOST }),
      /Cannot choose the executable in "other\.tgz"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restoreArtifactLinks() rewrites only a missing or repointed link", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-links-" });
  try {
    const layout = storeLayout(home);
    const meta = await sampleMetadata("tool", "1", {
      kind: "artifact",
      bins: [{ name: "tool", path: "/tool" }],
    });
    assert.deepEqual(await restoreArtifactLinks(layout, meta), [join(home, "bin/tool")]);
    assert.deepEqual(await restoreArtifactLinks(layout, meta), [], "already right");
    await Deno.remove(join(home, "bin/tool"));
    await Deno.symlink(join(home, "packages/tool/current/rootfs/old"), join(home, "bin/tool"));
    assert.deepEqual(await restoreArtifactLinks(layout, meta), [join(home, "bin/tool")]);
    assert.equal(
      await Deno.readLink(join(home, "bin/tool")),
      join(home, "packages/tool/current/rootfs/tool"),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
