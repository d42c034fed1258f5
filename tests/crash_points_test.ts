import assert from "node:assert/strict";
import { crashPoint, setCrashPointHandler } from "../src/crash_points.ts";

Deno.test("crashPoint() is a no-op without a handler and awaits an installed one in order", async () => {
  await crashPoint("nothing-installed");
  const seen: string[] = [];
  setCrashPointHandler(async (step) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen.push(step);
  });
  try {
    await crashPoint("a");
    seen.push("after a");
    await crashPoint("b");
    assert.deepEqual(seen, ["a", "after a", "b"], "the step waits for the handler before going on");
  } finally {
    setCrashPointHandler(undefined);
  }
  await crashPoint("cleared");
  assert.deepEqual(seen, ["a", "after a", "b"]);
});

Deno.test("crashPoint() propagates a handler's failure to the step that hit it", async () => {
  setCrashPointHandler((step) => {
    if (step === "boom") throw new Error("injected at boom");
  });
  try {
    await crashPoint("fine");
    await assert.rejects(crashPoint("boom"), /injected at boom/);
  } finally {
    setCrashPointHandler(undefined);
  }
});
