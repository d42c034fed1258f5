import assert from "node:assert/strict";
import { onInterrupt, runInterruptCleanups, settleInterruptCleanups } from "../src/interrupt.ts";

// One test: the interrupt state is per process, and once interrupted it stays interrupted.
Deno.test("interrupt cleanups run newest first, once, and also for work registered after the interrupt", async () => {
  const ran: string[] = [];
  onInterrupt(() => Promise.resolve(void ran.push("staging dir")));
  onInterrupt(() => Promise.resolve(void ran.push("temp file")));
  const released = onInterrupt(() => Promise.resolve(void ran.push("committed")));
  released.release();
  await runInterruptCleanups();
  assert.deepEqual(ran, ["temp file", "staging dir"]);

  // A download still in flight opens its temp file just after the cleanup ran: it is undone at once.
  onInterrupt(() => Promise.resolve(void ran.push("late temp file")));
  await runInterruptCleanups();
  assert.deepEqual(ran, ["temp file", "staging dir", "late temp file"]);

  // Settling waits for work that registers a moment later, before dz exits.
  setTimeout(() => onInterrupt(() => Promise.resolve(void ran.push("later still"))), 10);
  await settleInterruptCleanups(50, 400);
  assert.deepEqual(ran.at(-1), "later still");
  assert.equal(ran.filter((r) => r === "temp file").length, 1, "each cleanup runs once");
});
