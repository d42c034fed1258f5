import assert from "node:assert/strict";
import { eventLoopTurns } from "../src/event_loop.ts";

Deno.test("a turn lets a due timer run in the middle of a synchronous batch", async () => {
  using turns = eventLoopTurns();
  let fired = false;
  setTimeout(() => fired = true, 0);
  const until = performance.now() + 20;
  while (performance.now() < until) { /* a synchronous batch */ }
  assert.equal(fired, false, "nothing runs while the batch holds the thread");
  for (let i = 0; i < 50 && !fired; i++) await turns.next();
  assert.equal(fired, true);
});

Deno.test("disposing releases the channel (the op sanitizer sees no leak) and wakes a pending turn", async () => {
  const turns = eventLoopTurns();
  await turns.next();
  const pending = turns.next();
  turns[Symbol.dispose]();
  await pending;
});
