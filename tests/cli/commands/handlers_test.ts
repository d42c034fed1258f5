/** handlers.ts: a command module is imported only when one of its handlers is called, and the call goes through. */
import assert from "node:assert/strict";
import * as h from "../../../src/cli/commands/handlers.ts";
import { installVersion } from "../../support/store_fixtures.ts";
import { tempHome } from "../../support/temp_home.ts";

Deno.test("lazy() imports nothing until a handler is called, then forwards arguments, results and errors", async () => {
  let loads = 0;
  const module = {
    add: (a: number, b: number) => Promise.resolve(a + b),
    fail: () => Promise.reject(new Error("boom")),
  };
  const { add, fail } = h.lazy(() => {
    loads++;
    return Promise.resolve(module);
  });
  assert.equal(loads, 0, "destructuring does not import");
  assert.equal(await add(2, 3), 5);
  assert.equal(loads, 1);
  await assert.rejects(() => fail(), /boom/);
});

Deno.test("every command handler handlers.ts exports is a function that resolves its module's export of that name", async () => {
  const names = Object.keys(h).filter((k) => k !== "lazy");
  assert.ok(names.length >= 30, `${names.length} handlers`);
  for (const name of names) assert.equal(typeof (h as Record<string, unknown>)[name], "function", name);
  // A handler reaches the real function: completion's lists the packages installed in the home.
  await using home = await tempHome();
  for (const name of ["lab", "corp"]) await installVersion(home.layout, name, "1");
  let out = "";
  const ctx = { out: (t: string) => void (out += t), layout: home.layout };
  await h.completeNames(ctx as never, "packages");
  assert.equal(out, "corp\nlab\n");
});
