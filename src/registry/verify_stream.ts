/** Digest and size verification while streaming (ggcr internal/verify.ReadCloser). */
import { createHash } from "node:crypto";
import { DropzoneError } from "../errors.ts";
import { type Digest, digestHex } from "../oci/digest.ts";

/** Options for {@linkcode digestVerifier}. */
export interface VerifyOptions {
  /** Expected size in bytes; exceeding it errors at once, falling short errors at the end. */
  size?: number;
  /** Names the source in messages, e.g. `blob sha256:… from registry "ghcr.io"`. */
  what: string;
}

/** Streams made by {@linkcode verifiedStream}, with the digest and size they check. */
const verifying = new WeakMap<
  ReadableStream<Uint8Array>,
  { readonly digest: Digest; readonly size: number }
>();

/**
 * `source` through a {@linkcode digestVerifier} of `digest` and `size`. The result is recognised by
 * {@linkcode isDigestVerified}, so a consumer that must hash it too (the blob cache) can rely on its check.
 */
export function verifiedStream(
  source: ReadableStream<Uint8Array>,
  digest: Digest,
  options: VerifyOptions & { readonly size: number },
): ReadableStream<Uint8Array> {
  const stream = source.pipeThrough(digestVerifier(digest, options));
  verifying.set(stream, { digest, size: options.size });
  return stream;
}

/**
 * True when `stream` is a {@linkcode verifiedStream} of exactly this digest and size: it errors instead of
 * ending when its bytes hash to anything else or number anything else, so reading it to a clean end proves them.
 * Only this module creates such streams; anything wrapped around one (a tee, a transform) is not recognised.
 */
export function isDigestVerified(stream: ReadableStream<Uint8Array>, digest: Digest, size: number): boolean {
  const checked = verifying.get(stream);
  return checked !== undefined && checked.digest === digest && checked.size === size;
}

/**
 * A pass-through stream that hashes what flows through it and errors with DIGEST_MISMATCH at flush when the
 * sha256 or the size differ from what was expected. Anything built from the output is untrusted until the
 * stream closes cleanly.
 */
export function digestVerifier(
  digest: Digest,
  options: VerifyOptions,
): TransformStream<Uint8Array, Uint8Array> {
  const { size, what } = options;
  const hash = createHash("sha256");
  let total = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (size !== undefined && total > size) {
        controller.error(
          new DropzoneError(
            "DIGEST_MISMATCH",
            `Cannot verify ${what}: more than the expected ${size} bytes`,
            {
              hint: "The registry served different content than the manifest describes; do not trust it",
            },
          ),
        );
        return;
      }
      hash.update(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (size !== undefined && total !== size) {
        controller.error(
          new DropzoneError(
            "DIGEST_MISMATCH",
            `Cannot verify ${what}: got ${total} bytes, expected ${size}`,
            {
              hint: "The download was truncated or the registry served different content; try again",
            },
          ),
        );
        return;
      }
      const actual = hash.digest("hex");
      if (actual !== digestHex(digest)) {
        controller.error(
          new DropzoneError("DIGEST_MISMATCH", `Cannot verify ${what}: content hashes to sha256:${actual}`, {
            hint: "The registry served different content than requested; do not trust it",
          }),
        );
      }
    },
  });
}
