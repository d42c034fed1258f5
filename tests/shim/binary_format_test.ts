import assert from "node:assert/strict";
import { join } from "node:path";
import { detectBinaryFormat, type ElfInfo } from "../../src/shim/binary_format.ts";
import { readBinaryFormat } from "../../src/shim/resolve.ts";
import { craftElf, craftFat, craftMachO, HOST, lddPaths } from "../support/shim_fixtures.ts";

const linux = Deno.build.os === "linux";
const text = (s: string) => new TextEncoder().encode(s);

Deno.test({
  name: "readBinaryFormat() reads /bin/ls as a dynamic ELF for the host arch with its PT_INTERP",
  ignore: !linux,
  async fn() {
    const format = await readBinaryFormat("/bin/ls");
    assert.equal(format.kind, "elf");
    const elf = format as ElfInfo;
    assert.equal(elf.arch, HOST.arch);
    assert.equal(elf.os, "linux");
    assert.equal(elf.bits, 64);
    assert.equal(elf.dynamic, true);
    assert.equal(elf.hasDynamicSegment, true);
    const loader = (await lddPaths("/bin/ls")).find((p) => p.includes("ld-linux"));
    assert.equal(elf.interpreter, loader);
  },
});

Deno.test({
  name: "readBinaryFormat() reads the host loader as an ELF without PT_INTERP",
  ignore: !linux,
  async fn() {
    const elf = await readBinaryFormat("/bin/ls") as ElfInfo;
    const loader = await readBinaryFormat(elf.interpreter!) as ElfInfo;
    assert.equal(loader.kind, "elf");
    assert.equal(loader.dynamic, false);
    assert.equal(loader.interpreter, undefined);
    assert.equal(loader.arch, HOST.arch);
  },
});

Deno.test("detectBinaryFormat() parses crafted ELF headers of every class and endianness", async (t) => {
  const cases = [
    { o: { machine: 62 }, arch: "amd64", bits: 64, endian: "little" },
    { o: { machine: 183, interp: "/lib/ld-linux-aarch64.so.1" }, arch: "arm64", bits: 64, endian: "little" },
    {
      o: { bits: 32 as const, machine: 3, interp: "/lib/ld-linux.so.2" },
      arch: "386",
      bits: 32,
      endian: "little",
    },
    {
      o: { bits: 32 as const, little: false, machine: 8, interp: "/lib/ld.so.1" },
      arch: "mips",
      bits: 32,
      endian: "big",
    },
    { o: { little: false, machine: 22, interp: "/lib/ld64.so.1" }, arch: "s390x", bits: 64, endian: "big" },
    { o: { machine: 21 }, arch: "ppc64le", bits: 64, endian: "little" },
    { o: { machine: 243 }, arch: "riscv64", bits: 64, endian: "little" },
    { o: { machine: 40, bits: 32 as const }, arch: "arm", bits: 32, endian: "little" },
    { o: { machine: 9999 }, arch: "unknown-9999", bits: 64, endian: "little" },
  ];
  for (const c of cases) {
    await t.step(`${c.arch} ${c.bits} ${c.endian}`, () => {
      const elf = detectBinaryFormat(craftElf(c.o)) as ElfInfo;
      assert.equal(elf.kind, "elf");
      assert.equal(elf.arch, c.arch);
      assert.equal(elf.bits, c.bits);
      assert.equal(elf.endian, c.endian);
      assert.equal(elf.interpreter, c.o.interp);
      assert.equal(elf.dynamic, c.o.interp !== undefined);
    });
  }
});

Deno.test("detectBinaryFormat() separates static-pie (PT_DYNAMIC only) from dynamic, and reads OSABI", () => {
  const staticPie = detectBinaryFormat(craftElf({ dynamic: true })) as ElfInfo;
  assert.equal(staticPie.hasDynamicSegment, true);
  assert.equal(staticPie.dynamic, false);
  assert.equal((detectBinaryFormat(craftElf({ osabi: 9 })) as ElfInfo).os, "freebsd");
  assert.equal((detectBinaryFormat(craftElf({ osabi: 3 })) as ElfInfo).os, "linux");
});

Deno.test("detectBinaryFormat() asks for more bytes when PT_INTERP lies beyond the prefix", async () => {
  const full = craftElf({ interp: "/lib/ld-far.so", interpOffset: 100_000 });
  const prefix = detectBinaryFormat(full.subarray(0, 4096));
  assert.deepEqual(prefix, { kind: "truncated", needBytes: 100_000 + "/lib/ld-far.so".length + 1 });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "far"), full);
    assert.equal((await readBinaryFormat(join(dir, "far")) as ElfInfo).interpreter, "/lib/ld-far.so");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectBinaryFormat() parses thin Mach-O headers in both endiannesses", () => {
  const cases: [number, number, boolean, string][] = [
    [0xcffaedfe, 0x01000007, true, "amd64"],
    [0xcffaedfe, 0x0100000c, true, "arm64"],
    [0xcefaedfe, 7, true, "386"],
    [0xfeedfacf, 0x01000012, false, "ppc64"],
    [0xfeedface, 18, false, "ppc"],
  ];
  for (const [magic, cpu, le, arch] of cases) {
    assert.deepEqual(detectBinaryFormat(craftMachO(magic, cpu, le)), {
      kind: "macho",
      fat: false,
      arches: [arch],
    });
  }
});

Deno.test("detectBinaryFormat() lists the slices of a fat Mach-O and rejects Java class files", () => {
  assert.deepEqual(detectBinaryFormat(craftFat([0x01000007, 0x0100000c])), {
    kind: "macho",
    fat: true,
    arches: ["amd64", "arm64"],
  });
  const javaClass = new Uint8Array([0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x34, 0, 0]);
  assert.deepEqual(detectBinaryFormat(javaClass), { kind: "unknown" });
});

Deno.test("detectBinaryFormat() parses shebang lines with Linux semantics", () => {
  assert.deepEqual(detectBinaryFormat(text("#!/bin/sh\necho hi\n")), {
    kind: "script",
    interpreter: "/bin/sh",
  });
  assert.deepEqual(detectBinaryFormat(text("#! /usr/bin/env python3 -u  \r\nx")), {
    kind: "script",
    interpreter: "/usr/bin/env",
    arg: "python3 -u",
  });
  assert.deepEqual(detectBinaryFormat(text("#!/bin/bash")), { kind: "script", interpreter: "/bin/bash" });
  assert.deepEqual(detectBinaryFormat(text("#!\n")), { kind: "unknown" });
  assert.deepEqual(detectBinaryFormat(text("hello world")), { kind: "unknown" });
  assert.deepEqual(detectBinaryFormat(new Uint8Array([0x7f])), { kind: "unknown" });
  assert.deepEqual(detectBinaryFormat(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9, 9, 1, 0])), {
    kind: "unknown",
  });
});
