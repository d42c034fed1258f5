import assert from "node:assert/strict";
import { decodeTar, type TarHeader } from "../../src/unpack/tar_stream.ts";
import { applyLayer } from "../../src/unpack/extract.ts";
import { isDropzoneError } from "../../src/errors.ts";
import {
  buildTar,
  dir,
  file,
  paxGlobal,
  type RawEntry,
  streamOf,
  symlink,
  tarHeader,
  withGnuLongNames,
  withPax,
  writeBase256,
} from "../support/tar_writer.ts";
import { tempDir } from "../support/unpack_fixtures.ts";

interface Decoded {
  header: TarHeader;
  body: string;
}

async function decodeAll(tar: Uint8Array, chunkSize = 64 * 1024): Promise<Decoded[]> {
  const out: Decoded[] = [];
  for await (const entry of decodeTar(streamOf(tar, chunkSize))) {
    out.push({ header: entry.header, body: await new Response(entry.body).text() });
  }
  return out;
}

const LONG_DIR = "d".repeat(120);
const NAME_150 = `${LONG_DIR}/${"f".repeat(29)}`; // 150 bytes: needs the ustar prefix or an extension
const NAME_300 = `${"a".repeat(100)}/${"b".repeat(100)}/${"c".repeat(98)}`; // 300 bytes: beyond ustar

Deno.test("decodeTar() splits ustar prefix and name for paths over 100 bytes", async () => {
  const entry: RawEntry = { name: "f".repeat(29), prefix: LONG_DIR, body: "x" };
  const [decoded] = await decodeAll(buildTar([entry]));
  assert.equal(decoded?.header.name, NAME_150);
});

Deno.test("decodeTar() applies PAX path, linkpath and size overrides over 255 bytes", async () => {
  const longTarget = `/${"t".repeat(280)}`;
  const tar = buildTar([
    withPax({ path: NAME_300 }, file("short-ustar-name", "pax body")),
    withPax({ path: `${NAME_300}.lnk`, linkpath: longTarget }, symlink("short-link", "short-target")),
    // The ustar size field says 0; the PAX size record says 11 and wins.
    withPax({ size: "11" }, { name: "sized", body: "hello world", size: 0 }),
  ]);
  const decoded = await decodeAll(tar);
  assert.deepEqual(decoded.map((d) => [d.header.name, d.header.type, d.body]), [
    [NAME_300, "file", "pax body"],
    [`${NAME_300}.lnk`, "symlink", ""],
    ["sized", "file", "hello world"],
  ]);
  assert.equal(decoded[1]?.header.linkname, longTarget);
});

Deno.test("decodeTar() lets a PAX path override the ustar name and prefix", async () => {
  const tar = buildTar([withPax({ path: "from/pax" }, { name: "from-ustar", prefix: "prefix", body: "1" })]);
  const [decoded] = await decodeAll(tar);
  assert.equal(decoded?.header.name, "from/pax");
});

Deno.test("decodeTar() applies PAX global records to later entries and per-file records over them", async () => {
  const tar = buildTar([
    paxGlobal({ mtime: "1000", uname: "global" }),
    file("a", "1"),
    withPax({ mtime: "2000" }, file("b", "2")),
    file("c", "3"),
  ]);
  const decoded = await decodeAll(tar);
  assert.deepEqual(decoded.map((d) => d.header.name), ["a", "b", "c"], "the g header is not an entry");
  assert.deepEqual(decoded.map((d) => d.header.mtime?.getTime()), [1_000_000, 2_000_000, 1_000_000]);
  assert.equal(decoded[2]?.header.uname, "global");
});

