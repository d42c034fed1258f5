/** dz entry point: the only file that touches Deno.args and Deno.exit. */
import { fastPath } from "./src/cli/fast_path.ts";
import { denoRuntime } from "./src/runtime.ts";

if (import.meta.main) {
  const runtime = denoRuntime();
  // Completion and scripts call these on every TAB: answer them without loading the command tree.
  const quick = await fastPath(Deno.args, runtime);
  if (quick !== undefined) Deno.exit(quick);
  const { runCli } = await import("./src/cli/mod.ts");
  Deno.exit(await runCli(Deno.args, runtime));
}
