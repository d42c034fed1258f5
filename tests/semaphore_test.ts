import assert from "node:assert/strict";
import { Semaphore } from "../src/semaphore.ts";

Deno.test("Semaphore never runs more than its limit and serves waiters in order", async () => {
  const sem = new Semaphore(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(Array.from({ length: 6 }, (_, i) =>
    sem.run(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    })));
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});

Deno.test("Semaphore: a disposed permit frees its slot once, however often it is released", async () => {
  const sem = new Semaphore(1);
  {
    using permit = await sem.acquire();
    permit.release(); // an explicit release before dispose must not free a second slot
  }
  const first = await sem.acquire();
  let second = false;
  const pending = sem.acquire().then((p) => {
    second = true;
    return p;
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(second, false, "the only slot is held");
  first.release();
  (await pending).release();
  assert.equal(second, true);
});

Deno.test("Semaphore: a slot freed by a failing task goes to the next waiter", async () => {
  const sem = new Semaphore(1);
  const failed = sem.run(() => Promise.reject(new Error("boom")));
  const next = sem.run(() => Promise.resolve("ran"));
  await assert.rejects(failed, /boom/);
  assert.equal(await next, "ran");
  assert.throws(() => new Semaphore(0), RangeError);
});
