import assert from "node:assert/strict";
import { sanitizeTerminal } from "../../src/cli/sanitize.ts";
import { json, table } from "../../src/cli/render.ts";

const ESC = "\x1b";

Deno.test("sanitizeTerminal() makes every control and bidi character visible and keeps printable text", () => {
  const cases: [string, string, string][] = [
    ["plain ASCII", "jq 1.7.1 ok", "jq 1.7.1 ok"],
    ["tab and newline kept", "a\tb\nc", "a\tb\nc"],
    ["printable Unicode kept", "café ✓ 日本 😀 €", "café ✓ 日本 😀 €"],
    ["OSC 52 clipboard write (BEL)", `${ESC}]52;c;ZXZpbA==\x07`, "\\u001b]52;c;ZXZpbA==\\u0007"],
    ["OSC 0 title (ST)", `${ESC}]0;pwned${ESC}\\`, "\\u001b]0;pwned\\u001b\\"],
    ["CSI colour and cursor movement", `${ESC}[31mred${ESC}[2A`, "\\u001b[31mred\\u001b[2A"],
    ["DCS", `${ESC}Pq#0${ESC}\\`, "\\u001bPq#0\\u001b\\"],
    ["8-bit C1 CSI and OSC", "\u009b31m\u009d0;t\u009c", "\\u009b31m\\u009d0;t\\u009c"],
    ["carriage return (overwrites the line)", "ok\rEVIL", "ok\\u000dEVIL"],
    ["NUL, backspace, DEL", "a\x00b\x08c\x7f", "a\\u0000b\\u0008c\\u007f"],
    ["bidi override", "file\u202Etxt.exe", "file\\u202etxt.exe"],
    ["bidi isolates and marks", "\u2066a\u2069\u200f\u061c", "\\u2066a\\u2069\\u200f\\u061c"],
    ["line separator", "a\u2028b", "a\\u2028b"],
  ];
  for (const [what, input, expected] of cases) {
    const out = sanitizeTerminal(input);
    assert.equal(out, expected, what);
    assert.equal(sanitizeTerminal(out), out, `${what}: idempotent`);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, what);
  }
});

Deno.test("json() keeps exact values but emits no byte a terminal would interpret", () => {
  const value = {
    tag: `v1${ESC}]52;c;ZXZpbA==\x07`,
    c1: "\u009b31m",
    bidi: "a\u202Eb",
    del: "x\x7f",
    plain: "café ✓",
  };
  const text = json(value);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(sanitizeTerminal(text), text, "the stdout sink leaves --json untouched");
  assert.ok(!text.includes(ESC) && !text.includes("\u202E") && !text.includes("\u009b"));
  assert.ok(text.includes("café ✓"), "printable Unicode stays readable");
  // Raw JSON (not through json()) stays valid and exact through the sanitiser too.
  const raw = JSON.stringify(value);
  assert.deepEqual(JSON.parse(sanitizeTerminal(raw)), value);
});

Deno.test("table() escapes cells before aligning columns", () => {
  const out = table(["NAME", "TAG"], [[`a${ESC}[2J`, "1"], ["bb", "2"]]);
  assert.equal(out, "NAME        TAG\na\\u001b[2J  1\nbb          2\n");
});
