import assert from "node:assert/strict";
import { eventLoopTurns, SLICE_MS } from "../src/event_loop.ts";

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

Deno.test("a turn is due once the batch has held the thread for a time slice, counted from the last turn", async () => {
  let clock = 1000;
  using turns = eventLoopTurns({ now: () => clock });
  assert.equal(turns.due(), false);
  clock += SLICE_MS - 1;
  assert.equal(turns.due(), false);
  clock += 1;
  assert.equal(turns.due(), true, "one slow call is enough: the slice is time, not a count of calls");
  await turns.next();
  assert.equal(turns.due(), false, "the turn starts a new slice");
});

Deno.test("disposing releases the channel (the op sanitizer sees no leak) and wakes a pending turn", async () => {
  const turns = eventLoopTurns();
  await turns.next();
  const pending = turns.next();
  turns[Symbol.dispose]();
  await pending;
});
