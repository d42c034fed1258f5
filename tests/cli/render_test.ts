/** Tests for src/cli/render.ts: error formatting, sanitising of remote text, tables, JSON, time and folding. */
import assert from "node:assert/strict";
import {
  fold,
  formatError,
  formatTime,
  json,
  plural,
  sanitize,
  table,
  truncate,
} from "../../src/cli/render.ts";
import { DropzoneError } from "../../src/errors.ts";

const ESC = "\x1b";

Deno.test("sanitize() hides credentials in URLs, query strings and auth headers and escapes control bytes", () => {
  const cases: [string, string, string][] = [
    ["userinfo", "GET https://alice:s3cret@ghcr.io/v2/", "GET https://***@ghcr.io/v2/"],
    ["token query", "https://auth.io/token?scope=x&token=abc.def", "https://auth.io/token?scope=x&token=***"],
    ["access_token", "?access_token=zzz&x=1", "?access_token=***&x=1"],
    ["S3 signature", "blob?X-Amz-Signature=deadbeef", "blob?X-Amz-Signature=***"],
    ["case-insensitive key", "?PASSWORD=hunter2", "?PASSWORD=***"],
    ["bearer header", "Authorization: Bearer eyJhbGciOi.J9-_x", "Authorization: Bearer ***"],
    ["basic header", "Basic YWxpY2U6czNjcmV0", "Basic ***"],
    ["escape sequence", `tag ${ESC}]52;c;ZXZpbA==\x07`, "tag \\u001b]52;c;ZXZpbA==\\u0007"],
    [
      "plain text untouched",
      "jq 1.7.1 from docker.io/chainguard/jq",
      "jq 1.7.1 from docker.io/chainguard/jq",
    ],
  ];
  for (const [what, input, want] of cases) assert.equal(sanitize(input), want, what);
});

Deno.test("formatError() prints one error line and a hint; causes only with --verbose, sanitised", () => {
  const cause = new Error(`upstream said ${ESC}[31mno https://u:p@reg.io/x`);
  const err = new DropzoneError("REGISTRY_UNREACHABLE", `Cannot reach reg.io ${ESC}]0;title\x07`, {
    hint: "Check the network",
    cause,
  });
  const quiet = formatError(err, { verbose: false });
  assert.equal(quiet, "error: Cannot reach reg.io \\u001b]0;title\\u0007\nhint: Check the network\n");
  const loud = formatError(err, { verbose: true });
  assert.match(loud, /^ {2}caused by: upstream said \\u001b\[31mno https:\/\/\*\*\*@reg\.io\/x$/m);
  assert.ok(!loud.includes(ESC));
  assert.ok(!loud.includes(":p@"));
});

Deno.test("formatError() calls a non-DropzoneError a bug, with the stack only when verbose", () => {
  const err = new TypeError("x is undefined");
  const quiet = formatError(err, { verbose: false });
  assert.match(quiet, /^error: unexpected failure \(this is a bug in dz\): x is undefined\n/);
  assert.match(quiet, /^hint: run again with --verbose/m);
  assert.ok(!quiet.includes("at "), "no stack trace without --verbose");
  const loud = formatError(err, { verbose: true });
  assert.match(loud, /render_test\.ts/, "the stack is shown with --verbose");
  assert.equal(
    formatError("a string", { verbose: false }).split("\n")[0],
    "error: unexpected failure (this is a bug in dz): a string",
  );
});

Deno.test("formatError() reports an I/O failure with an I/O hint, never as a bug", () => {
  const err = new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/x'");
  const text = formatError(err, { verbose: false });
  assert.ok(!text.includes("bug in dz"), text);
  assert.match(text, /^error: Permission denied/);
  assert.match(text, /^hint: /m);
});

Deno.test("truncate() cuts by characters (not UTF-16 units) and marks the cut with …", () => {
  const cases: [string, number, string][] = [
    ["abcdef", 6, "abcdef"],
    ["abcdef", 5, "abcd…"],
    ["abcdef", 1, "…"],
    ["abcdef", 0, ""],
    ["😀😀😀", 2, "😀…"],
  ];
  for (const [text, width, want] of cases) assert.equal(truncate(text, width), want, `${text}/${width}`);
});

Deno.test("table() aligns columns, sanitises cells and trims trailing spaces", () => {
  const out = table(["NAME", "TAG"], [["jq", "1.7"], [`evil${ESC}[2J`, ""]]);
  assert.equal(out, "NAME           TAG\njq             1.7\nevil\\u001b[2J\n");
});

Deno.test("table() with a width shrinks the listed columns first, then the last, and no line reaches the width", () => {
  const rows = [["jq", "a-very-long-source-column-value-here", "https://example.com/long/identity"]];
  for (const width of [80, 50, 30, 12, 3]) {
    const out = table(["NAME", "SOURCE", "SIGNER"], rows, { width, shrink: [1] });
    for (const line of out.trimEnd().split("\n")) {
      assert.ok([...line].length < width || width === 1, `${width}: ${line}`);
    }
  }
  const fifty = table(["NAME", "SOURCE", "SIGNER"], rows, { width: 50, shrink: [1] });
  assert.match(fifty, /a-very-…/, "the shrinkable column is cut first");
  assert.match(fifty, /https:\/\/example\.com\/long\/identity/, "the last column still fits whole");
  assert.equal(table(["A"], [["x".repeat(200)]]).length, 2 + 200 + 1, "piped (no width): nothing is cut");
});

Deno.test("json() is stable two-space JSON with escaped control characters and a trailing newline", () => {
  const text = json({ tag: `1${ESC}]52;c;x\x07`, n: [1] });
  assert.equal(text, '{\n  "tag": "1\\u001b]52;c;x\\u0007",\n  "n": [\n    1\n  ]\n}\n');
  assert.ok(!text.includes(ESC));
  assert.deepEqual(JSON.parse(text), { tag: `1${ESC}]52;c;x\x07`, n: [1] }, "values stay exact");
});

Deno.test("formatTime() and plural()", () => {
  assert.equal(formatTime("2026-11-22T19:48:12.345Z"), "2026-11-22 19:48");
  assert.equal(formatTime(undefined), "-");
  assert.equal(formatTime(""), "-");
  assert.equal(plural(0, "update"), "0 updates");
  assert.equal(plural(1, "update"), "1 update");
  assert.equal(plural(2, "package"), "2 packages");
});

Deno.test("fold() keeps short lines, indents continuations and keeps each line's own indentation", () => {
  assert.equal(fold("short line", 80), "short line");
  const folded = fold("  one two three four five six seven", 16);
  const lines = folded.split("\n");
  for (const l of lines) assert.ok(l.length < 16, l);
  assert.ok(lines[0]!.startsWith("  one"));
  for (const l of lines.slice(1)) {
    assert.ok(l.startsWith("    "), `continuation indented: ${JSON.stringify(l)}`);
  }
  assert.equal(folded.replace(/\s+/g, " ").trim(), "one two three four five six seven", "no word lost");
});
