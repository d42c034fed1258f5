/** shared.ts: the confirmation prompt, NOT_INSTALLED, the store lock as commands take it, and install deps. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  confirm,
  installDeps,
  installedPackages,
  requireInstalled,
  storeAccess,
  withStoreLock,
} from "../../../src/cli/commands/shared.ts";
import { type CliContext, createContext } from "../../../src/cli/context.ts";
import { isDropzoneError } from "../../../src/errors.ts";
import { exists } from "../../../src/fs.ts";
import { ociHost, type Runtime } from "../../../src/runtime.ts";
import { acquireStoreLock } from "../../../src/store/lock.ts";
import { tempHome } from "../../support/temp_home.ts";
import { installVersion } from "../../support/store_fixtures.ts";

interface Probe {
  ctx: CliContext;
  stderr(): string;
}

function context(home: string, answers: string[] | null, env: Record<string, string> = {}): Probe {
  let stderr = "";
  const vars: Record<string, string> = { DROPZONE_HOME: home, ...env };
  const runtime: Runtime = {
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: () => new Date(Date.UTC(2026, 11, 1)),
    env: (name) => vars[name],
    homeDir: home + "-user",
    host: ociHost("linux", "amd64"),
    stdout: { write: () => {}, isTerminal: false },
    stderr: { write: (t) => void (stderr += t), isTerminal: false },
    stdinIsTerminal: answers !== null,
    readStdin: () => Promise.resolve(""),
    prompt: (q) => {
      stderr += q;
      return Promise.resolve(answers === null ? null : answers.shift() ?? "");
    },
  };
  return { ctx: createContext(runtime, { verbose: false, quiet: false }), stderr: () => stderr };
}

const code = (c: string) => (err: unknown) => isDropzoneError(err) && err.code === c;

Deno.test("confirm(): yes/y goes on, anything else aborts, no terminal needs --yes, --yes never asks", async () => {
  await using home = await tempHome();
  for (const answer of ["y", "YES", " yes "]) {
    await confirm(context(home.path, [answer]).ctx, "Go?", false);
  }
  for (const answer of ["", "n", "yep"]) {
    await assert.rejects(() => confirm(context(home.path, [answer]).ctx, "Go?", false), code("ABORTED"));
  }
  await assert.rejects(
    () => confirm(context(home.path, null).ctx, "Delete it?", undefined),
    (err) => code("ABORTED")(err) && /Delete it: not confirmed/.test((err as Error).message),
  );
  const asked = context(home.path, []);
  await confirm(asked.ctx, "Go?", true);
  assert.equal(asked.stderr(), "", "--yes does not prompt");
});

Deno.test("requireInstalled() and installedPackages(): NOT_INSTALLED with a hint, the rest sorted by name", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "zed", "1");
  await installVersion(home.layout, "awk", "1");
  const { ctx } = context(home.path, null);
  assert.deepEqual((await installedPackages(ctx)).map((m) => m.name), ["awk", "zed"]);
  assert.equal((await requireInstalled(ctx, "zed")).name, "zed");
  await assert.rejects(
    () => requireInstalled(ctx, "ghost"),
    (err) => code("NOT_INSTALLED")(err) && /dz install ghost/.test((err as { hint?: string }).hint ?? ""),
  );
});

Deno.test("the store lock removes an interrupted dz's leftovers, and a busy lock says whom it waits for", async () => {
  await using home = await tempHome();
  await installVersion(home.layout, "cat", "1");
  const leftover = join(home.layout.packages, "cat", ".staging-dead");
  const topLeftover = join(home.layout.packages, ".trash-dead");
  await Deno.mkdir(leftover, { recursive: true });
  await Deno.mkdir(topLeftover, { recursive: true });
  const probe = context(home.path, null);
  assert.equal(await withStoreLock(probe.ctx, () => Promise.resolve(42)), 42);
  assert.equal(await exists(leftover), false);
  assert.equal(await exists(topLeftover), false);
  assert.ok(await exists(join(home.layout.packages, "cat")), "the package itself stays");

  const held = await acquireStoreLock(home.layout.lockFile, { pid: 4242 });
  const busy = context(home.path, null, { DZ_LOCK_TIMEOUT_MS: "0" });
  await assert.rejects(() => storeAccess(busy.ctx).lock(), code("LOCKED"));
  assert.match(busy.stderr(), /Waiting for another dz \(pid 4242\) to finish…/);
  await held.release();
  await using _lock = await storeAccess(busy.ctx).lock();
});

Deno.test("installDeps() takes the store, clock, host and signal from the context unless --platform chose a host", async () => {
  await using home = await tempHome();
  const { ctx } = context(home.path, null);
  const parts = {
    config: {} as never,
    client: {} as never,
    loadTrust: () => Promise.reject(new Error("unused")),
  };
  const deps = installDeps(ctx, parts);
  assert.equal(deps.layout, ctx.layout);
  assert.equal(deps.host, ctx.runtime.host);
  assert.equal(deps.now().toISOString(), "2026-12-01T00:00:00.000Z");
  assert.equal("onEvent" in deps, false);
  const arm = installDeps(ctx, { ...parts, host: ociHost("linux", "arm64"), onEvent: () => {} });
  assert.equal(arm.host.arch, "arm64");
  assert.equal(typeof arm.onEvent, "function");
});
