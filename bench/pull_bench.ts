/**
 * Pull benchmark (a script, not a test): builds a 5-layer ≈300 MiB gzip image, pushes it to a launched
 * docker-registry, then times dz's registry client pulling every blob to disk with digest checks against
 * `skopeo copy docker://… oci:…` of the same image, and HEAD drift checks of 20 tags at concurrency 1 vs 4.
 *
 *   deno run --allow-read --allow-write --allow-net --allow-env --allow-run bench/pull_bench.ts [--mib-per-layer 60]
 *
 * Layer data: a 1 MiB random block repeated with a varying 16-byte header per MiB. gzip's 32 KiB window cannot
 * see the repetition, so the layers are effectively incompressible (compressed ≈ uncompressed).
 */
// deno-lint-ignore-file no-console
import { createRegistryClient } from "../src/registry/client.ts";
import { USER_AGENT } from "../src/version.ts";
import { launchRegistry } from "../tests/support/registry_launcher.ts";
import { buildImage, type BuiltImage, compress, pushImage } from "../tests/support/image_builder.ts";
import { pushManifest } from "../tests/support/oci_push.ts";

const LAYERS = 5;
const arg = Deno.args.indexOf("--mib-per-layer");
const MIB_PER_LAYER = arg >= 0 ? Number(Deno.args[arg + 1]) : 60;
const MIB = 1024 * 1024;

function layerTar(index: number): Uint8Array {
  // A hand-made single-file tar: 512-byte header, payload, padding and the end blocks.
  const block = new Uint8Array(MIB);
  crypto.getRandomValues(block.subarray(0, 65_536));
  for (let off = 65_536; off < MIB; off += 65_536) block.copyWithin(off, 0, 65_536);
  // Make each 64 KiB window distinct so gzip (32 KiB window) sees no repetition either.
  for (let off = 0; off < MIB; off += 4096) block[off] = (off / 4096) & 0xff;
  const size = MIB_PER_LAYER * MIB;
  const tar = new Uint8Array(512 + size + 1024);
  const enc = new TextEncoder();
  const header = tar.subarray(0, 512);
  header.set(enc.encode(`data/layer-${index}.bin`), 0);
  header.set(enc.encode("0000644\0"), 100);
  header.set(enc.encode("0000000\0"), 108);
  header.set(enc.encode("0000000\0"), 116);
  header.set(enc.encode(size.toString(8).padStart(11, "0") + "\0"), 124);
  header.set(enc.encode("00000000000\0"), 136);
  header.set(enc.encode("        "), 148);
  header[156] = 0x30;
  header.set(enc.encode("ustar\0" + "00"), 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  for (let m = 0; m < MIB_PER_LAYER; m++) {
    const dst = tar.subarray(512 + m * MIB, 512 + (m + 1) * MIB);
    dst.set(block);
    new DataView(dst.buffer, dst.byteOffset).setUint32(0, index * 100_000 + m); // the varying header
    dst[4] = index;
  }
  return tar;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

const t0 = performance.now();
const layers = [];
let rawBytes = 0;
for (let i = 0; i < LAYERS; i++) {
  const tar = layerTar(i);
  rawBytes += tar.length;
  layers.push(await compress(tar, "gzip"));
}
// buildImage wants entries; use rawLayers so the prebuilt gzip blobs are used verbatim.
const image: BuiltImage = await buildImage({
  rawLayers: layers.map((bytes) => ({ bytes, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" })),
  config: { Entrypoint: ["/bin/true"] },
});
const blobBytes = [...image.blobs.values()].reduce((n, b) => n + b.length, 0);
console.log(
  `data: ${LAYERS} layers, ${(rawBytes / MIB).toFixed(0)} MiB tar → ${
    (blobBytes / MIB).toFixed(1)
  } MiB gzip ` +
    `(built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);

await using reg = await launchRegistry();
const push = await timed(() => pushImage(reg, "bench", "1", image));
console.log(`push to docker-registry ${reg.host}: ${(push.ms / 1000).toFixed(2)} s`);
const work = await Deno.makeTempDir({ prefix: "dz-bench-" });
try {
  const repo = { registry: reg.host, repository: "bench" };
  const client = createRegistryClient({
    fetch,
    userAgent: USER_AGENT,
    credentials: () => Promise.resolve(undefined),
  });
  const dz = await timed(async () => {
    const m = await client.getManifest(repo, "1");
    if (m.manifest.kind !== "manifest") throw new Error("expected a manifest");
    const descs = [m.manifest.config, ...m.manifest.layers];
    await Promise.all(descs.map(async (d) => {
      const stream = await client.getBlob(repo, d.digest, { size: d.size });
      const file = await Deno.open(`${work}/${d.digest.slice(7)}`, {
        write: true,
        create: true,
        truncate: true,
      });
      await stream.pipeTo(file.writable);
    }));
  });
  const skopeo = await timed(async () => {
    const out = await new Deno.Command("skopeo", {
      args: ["copy", "--src-tls-verify=false", `docker://${reg.host}/bench:1`, `oci:${work}/skopeo:1`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`skopeo failed: ${new TextDecoder().decode(out.stderr)}`);
  });
  const mibps = (ms: number) => (blobBytes / MIB / (ms / 1000)).toFixed(0);
  console.log(
    `dz client pull (5 layers + config, concurrency 4, sha256 verified, to disk): ${
      (dz.ms / 1000).toFixed(2)
    } s (${mibps(dz.ms)} MiB/s)`,
  );
  console.log(`skopeo copy docker:// → oci: ${(skopeo.ms / 1000).toFixed(2)} s (${mibps(skopeo.ms)} MiB/s)`);
  console.log(`ratio dz / skopeo: ${(dz.ms / skopeo.ms).toFixed(2)}`);

  // Digest drift checks: 20 tags, HEAD each, at per-host concurrency 1 and 4.
  for (let i = 0; i < 20; i++) {
    await pushManifest(reg, "bench", `t${i}`, image.manifestBytes, image.mediaType);
  }
  for (const concurrency of [1, 4]) {
    const c = createRegistryClient({
      fetch,
      userAgent: USER_AGENT,
      credentials: () => Promise.resolve(undefined),
      concurrencyPerHost: concurrency,
    });
    await c.headManifest(repo, "t0"); // warm the connection
    const r = await timed(() =>
      Promise.all(Array.from({ length: 20 }, (_, i) => c.headManifest(repo, `t${i}`)))
    );
    const drift = r.value.filter((h) => h?.digest !== image.digest).length;
    console.log(`HEAD 20 tags at concurrency ${concurrency}: ${r.ms.toFixed(1)} ms (${drift} drifted)`);
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
