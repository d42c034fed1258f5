/** Opt-in timing spans (`DZ_PROFILE=1`): one `profile: <label> <ms>` line on stderr per span, for benchmarks. */

let enabled: boolean | undefined;

function isEnabled(): boolean {
  if (enabled === undefined) {
    try {
      // The one DZ_* variable read outside cli/settings.ts: main.ts marks "cli-loaded" before the CLI (and its
      // Settings) exists, and spans in app/ would otherwise need the flag threaded through every deps object.
      enabled = Deno.env.get("DZ_PROFILE") === "1";
    } catch {
      // No env permission: profiling stays off.
      enabled = false;
    }
  }
  return enabled;
}

/** Starts a span; the returned function ends it (and prints it when profiling is on). */
export function span(label: string): () => void {
  if (!isEnabled()) return () => {};
  const start = performance.now();
  return () => {
    // deno-lint-ignore no-console
    console.error(`profile: ${label} ${(performance.now() - start).toFixed(1)} ms`);
  };
}

/** Prints the time since the process started (module loading and start-up included). */
export function mark(label: string): void {
  // deno-lint-ignore no-console
  if (isEnabled()) console.error(`profile: ${label} at ${performance.now().toFixed(1)} ms`);
}
