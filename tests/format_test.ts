import assert from "node:assert/strict";
import { formatBytes, formatBytesFixed } from "../src/format.ts";

Deno.test("formatBytes() uses binary units, whole values without a decimal", async (t) => {
  const cases: [number, string][] = [
    [0, "0 bytes"],
    [1023, "1023 bytes"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [300 * 1024, "300 KiB"],
    [4 * 1024 * 1024, "4 MiB"],
    [33 * 1024 * 1024 + 1, "33.0 MiB"],
    [1.5 * 1024 ** 3, "1.5 GiB"],
    [2 * 1024 ** 5, "2048 TiB"],
  ];
  for (const [n, expected] of cases) await t.step(`${n}`, () => assert.equal(formatBytes(n), expected));
});

Deno.test("formatBytesFixed() keeps one decimal from KiB up so progress figures do not jump", async (t) => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [5 * 1024 * 1024, "5.0 MiB"],
    [5.05 * 1024 * 1024, "5.0 MiB"],
    [1.5 * 1024 ** 3, "1.5 GiB"],
  ];
  for (const [n, expected] of cases) await t.step(`${n}`, () => assert.equal(formatBytesFixed(n), expected));
});
