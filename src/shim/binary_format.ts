/**
 * Executable format detection from the first bytes of a file (pure). ELF (class, endianness, machine,
 * PT_INTERP), Mach-O thin and fat/universal, and `#!` scripts. Architectures use OCI names.
 */

/** An ELF executable or shared object. */
export interface ElfInfo {
  readonly kind: "elf";
  readonly bits: 32 | 64;
  readonly endian: "little" | "big";
  /** e_type: 2 = EXEC, 3 = DYN. */
  readonly type: number;
  readonly machine: number;
  /** OCI architecture name, or `unknown-<e_machine>`. */
  readonly arch: string;
  /** OS from EI_OSABI: SYSV and GNU map to "linux". */
  readonly os: string;
  /** PT_INTERP without its trailing NUL, when present. */
  readonly interpreter?: string;
  /** True when a PT_DYNAMIC segment exists (also true for static-pie). */
  readonly hasDynamicSegment: boolean;
  /** True when the file needs a program interpreter (PT_INTERP present). */
  readonly dynamic: boolean;
}

/** A Mach-O file, thin or fat. */
export interface MachOInfo {
  readonly kind: "macho";
  readonly fat: boolean;
  /** OCI architecture names of every slice (one for thin files). */
  readonly arches: readonly string[];
}

/** A `#!` script. */
export interface ScriptInfo {
  readonly kind: "script";
  readonly interpreter: string;
  /** Everything after the interpreter, as one argument (Linux semantics). */
  readonly arg?: string;
}

/** Detected format of a file. `truncated` asks for a longer prefix (at least `needBytes`). */
export type BinaryFormat =
  | ElfInfo
  | MachOInfo
  | ScriptInfo
  | { readonly kind: "truncated"; readonly needBytes: number }
  | { readonly kind: "unknown" };

const PT_DYNAMIC = 2;
const PT_INTERP = 3;
/** Refuses absurd header values instead of allocating for them. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** Maps ELF e_machine (plus class and endianness) to an OCI architecture name. */
export function elfArch(machine: number, bits: 32 | 64, endian: "little" | "big"): string {
  switch (machine) {
    case 3:
      return "386";
    case 62:
      return "amd64";
    case 183:
      return "arm64";
    case 40:
      return "arm";
    case 243:
      return bits === 64 ? "riscv64" : "riscv32";
    case 21:
      return endian === "little" ? "ppc64le" : "ppc64";
    case 20:
      return "ppc";
    case 22:
      return "s390x";
    case 8:
      return bits === 64
        ? (endian === "little" ? "mips64le" : "mips64")
        : (endian === "little" ? "mipsle" : "mips");
    case 258:
      return "loong64";
    default:
      return `unknown-${machine}`;
  }
}

function elfOs(osabi: number): string {
  switch (osabi) {
    case 0:
    case 3:
      return "linux";
    case 2:
      return "netbsd";
    case 6:
      return "solaris";
    case 9:
      return "freebsd";
    case 12:
      return "openbsd";
    default:
      return `unknown-${osabi}`;
  }
}

const CPU_ARCH_ABI64 = 0x01000000;
const CPU_ARCH_ABI64_32 = 0x02000000;

/** Maps a Mach-O cputype to an OCI architecture name. */
export function machoArch(cputype: number): string {
  switch (cputype >>> 0) {
    case 7:
      return "386";
    case 7 | CPU_ARCH_ABI64:
      return "amd64";
    case 12:
      return "arm";
    case 12 | CPU_ARCH_ABI64:
      return "arm64";
    case 12 | CPU_ARCH_ABI64_32:
      return "arm64_32";
    case 18:
      return "ppc";
    case 18 | CPU_ARCH_ABI64:
      return "ppc64";
    default:
      return `unknown-${cputype >>> 0}`;
  }
}