Deno.test("decodeTar() reads GNU L and K long names and links over 255 bytes", async () => {
  const tar = buildTar([
    withGnuLongNames(file(NAME_300, "gnu body")),
    withGnuLongNames(symlink(`${NAME_300}.sym`, "x"), `../${"k".repeat(260)}`),
    withGnuLongNames({ name: `${NAME_300}.hard`, type: "link", linkname: "x" }, NAME_300),
    file("after", "next"),
  ]);
  const decoded = await decodeAll(tar);
  assert.deepEqual(decoded.map((d) => [d.header.name, d.header.type, d.header.linkname ?? "", d.body]), [
    [NAME_300, "file", "", "gnu body"],
    [`${NAME_300}.sym`, "symlink", `../${"k".repeat(260)}`, ""],
    [`${NAME_300}.hard`, "link", NAME_300, ""],
    ["after", "file", "", "next"],
  ]);
});

Deno.test("decodeTar() parses base-256 sizes", async () => {
  const decoded = await decodeAll(
    buildTar([{ name: "b256", body: "12345", base256Size: true }, file("z", "z")]),
  );
  assert.deepEqual(decoded.map((d) => [d.header.name, d.header.size, d.body]), [["b256", 5, "12345"], [
    "z",
    1,
    "z",
  ]]);
});

Deno.test("decodeTar() reports sizes over 8 GiB from base-256 and PAX headers", async () => {
  const big = 9 * 1024 ** 3 + 7;
  const base256 = tarHeader({ name: "huge-b256" }, 0);
  writeBase256(base256, 124, 12, big);
  // Recompute the checksum after patching the size field.
  base256.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of base256) sum += b;
  base256.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0")), 148);
  base256[154] = 0;
  const paxTar = buildTar([withPax({ size: String(big) }, { name: "huge-pax", size: 0 })], { eof: false });
  for (const [tar, name] of [[base256, "huge-b256"], [paxTar, "huge-pax"]] as const) {
    const reader = decodeTar(streamOf(tar)).getReader();
    const first = await reader.read();
    assert.equal(first.value?.header.name, name);
    assert.equal(first.value?.header.size, big);
    await reader.cancel();
  }
});

Deno.test("decodeTar() rejects a header with a bad checksum", async () => {
  const tar = buildTar([file("ok", "1"), { name: "bad", body: "2", badChecksum: true }]);
  await assert.rejects(() => decodeAll(tar), /checksum/i);
});

Deno.test("decodeTar() rejects a truncated archive", async () => {
  const full = buildTar([file("big", "x".repeat(2000))]);
  await assert.rejects(() => decodeAll(full.subarray(0, 1024)), /truncated/i);
});

Deno.test("decodeTar() decodes the same entries from 1-byte and 7-byte chunks", async () => {
  const tar = buildTar([
    dir("d/"),
    withPax({ path: NAME_300 }, file("p", "pax")),
    withGnuLongNames(file(`${NAME_300}2`, "gnu")),
    file("d/e", "e".repeat(1500)),
  ]);
  const expected = await decodeAll(tar);
  for (const size of [1, 7, 511, 513]) {
    const got = await decodeAll(tar, size);
    assert.deepEqual(got.map((d) => [d.header.name, d.body]), expected.map((d) => [d.header.name, d.body]));
  }
});

Deno.test("decodeTar() moves on when an entry body is cancelled unread", async () => {
  const tar = buildTar([file("skip", "s".repeat(5000)), file("keep", "k")]);
  const names: string[] = [];
  let kept = "";
  for await (const entry of decodeTar(streamOf(tar, 100))) {
    names.push(entry.header.name);
    if (entry.header.name === "skip") await entry.body.cancel();
    else kept = await new Response(entry.body).text();
  }
  assert.deepEqual(names, ["skip", "keep"]);
  assert.equal(kept, "k");
});

Deno.test("applyLayer() reports a corrupt tar header as UNSAFE_LAYER", async () => {
  await using tmp = await tempDir();
  const tar = buildTar([file("ok", "1"), { name: "bad", body: "2", badChecksum: true }]);
  await assert.rejects(
    () => applyLayer(streamOf(tar), tmp.path),
    (err) => isDropzoneError(err, "UNSAFE_LAYER"),
  );
});
