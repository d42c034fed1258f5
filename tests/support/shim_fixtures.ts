/** Test fixtures for the shim: crafted headers and rootfs trees copied from real host binaries. */
import { dirname, join } from "node:path";
import { ociHost } from "../../src/runtime.ts";
import type { Host } from "../../src/runtime.ts";
import { readBinaryFormat } from "../../src/shim/resolve.ts";

/** The host in OCI terms. */
export const HOST: Host = ociHost(Deno.build.os, Deno.build.arch);

/** Debian multiarch triplet of the host. */
export const TRIPLET = Deno.build.arch === "aarch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";

/** Options for {@linkcode craftElf}. */
export interface CraftElf {
  bits?: 32 | 64;
  little?: boolean;
  machine?: number;
  osabi?: number;
  interp?: string;
  dynamic?: boolean;
  /** Where PT_INTERP's bytes go (default right after the program headers). */
  interpOffset?: number;
}

/** Builds a minimal ELF header + program headers. */
export function craftElf(o: CraftElf = {}): Uint8Array {
  const bits = o.bits ?? 64;
  const le = o.little ?? true;
  const ehsize = bits === 64 ? 64 : 52;
  const phentsize = bits === 64 ? 56 : 32;
  const phdrs: { type: number; offset: number; size: number }[] = [];
  const interpBytes = o.interp === undefined ? undefined : new TextEncoder().encode(o.interp + "\0");
  const count = (interpBytes ? 1 : 0) + (o.dynamic ? 1 : 0) + 1;
  const phEnd = ehsize + count * phentsize;
  const interpOffset = o.interpOffset ?? phEnd;
  phdrs.push({ type: 1, offset: 0, size: 0 });
  if (interpBytes) phdrs.push({ type: 3, offset: interpOffset, size: interpBytes.length });
  if (o.dynamic) phdrs.push({ type: 2, offset: 0, size: 0 });
  const total = Math.max(phEnd, interpBytes ? interpOffset + interpBytes.length : 0);
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1, o.osabi ?? 0]);
  v.setUint16(16, 2, le);
  v.setUint16(18, o.machine ?? 62, le);
  if (bits === 64) {
    v.setBigUint64(32, BigInt(ehsize), le);
    v.setUint16(54, phentsize, le);
    v.setUint16(56, count, le);
  } else {
    v.setUint32(28, ehsize, le);
    v.setUint16(42, phentsize, le);
    v.setUint16(44, count, le);
  }
  phdrs.forEach((p, i) => {
    const at = ehsize + i * phentsize;
    v.setUint32(at, p.type, le);
    if (bits === 64) {
      v.setBigUint64(at + 8, BigInt(p.offset), le);
      v.setBigUint64(at + 32, BigInt(p.size), le);
    } else {
      v.setUint32(at + 4, p.offset, le);
      v.setUint32(at + 16, p.size, le);
    }
  });
  if (interpBytes) bytes.set(interpBytes, interpOffset);
  return bytes;
}

/** A thin Mach-O header with the given magic (as written in the file) and cputype. */
export function craftMachO(magic: number, cputype: number, littleEndian: boolean): Uint8Array {
  const bytes = new Uint8Array(32);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, magic, false);
  v.setUint32(4, cputype, littleEndian);
  v.setUint32(12, 2, littleEndian);
  return bytes;
}

/** A fat Mach-O header listing cputypes. */
export function craftFat(cputypes: number[]): Uint8Array {
  const bytes = new Uint8Array(8 + 20 * cputypes.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 0xcafebabe, false);
  v.setUint32(4, cputypes.length, false);
  cputypes.forEach((c, i) => v.setUint32(8 + 20 * i, c, false));
  return bytes;
}

/** Library paths `ldd` lists for a host binary (the loader included). */
export async function lddPaths(binary: string): Promise<string[]> {
  const out = await new Deno.Command("ldd", { args: [binary], stdout: "piped", stderr: "null" }).output();
  const paths = new Set<string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)\s+\(/);
    if (m) paths.add(m[1]!);
  }
  return [...paths];
}

/** True when the host can run the end-to-end tests (Linux with ldd and a glibc loader). */
export async function canBuildRootfs(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  try {
    return (await lddPaths("/bin/ls")).length > 0;
  } catch {
    return false;
  }
}

/**
 * Builds a Debian-like rootfs from host binaries: `bin -> usr/bin`, `lib -> usr/lib` (relative),
 * `lib64 -> /usr/lib64` (absolute, so only rootfs-aware resolution finds it), libraries in
 * usr/lib/<triplet>, and the loader at its PT_INTERP path through those links.
 */
export async function buildRootfs(rootfs: string, binaries: Record<string, string>): Promise<void> {
  await Deno.mkdir(join(rootfs, "usr/bin"), { recursive: true });
  await Deno.mkdir(join(rootfs, "usr/lib", TRIPLET), { recursive: true });
  await Deno.mkdir(join(rootfs, "usr/lib64"), { recursive: true });
  await Deno.mkdir(join(rootfs, "etc/ld.so.conf.d"), { recursive: true });
  await Deno.symlink("usr/bin", join(rootfs, "bin"));
  await Deno.symlink("usr/lib", join(rootfs, "lib"));
  await Deno.symlink("/usr/lib64", join(rootfs, "lib64"));
  await Deno.writeTextFile(join(rootfs, "etc/ld.so.conf"), "include /etc/ld.so.conf.d/*.conf\n");
  await Deno.writeTextFile(join(rootfs, `etc/ld.so.conf.d/${TRIPLET}.conf`), `/usr/lib/${TRIPLET}\n`);
  const libDir = join(rootfs, "usr/lib", TRIPLET);
  for (const [dest, src] of Object.entries(binaries)) {
    const target = join(rootfs, dest);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.copyFile(await Deno.realPath(src), target);
    await Deno.chmod(target, 0o755);
    const format = await readBinaryFormat(target);
    for (const lib of await lddPaths(src)) {
      const name = lib.split("/").pop()!;
      await Deno.copyFile(await Deno.realPath(lib), join(libDir, name)).catch(() => {});
    }
    if (format.kind === "elf" && format.interpreter) {
      const interp = format.interpreter;
      const name = interp.split("/").pop()!;
      await Deno.copyFile(await Deno.realPath(interp), join(libDir, name)).catch(() => {});
      await Deno.chmod(join(libDir, name), 0o755);
      // Place the PT_INTERP path with an absolute link, reached through the rootfs's own dir links.
      const dir = dirname(interp).replace(/^\/lib64$/, "/usr/lib64").replace(/^\/lib$/, "/usr/lib");
      const link = join(rootfs, dir, name);
      if (dir !== `/usr/lib/${TRIPLET}`) {
        await Deno.symlink(`/usr/lib/${TRIPLET}/${name}`, link).catch(() => {});
      }
    }
  }
}

/** Runs a command and decodes its output. */
export async function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env ?? {},
    clearEnv: options.clearEnv ?? false,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}
