/** dz entry point: the only file that touches Deno.args and Deno.exit. */
import { fastPath } from "./src/cli/fast_path.ts";
import { denoRuntime } from "./src/runtime.ts";
import { mark } from "./src/profile.ts";

if (import.meta.main) {
  const runtime = denoRuntime();
  // Completion and scripts call these on every TAB: answer them without loading the command tree.
  const quick = await fastPath(Deno.args, runtime);
  if (quick !== undefined) Deno.exit(quick);
  const { runCli } = await import("./src/cli/mod.ts");
  mark("cli-loaded");
  const code = await runCli(Deno.args, runtime);
  mark("exit");
  Deno.exit(code);
}
