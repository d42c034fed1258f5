import assert from "node:assert/strict";
import { applyRcBlock, RC_END, RC_START, removeRcBlock, renderPathBlock } from "../../src/host/rc.ts";

const BLOCK = [RC_START, "export PATH=x", RC_END].join("\n");
const BLOCK2 = [RC_START, "export PATH=y", RC_END].join("\n");

Deno.test("applyRcBlock() and removeRcBlock() round-trip byte for byte", async (t) => {
  const cases: { name: string; text: string; applied: string }[] = [
    { name: "empty file", text: "", applied: `${BLOCK}\n` },
    { name: "trailing newline", text: "alias ll='ls -l'\n", applied: `alias ll='ls -l'\n\n${BLOCK}\n` },
    { name: "no trailing newline", text: "alias ll='ls -l'", applied: `alias ll='ls -l'\n${BLOCK}` },
    { name: "ends with blank lines", text: "a\n\n", applied: `a\n\n\n${BLOCK}\n` },
    { name: "only a newline", text: "\n", applied: `\n\n${BLOCK}\n` },
    { name: "CRLF file", text: "a\r\nb\r\n", applied: `a\r\nb\r\n\r\n${BLOCK.replaceAll("\n", "\r\n")}\r\n` },
    {
      name: "unicode and odd bytes",
      text: "echo 'ünï' # ✓\n\tx=1\n",
      applied: `echo 'ünï' # ✓\n\tx=1\n\n${BLOCK}\n`,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const applied = applyRcBlock(c.text, BLOCK);
      assert.equal(applied.text, c.applied);
      assert.equal(applied.changed, true);
      const again = applyRcBlock(applied.text, BLOCK);
      assert.equal(again.changed, false, "idempotent");
      assert.equal(again.text, applied.text);
      const removed = removeRcBlock(applied.text);
      assert.equal(removed.changed, true);
      assert.equal(removed.text, c.text);
    });
  }
});

Deno.test("applyRcBlock() replaces an existing block in place and keeps its surroundings", () => {
  const text = `before\n${BLOCK}\nafter\n`;
  const edit = applyRcBlock(text, BLOCK2);
  assert.equal(edit.text, `before\n${BLOCK2}\nafter\n`);
  assert.equal(edit.changed, true);
  const crlf = `before\r\n${BLOCK.replaceAll("\n", "\r\n")}\r\nafter`;
  assert.equal(applyRcBlock(crlf, BLOCK2).text, `before\r\n${BLOCK2.replaceAll("\n", "\r\n")}\r\nafter`);
});

Deno.test("applyRcBlock() and removeRcBlock() leave a start marker without an end marker alone", () => {
  const text = `a\n${RC_START}\nexport PATH=x\nb\n`;
  const applied = applyRcBlock(text, BLOCK);
  assert.deepEqual(applied, { text, changed: false, malformed: true });
  assert.deepEqual(removeRcBlock(text), { text, changed: false, malformed: true });
});

Deno.test("removeRcBlock() without a block changes nothing", () => {
  assert.deepEqual(removeRcBlock("a\nb"), { text: "a\nb", changed: false, malformed: false });
  assert.deepEqual(removeRcBlock(""), { text: "", changed: false, malformed: false });
});

Deno.test("removeRcBlock() removes a block in the middle of a file", () => {
  assert.equal(removeRcBlock(`a\n${BLOCK}\nb\n`).text, "a\nb\n");
  assert.equal(removeRcBlock(`a\n\n${BLOCK}\nb\n`).text, "a\nb\n");
});

Deno.test("renderPathBlock() quotes the bin dir for each shell", () => {
  const dir = "/home/o'brien/$x `y`/bin";
  const sh = renderPathBlock("bash", dir);
  assert.ok(sh.startsWith(RC_START) && sh.endsWith(RC_END));
  assert.ok(sh.includes(`'/home/o'\\''brien/$x \`y\`/bin'`));
  const fish = renderPathBlock("fish", "/a\\b'c");
  assert.ok(fish.includes(`'/a\\\\b\\'c'`));
});
