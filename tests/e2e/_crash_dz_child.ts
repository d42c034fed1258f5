/**
 * Child for tests/e2e/crash_test.ts: runs dz (`runCli` with the real runtime) and, at the step named by
 * DZ_CRASH_AT, writes `crash-at <step>` to stderr and hangs so the parent can SIGKILL (or SIGINT) it there.
 *
 * Steps: any store crash point (`commit:before-metadata`, `commit:before-rename`, `commit:after-rename`,
 * `symlink:current`, `activate:after-flip`, `write:history.json`, …); `download` (the layer blob DZ_CRASH_BLOB
 * has delivered its first chunk to the cache); `unpack` (the second file is being created in the staging
 * rootfs, written or linked from a layer snapshot); `unpack-slow` (the unpack of files under /many/ has begun and
 * goes on slowly); `wrapper` (a wrapper's temp file is written, before its rename into bin/). With DZ_HANG_URL (a
 * regex) the first request whose URL matches announces DZ_CRASH_AT and hangs until dz aborts it (a registry that
 * stops answering).
 */
import { basename, dirname } from "node:path";
import { runCli } from "../../src/cli/mod.ts";
import { denoRuntime } from "../../src/runtime.ts";
import { setCrashPointHandler } from "../../src/crash_points.ts";

const at = Deno.env.get("DZ_CRASH_AT") ?? "";
const blob = Deno.env.get("DZ_CRASH_BLOB") ?? "";
const home = Deno.env.get("DROPZONE_HOME") ?? "";
const encoder = new TextEncoder();

/** Announces the step and never returns (keeps the event loop alive until the parent kills the process). */
function hang(step: string, signal?: AbortSignal): Promise<never> {
  Deno.stderr.writeSync(encoder.encode(`crash-at ${step}\n`));
  const timer = setInterval(() => {}, 60_000);
  return new Promise((_, reject) => {
    signal?.addEventListener("abort", () => {
      clearInterval(timer);
      reject(signal.reason);
    });
  });
}

/** Blocks this thread for `ms` (forever with Infinity) without burning CPU: a sync call on a stuck disk. */
function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

setCrashPointHandler(async (step) => {
  if (step === at) await hang(step);
});

if (at === "unpack") {
  let files = 0;
  const inStaging = (p: string | URL) => String(p).includes("/.staging-") && String(p).includes("/rootfs/");
  const writeFile = Deno.writeFile;
  const open = Deno.open;
  const linkSync = Deno.linkSync;
  const gate = async (p: string | URL) => {
    if (inStaging(p) && ++files === 2) await hang("unpack");
  };
  Object.assign(Deno, {
    writeFile: async (p: string | URL, ...rest: unknown[]) => {
      await gate(p);
      return await (writeFile as (...a: unknown[]) => Promise<void>)(p, ...rest);
    },
    open: async (p: string | URL, ...rest: unknown[]) => {
      await gate(p);
      return await (open as (...a: unknown[]) => Promise<Deno.FsFile>)(p, ...rest);
    },
    // A rootfs composed from layer snapshots gets its files by link(2), called synchronously: the child can
    // only stop the whole thread there (the parent SIGKILLs it).
    linkSync: (from: string, to: string) => {
      if (inStaging(to) && ++files === 2) {
        Deno.stderr.writeSync(encoder.encode("crash-at unpack\n"));
        blockThread(Infinity);
      }
      return linkSync(from, to);
    },
  });
}

if (at === "unpack-slow") {
  // A slow disk: once the first file under /many/ is written (into a layer snapshot being extracted) or linked
  // (into the rootfs being composed), every later such write or link takes 50 ms, so the unpack of the image's
  // last layer is still running when the parent sends its signal.
  const inMany = (p: string | URL) => String(p).includes("/.staging-") && String(p).includes("/many/");
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    Deno.stderr.writeSync(encoder.encode(`crash-at ${at}\n`));
  };
  const slow = async (p: string | URL) => {
    if (!inMany(p)) return;
    announce();
    await new Promise((r) => setTimeout(r, 50));
  };
  const writeFile = Deno.writeFile;
  const linkSync = Deno.linkSync;
  Object.assign(Deno, {
    writeFile: async (p: string | URL, ...rest: unknown[]) => {
      await slow(p);
      return await (writeFile as (...a: unknown[]) => Promise<void>)(p, ...rest);
    },
    // Composition links synchronously: a slow disk holds the thread for each link, and dz must still stop.
    linkSync: (from: string, to: string) => {
      if (inMany(to)) {
        announce();
        blockThread(50);
      }
      return linkSync(from, to);
    },
  });
}

if (at === "wrapper") {
  const rename = Deno.rename;
  Object.assign(Deno, {
    rename: async (from: string | URL, to: string | URL) => {
      if (dirname(String(to)) === `${home}/bin` && !basename(String(to)).startsWith(".")) {
        await hang("wrapper");
      }
      return await rename(from, to);
    },
  });
}

const runtime = denoRuntime();
const hangUrl = Deno.env.get("DZ_HANG_URL");
if (hangUrl) {
  // A registry that stops answering: the first request whose URL matches hangs until dz aborts it.
  const realFetch = runtime.fetch;
  const pattern = new RegExp(hangUrl);
  let hung = false;
  runtime.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!hung && pattern.test(url)) {
      hung = true;
      await hang(at, init?.signal ?? undefined);
    }
    return await realFetch(input, init);
  };
}
if (at === "download" || at === "download-sigint") {
  const realFetch = runtime.fetch;
  runtime.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const res = await realFetch(input, init);
    if (!blob || !url.includes(`/blobs/${blob}`) || !res.body) return res;
    const reader = res.body.getReader();
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          const first = await reader.read();
          sent = true;
          if (!first.done) controller.enqueue(first.value.subarray(0, Math.min(first.value.length, 1024)));
          return;
        }
        await hang(at, init?.signal ?? undefined).catch((err) => controller.error(err));
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

Deno.exit(await runCli(Deno.args, runtime));
