/**
 * Tar decoding for layers, on npm:modern-tar's streaming decoder. The library merges PAX `x` (per file) and `g`
 * (global) records and GNU `L`/`K` long names into each header, parses base-256 numbers, and in strict mode
 * validates header checksums, truncation and the end-of-archive marker. tests/unpack/tar_stream_test.ts pins that
 * behaviour so a library upgrade that regresses it fails loudly.
 *
 * Known library limits (documented, covered by the layer checks in extract.ts): unknown typeflags (GNU sparse `S`,
 * volume `V`, …) decode as regular files; a PAX `x` header followed by a GNU `L`/`K` header for the same entry
 * loses the PAX records (no known layer builder emits that mix).
 */
import { createTarDecoder, type ParsedTarEntry, type TarHeader } from "modern-tar";
import { DropzoneError } from "../errors.ts";

export type { ParsedTarEntry, TarHeader };

/** The kinds of entry a layer may hold, as modern-tar names them. */
export type TarEntryType = NonNullable<TarHeader["type"]>;

/**
 * Decodes a tar byte stream into entries. Every entry body must be read to the end or cancelled before the next
 * entry arrives. A malformed archive (bad checksum, truncated body or header) errors the stream.
 */
export function decodeTar(tar: ReadableStream<Uint8Array>): ReadableStream<ParsedTarEntry> {
  return tar.pipeThrough(createTarDecoder({ strict: true }));
}

/** Wraps a decoder or decompressor failure as the layer error users see. */
export function malformedLayer(err: unknown, what: string): DropzoneError {
  if (err instanceof DropzoneError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new DropzoneError("UNSAFE_LAYER", `Cannot apply ${what}: malformed archive: ${detail}`, {
    hint: "The layer is corrupt or not a tar archive; report it to the image publisher",
    cause: err,
  });
}
