import assert from "node:assert/strict";
import { fromBase64, fromBase64Text, fromHex, toBase64, toHex } from "../src/encoding.ts";

Deno.test("hex round-trips bytes (views included) and refuses malformed text", () => {
  const backing = new Uint8Array([0xff, 0x00, 0x0a, 0xbc, 0x01]);
  assert.equal(toHex(backing.subarray(1, 4)), "000abc");
  assert.deepEqual(fromHex("000ABC"), new Uint8Array([0, 10, 188]));
  for (const bad of ["0", "zz", "0g"]) assert.throws(() => fromHex(bad), TypeError, bad);
});

Deno.test("base64 round-trips bytes and UTF-8 text and refuses malformed text", () => {
  assert.equal(toBase64("ü:p:w"), "w7w6cDp3");
  assert.equal(fromBase64Text(" w7w6cDp3\n"), "ü:p:w");
  const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
  assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
  assert.equal(toBase64(bytes.subarray(1, 4)), toBase64(new Uint8Array([1, 2, 3])));
  assert.throws(() => fromBase64("not base64!"), TypeError);
});
