/**
 * The Workers experiment (issue 12): the extraction phase of a cold install — the five layers of each image
 * profile of snapshot_bench.ts extracted concurrently into a fresh layer snapshot store, as app/layers.ts does —
 * on the main thread vs one Deno Worker per layer (unpack/worker_extract.ts), interleaved in one run (the order
 * alternates every repetition), load average printed. A script, never a test.
 *
 *   deno run -A bench/worker_bench.ts [--reps 2] [--workdir /mnt/dzbench] [--smoke]
 */
// deno-lint-ignore-file no-console
import { join } from "node:path";
import { Semaphore } from "../src/semaphore.ts";
import { openBlobCache } from "../src/store/blob_cache.ts";
import { openLayerStore } from "../src/store/layer_store.ts";
import { openLayer } from "../src/unpack/layer.ts";
import { buildBulkImage, median, mib, removeTreeForce, sec } from "./_fixtures.ts";
import { loadAverage, PROFILES } from "./snapshot_bench.ts";

/** The concurrency app/layers.ts uses for extraction. */
const SLOTS = Math.max(2, Math.min(8, navigator.hardwareConcurrency ?? 2));

type Mode = "main thread" | "workers";

interface Row {
  readonly profile: string;
  readonly files: number;
  readonly tarMiB: string;
  readonly ms: Record<Mode, number[]>;
}

async function extractAll(input: {
  mode: Mode;
  storeDir: string;
  cacheDir: string;
  layers: readonly { digest: `sha256:${string}`; mediaType: string }[];
}): Promise<number> {
  const store = openLayerStore(input.storeDir);
  const cache = openBlobCache(input.cacheDir);
  const slots = new Semaphore(SLOTS);
  const t0 = performance.now();
  await Promise.all(input.layers.map((layer) =>
    slots.run(() =>
      store.extract(
        layer.digest,
        async () => openLayer(await cache.open(layer.digest), layer.mediaType),
        input.mode === "workers"
          ? { worker: { blobPath: cache.pathOf(layer.digest), mediaType: layer.mediaType } }
          : {},
      )
    )
  ));
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Deno.args,
    options: { reps: { type: "string" }, workdir: { type: "string" }, smoke: { type: "boolean" } },
  });
  const reps = Number(values.reps ?? 2);
  const loadBefore = await loadAverage();
  const root = await Deno.makeTempDir({
    prefix: "dz-worker-bench-",
    ...(values.workdir ? { dir: values.workdir } : {}),
  });
  const rows: Row[] = [];
  try {
    const profiles = values.smoke
      ? PROFILES.map((p) => ({ ...p, spec: { smallFiles: 200, largeFiles: 2, largeMiB: 1 } }))
      : PROFILES;
    for (const profile of profiles) {
      console.error(`building the ${profile.label} image…`);
      const bulk = await buildBulkImage({ ...profile.spec, name: profile.key });
      const cacheDir = join(root, `blobs-${profile.key}`);
      const cache = openBlobCache(cacheDir);
      for (const l of bulk.image.layers) {
        await cache.putStream(l.digest, l.bytes.length, ReadableStream.from([l.bytes]));
      }
      const layers = bulk.image.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType }));
      const row: Row = {
        profile: profile.label,
        files: bulk.files,
        tarMiB: mib(bulk.tarBytes),
        ms: { "main thread": [], workers: [] },
      };
      bulk.image.layers.length = 0;
      bulk.image.blobs.clear();
      for (let rep = 0; rep < reps; rep++) {
        const order: Mode[] = rep % 2 === 0 ? ["main thread", "workers"] : ["workers", "main thread"];
        for (const mode of order) {
          const storeDir = join(root, `layers-${profile.key}-${rep}-${mode === "workers" ? "w" : "m"}`);
          const ms = await extractAll({ mode, storeDir, cacheDir, layers });
          row.ms[mode].push(ms);
          console.error(
            `  ${profile.key} rep ${rep + 1} ${mode}: ${sec(ms)} s (load ${await loadAverage()})`,
          );
          await removeTreeForce(storeDir);
        }
      }
      rows.push(row);
      await removeTreeForce(cacheDir);
    }
  } finally {
    await removeTreeForce(root);
  }
  const loadAfter = await loadAverage();
  console.log(
    `dz Workers experiment: extraction of 5 layers into a fresh snapshot store, ${SLOTS} at a time, ` +
      `${reps} interleaved repetitions (medians), workdir ${values.workdir ?? "system tmp"}, ` +
      `${navigator.hardwareConcurrency} cores`,
  );
  console.log(`load average before: ${loadBefore}; after: ${loadAfter}`);
  console.log("profile                         main thread  workers  workers / main");
  for (const r of rows) {
    const m = median(r.ms["main thread"]);
    const w = median(r.ms.workers);
    console.log(
      `${`${r.profile} (${r.files} files, ${r.tarMiB} MiB)`.padEnd(32)}${`${sec(m)} s`.padStart(11)}` +
        `${`${sec(w)} s`.padStart(9)}  ${(w / m).toFixed(2)}×`,
    );
  }
}

if (import.meta.main) await main();
