/** `dz run <ref> [-- args]`: verify and run an image's entrypoint once, without installing it. */
import { type PreparedRun, prepareInstalledRun, prepareRun } from "../../app/run.ts";
import { DropzoneError } from "../../errors.ts";
import { handOverSignals } from "../../interrupt.ts";
import { readCurrent } from "../../store/packages.ts";
import { resolveReference } from "../../oci/reference.ts";
import type { CliContext } from "../context.ts";
import { installProgress } from "../progress.ts";
import { registryInstallDeps } from "../services.ts";
import { withStoreLock } from "./shared.ts";

/** dz run; returns the program's exit code. */
export async function runOnce(
  ctx: CliContext,
  input: string,
  args: string[],
  opts: { allowUnsigned?: boolean; acceptNewSigner?: boolean; minAge?: string },
): Promise<number> {
  const prepared = await prepare(ctx, input, opts).catch((err) => {
    throw forRun(err);
  });
  if (prepared.discarded) {
    ctx.log.warn(`the cached copy could not be reused and was unpacked again: ${prepared.discarded}`);
  }
  ctx.log.debug(`running ${prepared.digest} from the ${prepared.source} copy`);
  const script = await Deno.makeTempFile({ prefix: "dz-run-", suffix: ".sh" });
  try {
    await Deno.writeTextFile(script, prepared.script);
    const child = new Deno.Command("/bin/sh", {
      args: [script, ...args],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // From here on Ctrl-C and SIGTERM are the program's; dz reports its exit code.
    using _signals = handOverSignals((signal) => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    });
    const status = await child.status;
    return status.signal ? 128 + (Deno.build.os === "linux" ? signalNumber(status.signal) : 1) : status.code;
  } finally {
    await Deno.remove(script).catch(() => {});
  }
}

/**
 * The installed package when `input` is exactly an installed package's name (`dz run jq` runs what
 * `dz install jq` put there, offline); any other reference (`jq:latest`, `chainguard/jq`) goes to the registry.
 */
async function prepare(
  ctx: CliContext,
  input: string,
  opts: { allowUnsigned?: boolean; acceptNewSigner?: boolean; minAge?: string },
): Promise<PreparedRun> {
  const installed = /^[a-z0-9][a-z0-9._-]*$/.test(input)
    ? await readCurrent(ctx.layout, input).catch(() => undefined)
    : undefined;
  if (installed) return await prepareInstalledRun(ctx.layout, installed.metadata, ctx.runtime.host);
  const { config } = await ctx.config();
  const ref = resolveReference(input, {
    registries: config.registries,
    defaultRegistry: config.default_registry,
  });
  const progress = installProgress(ctx);
  // The lock covers the unpack into the run cache only; the program itself runs without holding it.
  return await withStoreLock(ctx, () =>
    prepareRun(registryInstallDeps(ctx, config, progress.onEvent), {
      ref,
      allowUnsigned: opts.allowUnsigned === true,
      acceptNewSigner: opts.acceptNewSigner === true,
      ...(opts.minAge !== undefined ? { minAge: opts.minAge } : {}),
    })).finally(progress.done);
}

/** The install pipeline's errors say "Cannot install …"; for `dz run` they say "Cannot run …". */
function forRun(err: unknown): unknown {
  const prefix = /^Cannot install\b/;
  if (!(err instanceof DropzoneError) || !prefix.test(err.message)) return err;
  return new DropzoneError(err.code, err.message.replace(prefix, "Cannot run"), {
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
    ...(err.cause !== undefined ? { cause: err.cause } : {}),
  });
}

function signalNumber(name: string): number {
  const table: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGPIPE: 13,
  };
  return table[name] ?? 1;
}
