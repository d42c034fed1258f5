// deno-lint-ignore-file no-console
/**
 * Throughput of openLayer + applyLayer on a large gzip layer, with GNU tar as a reference.
 *
 *   deno run -A bench/unpack_bench.ts [--mb 300] [--small 20000] [--dir /dev/shm]
 *
 * The layer holds `--small` files of 1–8 KiB in nested directories plus large files making up the rest of
 * `--mb` MiB, with base64 text content (gzip ratio about 0.65, like binaries). On a disk the page cache and
 * writeback dominate; use `--dir /dev/shm` (tmpfs) to measure dz itself.
 */
import { parseArgs } from "node:util";
import { applyLayer, createRootfsState, finalizeRootfs } from "../src/unpack/extract.ts";
import { removeTree } from "../src/fs.ts";
import { openLayer } from "../src/unpack/layer.ts";
import { MEDIA_TYPES } from "../src/oci/media_types.ts";
import { tarHeader } from "../tests/support/tar_writer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mb: { type: "string" },
    small: { type: "string" },
    dir: { type: "string" },
  },
});
const totalBytes = Number(values.mb ?? "300") * 1024 * 1024;
const smallCount = Number(values.small ?? "20000");

const pool = new TextEncoder().encode(
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(48 * 1024)))).repeat(24),
);

function contentOf(size: number, seed: number): Uint8Array {
  const start = (seed * 7919) % (pool.length - size);
  return pool.subarray(start, start + size);
}

async function writeLayer(path: string): Promise<number> {
  const gz = new CompressionStream("gzip");
  const out = await Deno.open(path, { write: true, create: true, truncate: true });
  const piping = gz.readable.pipeTo(out.writable);
  const writer = gz.writable.getWriter();
  let tarBytes = 0;
  const put = async (bytes: Uint8Array) => {
    tarBytes += bytes.length;
    await writer.write(bytes as Uint8Array<ArrayBuffer>);
  };
  const entry = async (name: string, body: Uint8Array | undefined, type?: string) => {
    await put(tarHeader({ name, type, mode: type === "dir" ? 0o755 : 0o644 }, body?.length ?? 0));
    if (body && body.length > 0) {
      await put(body);
      const pad = (512 - (body.length % 512)) % 512;
      if (pad) await put(new Uint8Array(pad));
    }
  };
  let written = 0;
  for (let d = 0; d < 200; d++) await entry(`usr/share/d${d}/`, undefined, "dir");
  for (let i = 0; i < smallCount; i++) {
    const size = 1024 + ((i * 2654435761) % (7 * 1024));
    written += size;
    await entry(`usr/share/d${i % 200}/f${i}`, contentOf(size, i));
  }
  await entry("usr/lib/", undefined, "dir");
  const bigSize = 16 * 1024 * 1024;
  for (let i = 0; written < totalBytes; i++) {
    const size = Math.min(bigSize, totalBytes - written);
    const body = new Uint8Array(size);
    for (let off = 0; off < size; off += 512 * 1024) {
      body.set(contentOf(Math.min(512 * 1024, size - off), i * 131 + off), off);
    }
    written += size;
    await entry(`usr/lib/big${i}.so`, body);
  }
  await put(new Uint8Array(1024));
  await writer.close();
  await piping;
  return tarBytes;
}

const dir = await Deno.makeTempDir({
  prefix: "dz-unpack-bench-",
  ...(values.dir ? { dir: values.dir } : {}),
});
try {
  const layer = `${dir}/layer.tar.gz`;
  const tarBytes = await writeLayer(layer);
  const gzBytes = (await Deno.stat(layer)).size;
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(`layer: ${mib(tarBytes)} MiB tar, ${mib(gzBytes)} MiB gzip, ${smallCount} small files`);

  for (let run = 1; run <= 2; run++) {
    const rootfs = `${dir}/rootfs${run}`;
    await Deno.mkdir(rootfs);
    const file = await Deno.open(layer);
    const started = performance.now();
    const state = createRootfsState();
    await applyLayer(openLayer(file.readable, MEDIA_TYPES.OCI_LAYER_GZIP), rootfs, { state });
    await finalizeRootfs(rootfs, state);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `dz run ${run}: ${seconds.toFixed(2)} s, ${
        (tarBytes / 1024 / 1024 / seconds).toFixed(0)
      } MiB/s uncompressed, ` +
        `${state.entries} entries`,
    );
    await removeTree(rootfs);
  }

  const rootfs = `${dir}/rootfs-tar`;
  await Deno.mkdir(rootfs);
  const started = performance.now();
  const out = await new Deno.Command("tar", { args: ["-xzf", layer, "-C", rootfs] }).output();
  const seconds = (performance.now() - started) / 1000;
  if (out.success) {
    console.log(
      `GNU tar -xzf: ${seconds.toFixed(2)} s, ${(tarBytes / 1024 / 1024 / seconds).toFixed(0)} MiB/s`,
    );
  }
} finally {
  await removeTree(dir);
}
