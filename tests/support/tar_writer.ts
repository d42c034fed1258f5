/**
 * A raw tar writer for test fixtures, including hostile ones: it writes exactly the names, types, link targets and
 * numbers it is given (no cleaning), and can emit PAX `x`/`g` records, GNU `L`/`K` long names, base-256 sizes,
 * broken checksums and archives without the end-of-archive marker.
 */

const encoder = new TextEncoder();

/** Single-character typeflags by name; any other one-character string is written verbatim. */
const TYPEFLAGS: Readonly<Record<string, string>> = {
  file: "0",
  link: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
  pax: "x",
  global: "g",
  longname: "L",
  longlink: "K",
};

/** One tar header plus its body. */
export interface RawEntry {
  readonly name: string;
  /** A name from TYPEFLAGS or a raw one-character typeflag; default "file". */
  readonly type?: string | undefined;
  readonly body?: string | Uint8Array;
  readonly mode?: number;
  readonly linkname?: string;
  /** The ustar prefix field (only with the default "ustar" magic). */
  readonly prefix?: string;
  /** Header size field when it must differ from the body length. */
  readonly size?: number;
  /** Write the size field in base-256 (GNU) instead of octal. */
  readonly base256Size?: boolean;
  /** "ustar" (POSIX, default) or "gnu" ("ustar  \0"). */
  readonly magic?: "ustar" | "gnu";
  readonly badChecksum?: boolean;
  readonly mtime?: number;
}

function bytesOf(body: string | Uint8Array | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === "string" ? encoder.encode(body) : body;
}

function writeString(block: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  block.set(bytes.subarray(0, length), offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length - 1, value.toString(8).padStart(length - 1, "0"));
  block[offset + length - 1] = 0;
}

/** Writes `value` as a GNU base-256 number (high bit of the first byte set, big-endian). */
export function writeBase256(block: Uint8Array, offset: number, length: number, value: number): void {
  let v = BigInt(value);
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[offset] = 0x80;
}

/** A 512-byte header block for `entry`. */
export function tarHeader(entry: RawEntry, bodyLength: number): Uint8Array {
  const block = new Uint8Array(512);
  writeString(block, 0, 100, entry.name);
  writeOctal(block, 100, 8, entry.mode ?? (entry.type === "dir" ? 0o755 : 0o644));
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  const size = entry.size ?? bodyLength;
  if (entry.base256Size) writeBase256(block, 124, 12, size);
  else writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, entry.mtime ?? 1_700_000_000);
  const type = entry.type ?? "file";
  writeString(block, 156, 1, TYPEFLAGS[type] ?? type);
  writeString(block, 157, 100, entry.linkname ?? "");
  if (entry.magic === "gnu") {
    writeString(block, 257, 8, "ustar  \0");
  } else {
    writeString(block, 257, 6, "ustar\0");
    writeString(block, 263, 2, "00");
    writeString(block, 345, 155, entry.prefix ?? "");
  }
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  if (entry.badChecksum) sum += 1;
  writeString(block, 148, 6, sum.toString(8).padStart(6, "0"));
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/** The body of a PAX extended header: `<len> <key>=<value>\n` records. */
export function paxBody(records: Readonly<Record<string, string>>): Uint8Array {
  let out = "";
  for (const [key, value] of Object.entries(records)) {
    const payload = ` ${key}=${value}\n`;
    const payloadLength = encoder.encode(payload).length;
    let length = payloadLength + 1;
    while (length !== payloadLength + String(length).length) length = payloadLength + String(length).length;
    out += `${length}${payload}`;
  }
  return encoder.encode(out);
}

/** A PAX `x` header carrying `records` for `entry`, followed by `entry`. */
export function withPax(records: Readonly<Record<string, string>>, entry: RawEntry): RawEntry[] {
  return [{ name: "PaxHeaders/x", type: "pax", body: paxBody(records) }, entry];
}

/** A PAX global `g` header. */
export function paxGlobal(records: Readonly<Record<string, string>>): RawEntry {
  return { name: "pax_global_header", type: "global", body: paxBody(records) };
}

/** GNU `L` (and `K` when `longLink` is given) headers, then `entry` with truncated ustar fields. */
export function withGnuLongNames(entry: RawEntry, longLink?: string): RawEntry[] {
  const out: RawEntry[] = [
    { name: "././@LongLink", type: "longname", body: `${entry.name}\0`, magic: "gnu" },
  ];
  if (longLink !== undefined) {
    out.push({ name: "././@LongLink", type: "longlink", body: `${longLink}\0`, magic: "gnu" });
  }
  out.push({
    ...entry,
    name: entry.name.slice(0, 100),
    linkname: (longLink ?? entry.linkname ?? "").slice(0, 100),
    magic: "gnu",
  });
  return out;
}

/** Shorthands. */
export const file = (name: string, body: string | Uint8Array = "", mode = 0o644): RawEntry => ({
  name,
  body,
  mode,
});
export const dir = (name: string, mode = 0o755): RawEntry => ({ name, type: "dir", mode });
export const symlink = (name: string, linkname: string): RawEntry => ({
  name,
  type: "symlink",
  linkname,
  mode: 0o777,
});
export const hardlink = (name: string, linkname: string): RawEntry => ({ name, type: "link", linkname });

/** Concatenates header and padded body blocks; ends with two zero blocks unless `eof` is false. */
export function buildTar(
  entries: ReadonlyArray<RawEntry | RawEntry[]>,
  options: { eof?: boolean } = {},
): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const item of entries.flat()) {
    const body = bytesOf(item.body);
    chunks.push(tarHeader(item, body.length));
    if (body.length > 0) {
      chunks.push(body);
      const pad = (512 - (body.length % 512)) % 512;
      if (pad > 0) chunks.push(new Uint8Array(pad));
    }
  }
  if (options.eof ?? true) chunks.push(new Uint8Array(1024));
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** A stream of `bytes` in chunks of `chunkSize` (small sizes exercise header/body boundaries). */
export function streamOf(bytes: Uint8Array, chunkSize = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

/** gzip of `bytes`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = streamOf(bytes).pipeThrough(
    new CompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
