/**
 * Spawns the real dz (tests/e2e/_crash_dz_child.ts: `runCli` with the real runtime plus test-only hang points) as
 * a child process and waits until it announces `crash-at <step>`, so a test can kill or signal it exactly there.
 */
import { DZ_RUN_FLAGS } from "./cli_harness.ts";

const CHILD = new URL("../e2e/_crash_dz_child.ts", import.meta.url).pathname;

/** A dz child stopped at a step. */
export interface StoppedDz {
  readonly child: Deno.ChildProcess;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Resolves when stderr is closed. */
  readonly rest: Promise<void>;
}

/** Spawns dz with DROPZONE_HOME=`home` and DZ_CRASH_AT=`step`; resolves once it is there. */
export async function spawnUntil(
  home: string,
  argv: string[],
  step: string,
  extra: Record<string, string> = {},
): Promise<StoppedDz> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...DZ_RUN_FLAGS, CHILD, ...argv],
    env: {
      DROPZONE_HOME: home,
      NO_COLOR: "1",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DZ_CRASH_AT: step,
      DZ_NO_TUF: "1",
      ...extra,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 60_000; // generous: CI runs test files in parallel on 2 cores
  while (!text.includes(`crash-at ${step}\n`)) {
    const timeout = new Promise<"timeout">((r) =>
      setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()))
    );
    const next = await Promise.race([reader.read(), timeout]);
    if (next === "timeout" || next.done) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      throw new Error(`dz ${argv.join(" ")} never reached ${step}:\n${text}`);
    }
    text += next.value;
  }
  const rest = (async () => {
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) return;
      text += r.value;
    }
  })();
  return { child, stderr: () => text, rest };
}
