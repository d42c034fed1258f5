/**
 * Differential test: the same multi-layer OCI image unpacked by `umoci unpack --rootless` and by dz's
 * openLayer + applyLayer must give the same tree (types, contents, relative link targets, modes & 0o777,
 * hardlink groups). Absolute symlinks are left out on purpose: dz rewrites them (covered in extract_test.ts).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { openLayerStore } from "../../src/store/layer_store.ts";
import { applyLayer, applySnapshot, createRootfsState, finalizeRootfs } from "../../src/unpack/extract.ts";
import { openLayer } from "../../src/unpack/layer.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { sha256Digest } from "../../src/oci/digest.ts";
import {
  buildTar,
  dir,
  file,
  hardlink,
  type RawEntry,
  streamOf,
  symlink,
  withGnuLongNames,
  withPax,
} from "../support/tar_writer.ts";
import { type NodeInfo, snapshot, tempDir } from "../support/unpack_fixtures.ts";

const LONG = `${"l".repeat(110)}/${"m".repeat(110)}/${"n".repeat(60)}`;

const LAYERS: Array<Array<RawEntry | RawEntry[]>> = [
  [
    dir("etc/"),
    file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
    file("etc/shadow", "root:*:1::::::\n", 0o000),
    file("etc/group", "root:x:0:\n", 0o664),
    dir("usr/"),
    dir("usr/bin/"),
    file("usr/bin/tool", "#!/bin/sh\necho v1\n", 0o755),
    hardlink("usr/bin/tool-alias", "usr/bin/tool"),
    hardlink("usr/bin/tool-alias2", "usr/bin/tool"),
    symlink("usr/bin/t", "tool"),
    file("usr/bin/su", "su", 0o4755),
    dir("usr/lib/"),
    file("usr/lib/libx.so.1", "ELF...", 0o644),
    symlink("usr/lib/libx.so", "libx.so.1"),
    dir("usr/share/", 0o755),
    dir("usr/share/doc/", 0o700),
    file("usr/share/doc/readme", "docs", 0o444),
    dir("opt/"),
    dir("opt/app/"),
    file("opt/app/old1", "old1"),
    dir("opt/app/sub/"),
    file("opt/app/sub/lower", "lower"),
    file("opt/app/sub/kept", "lower"),
    dir("opt/clear/"),
    file("opt/clear/gone", "gone"),
    dir("var/"),
    dir("var/cache/"),
    file("var/cache/x", "x"),
    dir("var/lib/"),
    file("var/lib/was-file", "f"),
    dir("var/lib/was-dir/"),
    file("var/lib/was-dir/child", "c"),
    dir("ro/", 0o555),
    file("ro/inside", "ro"),
    withPax({ path: `${LONG}/pax-file` }, file("short", "pax")),
    withGnuLongNames(file(`${LONG}/gnu-file`, "gnu")),
  ],
  [
    dir("etc/"),
    file("etc/.wh.group"),
    dir("usr/"),
    dir("usr/bin/"),
    file("usr/bin/tool", "#!/bin/sh\necho v2\n", 0o750),
    hardlink("usr/bin/tool-new", "usr/bin/tool"),
    dir("opt/"),
    dir("opt/app/"),
    file("opt/app/new", "new"),
    dir("opt/app/sub/"),
    file("opt/app/sub/kept", "upper"),
    file("opt/app/.wh..wh..opq"),
    dir("opt/clear/"),
    file("opt/clear/.wh..wh..opq"),
    file("opt/clear/fresh", "fresh"),
    dir("var/"),
    file("var/.wh.cache"),
    dir("var/lib/"),
    dir("var/lib/was-file/", 0o711),
    file("var/lib/was-file/inner", "i"),
    file("var/lib/was-dir", "now a file", 0o600),
    symlink("usr/lib/libx.so", "libx.so.2"),
    file("usr/lib/libx.so.2", "ELF2", 0o755),
  ],
  [
    dir("var/"),
    dir("var/cache/", 0o750),
    file("var/cache/y", "y"),
    dir("etc/"),
    file("etc/group", "wheel:x:10:\n", 0o644),
    hardlink("etc/passwd-", "etc/passwd"),
    dir("usr/"),
    dir("usr/share/"),
    dir("usr/share/doc/", 0o755),
    symlink("usr/share/doc/bin", "../../bin"),
    dir("zero/", 0o000),
  ],
];

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function hasUmoci(): Promise<boolean> {
  try {
    await run("umoci", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

async function writeBlob(layout: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = await sha256Digest(bytes);
  await Deno.writeFile(`${layout}/blobs/sha256/${digest.slice("sha256:".length)}`, bytes);
  return { digest, size: bytes.length };
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = streamOf(bytes).pipeThrough(
    new CompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Writes an OCI image layout with one manifest tagged "test"; returns the gzip layer blobs. */
