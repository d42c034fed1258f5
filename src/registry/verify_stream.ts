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
