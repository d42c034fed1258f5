import assert from "node:assert/strict";
import { runDz } from "../support/cli_harness.ts";
import { tempDir } from "../support/temp_home.ts";

async function holdLock(lockFile: string, releaseAfterMs = 0): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      new URL("../store/_lock_holder.ts", import.meta.url).pathname,
      lockFile,
      String(releaseAfterMs),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("held")) text += (await reader.read()).value ?? "";
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

Deno.test("a second mutating dz waits with a message and fails with a hint after the lock timeout", async () => {
  await using dir = await tempDir("dz-lock-");
  const home = dir.path;
  await runDz(["list"], { home });
  const holder = await holdLock(`${home}/.lock`);
  try {
    const r = await runDz(["add", "registry", "corp", "ghcr.io/corp"], {
      home,
      env: { DZ_LOCK_TIMEOUT_MS: "400" },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Waiting for another dz \(pid \d+\)/);
    assert.match(r.stderr, /^error: .*/m);
    assert.match(r.stderr, /^hint: /m);
    // Reading commands never take the lock.
    const list = await runDz(["list", "registries", "--json"], { home });
    assert.equal(list.code, 0);
    assert.equal(JSON.parse(list.stdout).length, 1, "the refused edit changed nothing");
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
  }
  // The kernel drops the lock of a killed holder: the next mutation goes through.
  const ok = await runDz(["add", "registry", "corp", "ghcr.io/corp"], {
    home,
    env: { DZ_LOCK_TIMEOUT_MS: "5000" },
  });
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("a waiting dz proceeds as soon as the other one finishes", async () => {
  await using dir = await tempDir("dz-lock-");
  const home = dir.path;
  await runDz(["list"], { home });
  const holder = await holdLock(`${home}/.lock`, 300);
  try {
    const r = await runDz(["add", "registry", "corp", "ghcr.io/corp"], {
      home,
      env: { DZ_LOCK_TIMEOUT_MS: "10000" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Waiting for another dz/);
  } finally {
    await holder.status;
  }
});