async function writeLayout(layout: string, tars: Uint8Array[]): Promise<Uint8Array[]> {
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const diffIds: string[] = [];
  const layers: object[] = [];
  const blobs: Uint8Array[] = [];
  for (const tar of tars) {
    diffIds.push(await sha256Digest(tar));
    const gz = await gzip(tar);
    blobs.push(gz);
    layers.push({ mediaType: MEDIA_TYPES.OCI_LAYER_GZIP, ...await writeBlob(layout, gz) });
  }
  const config = {
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: diffIds },
    history: tars.map(() => ({ created_by: "test" })),
  };
  const configDesc = await writeBlob(layout, new TextEncoder().encode(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPES.OCI_CONFIG, ...configDesc },
    layers,
  };
  const manifestDesc = await writeBlob(layout, new TextEncoder().encode(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    manifests: [{
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      ...manifestDesc,
      annotations: { "org.opencontainers.image.ref.name": "test" },
    }],
  };
  await Deno.writeTextFile(`${layout}/index.json`, JSON.stringify(index));
  return blobs;
}

interface Comparable {
  readonly nodes: Record<string, Omit<NodeInfo, "ino">>;
  readonly hardlinkGroups: string[][];
}

function comparable(tree: Map<string, NodeInfo>): Comparable {
  const nodes: Record<string, Omit<NodeInfo, "ino">> = {};
  const byInode = new Map<number, string[]>();
  for (const [path, node] of tree) {
    const { ino, mode, ...rest } = node;
    nodes[path] = mode === undefined ? rest : { ...rest, mode: mode & 0o777 };
    if (ino !== undefined) byInode.set(ino, [...(byInode.get(ino) ?? []), path]);
  }
  const hardlinkGroups = [...byInode.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort();
  return { nodes, hardlinkGroups };
}

Deno.test({
  name: "applyLayer() unpacks a multi-layer image exactly like umoci unpack --rootless",
  ignore: !await hasUmoci(),
  fn: async () => {
    await using tmp = await tempDir();
    const layout = `${tmp.path}/layout`;
    const blobs = await writeLayout(layout, LAYERS.map((entries) => buildTar(entries)));

    await run("umoci", ["unpack", "--rootless", "--image", `${layout}:test`, `${tmp.path}/bundle`]);

    const rootfs = `${tmp.path}/dz-rootfs`;
    await Deno.mkdir(rootfs);
    const state = createRootfsState();
    for (const blob of blobs) {
      await applyLayer(openLayer(streamOf(blob, 4096), MEDIA_TYPES.OCI_LAYER_GZIP), rootfs, { state });
    }
    await finalizeRootfs(rootfs, state);

    const theirs = comparable(await snapshot(`${tmp.path}/bundle/rootfs`));
    const ours = comparable(await snapshot(rootfs));
    assert.deepEqual(ours, theirs);
    // Guard against a vacuous pass: the interesting paths are really there.
    assert.ok("opt/app/new" in ours.nodes && !("opt/app/old1" in ours.nodes));
    assert.ok(ours.hardlinkGroups.length >= 2);

    // As dz installs: each layer extracted once into the snapshot store, the rootfs composed by hard links.
    const store = openLayerStore(`${tmp.path}/layers`);
    const composed = `${tmp.path}/dz-composed`;
    await Deno.mkdir(composed);
    const composedState = createRootfsState();
    for (const blob of blobs) {
      const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}` as const;
      const snap = await store.extract(
        digest,
        () => Promise.resolve(openLayer(streamOf(blob, 4096), MEDIA_TYPES.OCI_LAYER_GZIP)),
      );
      await applySnapshot(snap, composed, { state: composedState });
    }
    await finalizeRootfs(composed, composedState);
    assert.deepEqual(comparable(await snapshot(composed)), theirs, "composed from snapshots");
  },
});
