/** dz entry point: the only file that touches Deno.args and Deno.exit. */
import { runCli } from "./src/cli/mod.ts";
import { denoRuntime } from "./src/runtime.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, denoRuntime()));
}