function parseElf(bytes: Uint8Array): BinaryFormat {
  const cls = bytes[4];
  const data = bytes[5];
  if (bytes.length >= 6 && ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2))) {
    return { kind: "unknown" };
  }
  if (bytes.length < 52) return { kind: "truncated", needBytes: 64 };
  const bits = cls === 1 ? 32 : 64;
  const endian = data === 1 ? "little" : "big";
  const le = endian === "little";
  if (bits === 64 && bytes.length < 64) return { kind: "truncated", needBytes: 64 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => view.getUint16(o, le);
  const u32 = (o: number) => view.getUint32(o, le);
  const uword = (o: number) => (bits === 32 ? u32(o) : Number(view.getBigUint64(o, le)));
  const type = u16(16);
  const machine = u16(18);
  const phoff = uword(bits === 32 ? 28 : 32);
  const phentsize = u16(bits === 32 ? 42 : 54);
  const phnum = u16(bits === 32 ? 44 : 56);
  const base = {
    kind: "elf" as const,
    bits: bits as 32 | 64,
    endian: endian as "little" | "big",
    type,
    machine,
    arch: elfArch(machine, bits, endian),
    os: elfOs(bytes[7]!),
  };
  const minEnt = bits === 32 ? 32 : 56;
  if (phnum === 0 || phentsize < minEnt) {
    return { ...base, hasDynamicSegment: false, dynamic: false };
  }
  const phEnd = phoff + phentsize * phnum;
  if (!Number.isSafeInteger(phEnd) || phEnd > MAX_HEADER_BYTES) return { kind: "unknown" };
  if (phEnd > bytes.length) return { kind: "truncated", needBytes: phEnd };
  let interpreter: string | undefined;
  let hasDynamicSegment = false;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const ptype = u32(ph);
    if (ptype === PT_DYNAMIC) hasDynamicSegment = true;
    if (ptype !== PT_INTERP) continue;
    const offset = bits === 32 ? u32(ph + 4) : Number(view.getBigUint64(ph + 8, le));
    const size = bits === 32 ? u32(ph + 16) : Number(view.getBigUint64(ph + 32, le));
    const end = offset + size;
    if (!Number.isSafeInteger(end) || size > 4096 || end > MAX_HEADER_BYTES) return { kind: "unknown" };
    if (end > bytes.length) return { kind: "truncated", needBytes: end };
    let raw = bytes.subarray(offset, end);
    const nul = raw.indexOf(0);
    if (nul >= 0) raw = raw.subarray(0, nul);
    interpreter = new TextDecoder().decode(raw);
  }
  return {
    ...base,
    ...(interpreter !== undefined ? { interpreter } : {}),
    hasDynamicSegment,
    dynamic: interpreter !== undefined,
  };
}

function parseMachO(bytes: Uint8Array): BinaryFormat {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = view.getUint32(0, false);
  if (magicBE === 0xcafebabe || magicBE === 0xcafebabf) {
    if (bytes.length < 8) return { kind: "truncated", needBytes: 8 };
    const n = view.getUint32(4, false);
    // Java class files share the 0xcafebabe magic; their "count" is the class version (≥ 45).
    if (n === 0 || n >= 20) return { kind: "unknown" };
    const entry = magicBE === 0xcafebabe ? 20 : 32;
    const need = 8 + n * entry;
    if (need > bytes.length) return { kind: "truncated", needBytes: need };
    const arches: string[] = [];
    for (let i = 0; i < n; i++) arches.push(machoArch(view.getUint32(8 + i * entry, false)));
    return { kind: "macho", fat: true, arches };
  }
  if (bytes.length < 8) return { kind: "truncated", needBytes: 8 };
  const le = magicBE === 0xcefaedfe || magicBE === 0xcffaedfe;
  return { kind: "macho", fat: false, arches: [machoArch(view.getUint32(4, le))] };
}

function parseShebang(bytes: Uint8Array): BinaryFormat {
  let end = bytes.indexOf(0x0a);
  if (end < 0) {
    if (bytes.length >= 4096) return { kind: "unknown" };
    end = bytes.length;
  }
  const line = new TextDecoder().decode(bytes.subarray(2, end)).replace(/\r$/, "").trim();
  if (line.length === 0) return { kind: "unknown" };
  const ws = line.search(/[ \t]/);
  if (ws < 0) return { kind: "script", interpreter: line };
  const arg = line.slice(ws).trim();
  return { kind: "script", interpreter: line.slice(0, ws), ...(arg ? { arg } : {}) };
}

/**
 * Detects the format of a file from a prefix of its bytes. Returns `truncated` when the headers extend
 * beyond the prefix; read at least `needBytes` and call again.
 */
export function detectBinaryFormat(bytes: Uint8Array): BinaryFormat {
  if (bytes.length >= 2 && bytes[0] === 0x23 && bytes[1] === 0x21) return parseShebang(bytes);
  if (bytes.length < 4) return { kind: "unknown" };
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    return parseElf(bytes);
  }
  const magic = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  switch (magic) {
    case 0xfeedface:
    case 0xfeedfacf:
    case 0xcefaedfe:
    case 0xcffaedfe:
    case 0xcafebabe:
    case 0xcafebabf:
      return parseMachO(bytes);
    default:
      return { kind: "unknown" };
  }
}
