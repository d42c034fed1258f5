import assert from "node:assert/strict";
import { isDropzoneError } from "../../src/errors.ts";
import { acquireStoreLock, readLockHolder } from "../../src/store/lock.ts";
import { tempHome } from "../support/temp_home.ts";
import { canMount, mountTmpfs } from "../support/tmpfs.ts";
import { spawnDeno } from "./_child.ts";

const HOLDER = new URL("./_lock_holder.ts", import.meta.url);

Deno.test("acquireStoreLock() takes a free lock, records the pid and releases on dispose", async () => {
  await using home = await tempHome();
  {
    await using lock = await acquireStoreLock(home.layout.lockFile, { pid: 4242 });
    assert.equal(lock.path, home.layout.lockFile);
    assert.equal(await readLockHolder(home.layout.lockFile), 4242);
  }
  assert.equal(await readLockHolder(home.layout.lockFile), undefined);
  const again = await acquireStoreLock(home.layout.lockFile, { timeoutMs: 0 });
  await again.release();
  await again.release(); // idempotent
});

Deno.test("acquireStoreLock() reports the holder once and fails with LOCKED after the timeout", async () => {
  await using home = await tempHome();
  await using holder = spawnDeno(HOLDER, [home.layout.lockFile]);
  const line = await holder.waitForLine("held");
  assert.equal(line, `held ${holder.pid}`);
  const waits: (number | undefined)[] = [];
  const started = Date.now();
  await assert.rejects(
    acquireStoreLock(home.layout.lockFile, { timeoutMs: 300, pollMs: 20, onWait: (pid) => waits.push(pid) }),
    (err) =>
      isDropzoneError(err, "LOCKED") && err.message.includes(`pid ${holder.pid}`) && err.hint !== undefined,
  );
  assert.ok(Date.now() - started >= 290);
  assert.deepEqual(waits, [holder.pid]);
});

Deno.test("acquireStoreLock() gets the lock once a SIGKILLed holder is gone", async () => {
  await using home = await tempHome();
  await using holder = spawnDeno(HOLDER, [home.layout.lockFile]);
  await holder.waitForLine("held");
  let waited = 0;
  const pending = acquireStoreLock(home.layout.lockFile, {
    timeoutMs: 5000,
    pollMs: 20,
    onWait: () => waited++,
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  holder.kill("SIGKILL");
  await using lock = await pending;
  assert.equal(waited, 1);
  assert.equal(await readLockHolder(home.layout.lockFile), Deno.pid);
  assert.ok(lock);
});

Deno.test("acquireStoreLock() waits for a holder that releases normally", async () => {
  await using home = await tempHome();
  await using holder = spawnDeno(HOLDER, [home.layout.lockFile, "200"]);
  await holder.waitForLine("held");
  await using lock = await acquireStoreLock(home.layout.lockFile, { timeoutMs: 5000, pollMs: 20 });
  assert.ok(lock);
  await holder.status;
});

Deno.test("acquireStoreLock() excludes a second acquirer in the same process", async () => {
  await using home = await tempHome();
  await using first = await acquireStoreLock(home.layout.lockFile);
  await assert.rejects(
    acquireStoreLock(home.layout.lockFile, { timeoutMs: 50, pollMs: 10 }),
    (err) => isDropzoneError(err, "LOCKED") && err.message.includes(`pid ${Deno.pid}`),
  );
  assert.ok(first);
});

Deno.test("acquireStoreLock() stops waiting with ABORTED when the signal aborts", async () => {
  await using home = await tempHome();
  await using first = await acquireStoreLock(home.layout.lockFile);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(
    acquireStoreLock(home.layout.lockFile, { timeoutMs: 10_000, signal: controller.signal }),
    (err) => isDropzoneError(err, "ABORTED"),
  );
  assert.ok(first);
});

Deno.test({
  name: "acquireStoreLock() on a read-only home fails with PERMISSION and a hint, not a raw OS error",
  ignore: !(await canMount()),
  async fn() {
    await using ro = await mountTmpfs({ sizeKiB: 16, readOnly: true });
    const err = await acquireStoreLock(`${ro.path}/home/.lock`).catch((e) => e);
    assert.ok(isDropzoneError(err, "PERMISSION"), String(err));
    assert.match(err.message, /the file system is read-only/);
    assert.match(err.hint ?? "", /DROPZONE_HOME/);
    assert.equal(err.exitCode, 1);
  },
});
