/** Writing bin/ entries: all in order, or only those not already current. */
import assert from "node:assert/strict";
import { type BinEntry, writeBinEntries } from "../../src/app/bin_entries.ts";

function entries(current: Record<string, boolean>, log: string[]): BinEntry[] {
  return Object.entries(current).map(([path, isCurrent]) => ({
    path,
    write: () => {
      log.push(path);
      return Promise.resolve();
    },
    isCurrent: () => Promise.resolve(isCurrent),
  }));
}

Deno.test("writeBinEntries() writes every entry in order and returns their paths", async () => {
  const log: string[] = [];
  assert.deepEqual(await writeBinEntries(entries({ "/b/a": true, "/b/b": false }, log)), ["/b/a", "/b/b"]);
  assert.deepEqual(log, ["/b/a", "/b/b"], "without onlyChanged even a current entry is rewritten");
});

Deno.test("writeBinEntries({ onlyChanged }) skips entries that are already current", async () => {
  const log: string[] = [];
  const written = await writeBinEntries(entries({ "/b/a": true, "/b/b": false, "/b/c": true }, log), {
    onlyChanged: true,
  });
  assert.deepEqual(written, ["/b/b"]);
  assert.deepEqual(log, ["/b/b"]);
});

Deno.test("writeBinEntries() stops at the first failing write and reports it", async () => {
  const log: string[] = [];
  const list = entries({ "/b/a": false, "/b/b": false }, log);
  list[0] = { ...list[0]!, write: () => Promise.reject(new Error("EROFS")) };
  await assert.rejects(() => writeBinEntries(list), /EROFS/);
  assert.deepEqual(log, [], "nothing after the failure is written");
});
