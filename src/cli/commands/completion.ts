/** `dz completion <shell>` and the hidden `dz __complete <kind>` used by the scripts. */
import type { Command } from "@commander-js/extra-typings";
import { completionScript } from "../completion.ts";
import type { CliContext } from "../context.ts";
import { installedPackages } from "./shared.ts";

/** dz completion */
export function completion(
  ctx: CliContext,
  shell: "bash" | "zsh" | "fish" | "powershell",
  program: Command,
): Promise<void> {
  ctx.out(completionScript(shell, program));
  return Promise.resolve();
}

/** dz __complete packages|registries: one name per line, never an error (completion must stay quiet). */
export async function completeNames(ctx: CliContext, kind: string): Promise<void> {
  try {
    if (kind === "packages") {
      for (const p of await installedPackages(ctx)) ctx.out(p.name + "\n");
    } else if (kind === "registries") {
      const { config } = await ctx.config();
      for (const r of config.registries) ctx.out(r.name + "\n");
    }
  } catch {
    // Completion must never print errors into the user's prompt.
  }
}
