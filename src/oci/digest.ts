/** OCI content digests. dz supports sha256 only, like cosign's tag scheme. */
import { fromHex, toHex } from "../encoding.ts";

/** A validated `sha256:<64 lowercase hex>` digest. */
export type Digest = `sha256:${string}`;

const DIGEST_REGEXP = /^sha256:[a-f0-9]{64}$/;

/** True when `value` is a well-formed sha256 digest. */
export function isDigest(value: string): value is Digest {
  return DIGEST_REGEXP.test(value);
}

/** Parses a digest or throws a TypeError naming the bad value. */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new TypeError(`Invalid digest "${value}": expected sha256:<64 hex>`);
  return value;
}

/** The hex part of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}

export { fromHex, toHex };

/** sha256 of bytes as a Digest. */
export async function sha256Digest(bytes: Uint8Array): Promise<Digest> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return `sha256:${toHex(hash)}`;
}

/** `sha256:abc…` → `sha256-abc…`, the directory and cosign tag form. */
export function digestToDirName(digest: Digest): string {
  return digest.replace(":", "-");
}

/** `sha256:abcdef012345` (12 hex chars), for tables. */
export function shortDigest(digest: string): string {
  const i = digest.indexOf(":");
  return i < 0 ? digest.slice(0, 12) : digest.slice(0, i + 13);
}
