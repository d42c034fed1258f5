// Child of umask_probe_test.ts: extracts files of several modes without --allow-sys, as the compiled binary does.
import { applyLayer, createRootfsState, finalizeRootfs } from "../../src/unpack/extract.ts";
import { buildTar } from "../support/image_builder.ts";

if (import.meta.main) {
  const dir = Deno.args[0]!;
  const tar = buildTar([
    { type: "file", path: "a", content: "a", mode: 0o644 },
    { type: "file", path: "b", content: "b", mode: 0o755 },
    { type: "file", path: "c", content: "c", mode: 0o600 },
    { type: "file", path: "d", content: "d", mode: 0o640 },
  ]);
  await Deno.mkdir(`${dir}/rootfs`);
  const state = createRootfsState();
  await applyLayer(ReadableStream.from([tar]), `${dir}/rootfs`, { state });
  await finalizeRootfs(`${dir}/rootfs`, state);
}
