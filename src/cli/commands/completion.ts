/** `dz completion <shell>` and the hidden `dz __complete <kind>` used by the scripts. */
import type { Command } from "@commander-js/extra-typings";
import { completablePackageNames } from "../../store/package_names.ts";
import { completionScript } from "../completion.ts";
import type { CliContext } from "../context.ts";

/** dz completion */
export function completion(
  ctx: CliContext,
  shell: "bash" | "zsh" | "fish" | "powershell",
  program: Command,
): Promise<void> {
  ctx.out(completionScript(shell, program));
  return Promise.resolve();
}

/**
 * dz __complete packages|registries: one name per line, never an error (completion must stay quiet). Package
 * names come from the same function main.ts's fast path answers with, so both print the same.
 */
export async function completeNames(ctx: CliContext, kind: string): Promise<void> {
  try {
    if (kind === "packages") {
      for (const name of completablePackageNames(ctx.layout.packages)) ctx.out(name + "\n");
    } else if (kind === "registries") {
      // Not ctx.config(): that initialises the home, and a TAB must never create ~/.dropzone or print the
      // first-run hint. loadConfig answers with the seed's registries while there is no config.yaml.
      const { loadConfig } = await import("../../store/config.ts");
      const { config } = await loadConfig(ctx.layout.configFile);
      for (const r of config.registries) ctx.out(r.name + "\n");
    }
  } catch {
    // Completion must never print errors into the user's prompt.
  }
}
