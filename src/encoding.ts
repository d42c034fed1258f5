/**
 * Hex and base64 for bytes and UTF-8 text; the one place dz encodes (the built-in Uint8Array codecs encode,
 * strict checks decode). No node:buffer: `dz list` loads this, and a first `node:` import costs ~15 ms.
 */

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** Decodes lowercase or uppercase hex; TypeError on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new TypeError("Invalid hex string");
  return Uint8Array.fromHex(hex);
}

/** Standard base64 of bytes, or of a string's UTF-8 encoding. */
export function toBase64(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return bytes.toBase64();
}

/** Decodes standard base64 (surrounding white space allowed); TypeError on bad input. */
export function fromBase64(text: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(text.trim());
  } catch {
    throw new TypeError("invalid base64");
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Decodes standard base64 holding UTF-8 text. */
export function fromBase64Text(text: string): string {
  return new TextDecoder().decode(fromBase64(text));
}
