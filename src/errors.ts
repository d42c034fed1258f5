/**
 * One error type for everything a user can cause or fix. The CLI renders `message` as `error: …` and `hint` as
 * `hint: …`; anything that is not a DropzoneError is a bug and is rendered as such.
 */

/** Exit codes, as documented in the README. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  TRUST: 3,
  UPDATES_AVAILABLE: 100,
} as const;

/** Stable error codes. Codes in TRUST_CODES exit with 3, USAGE_CODES with 2, the rest with 1. */
export type ErrorCode =
  // usage
  | "USAGE"
  | "INVALID_REFERENCE"
  | "INVALID_NAME"
  | "INVALID_ARGUMENT"
  // config and state
  | "CONFIG_INVALID"
  | "CONFIG_VERSION"
  | "REGISTRY_NOT_FOUND"
  | "REGISTRY_EXISTS"
  | "REGISTRY_IN_USE"
  | "NOT_INSTALLED"
  | "PINNED"
  | "NAME_CONFLICT"
  | "LOCKED"
  | "NOT_A_DZ_HOME"
  | "ABORTED"
  | "PERMISSION"
  // registry
  | "REGISTRY_HTTP"
  | "REGISTRY_AUTH"
  | "REGISTRY_UNREACHABLE"
  | "REGISTRY_PROTOCOL"
  | "MANIFEST_UNKNOWN"
  | "RATE_LIMITED"
  | "CATALOG_UNAVAILABLE"
  | "NO_MATCHING_PLATFORM"
  | "CREDENTIALS"
  // trust
  | "SIGNATURE_MISSING"
  | "SIGNATURE_INVALID"
  | "POLICY_MISMATCH"
  | "POLICY_MISSING"
  | "DIGEST_MISMATCH"
  | "TRUSTED_ROOT_INVALID"
  | "SIGNER_CHANGED"
  | "ATTESTATION_POLICY"
  | "FILES_MODIFIED"
  | "SOURCE_MISMATCH"
  | "DOWNGRADE"
  // unpack and install
  | "UNSAFE_LAYER"
  | "LAYER_LIMIT"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "ENTRYPOINT"
  | "NOT_IMPLEMENTED"
  | "OFFLINE_MISS"
  | "RELEASE_TOO_NEW"
  | "IO";

const TRUST_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "SIGNATURE_MISSING",
  "SIGNATURE_INVALID",
  "POLICY_MISMATCH",
  "POLICY_MISSING",
  "DIGEST_MISMATCH",
  "TRUSTED_ROOT_INVALID",
  "SIGNER_CHANGED",
  "ATTESTATION_POLICY",
  "FILES_MODIFIED",
  "SOURCE_MISMATCH",
  "DOWNGRADE",
]);

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "USAGE",
  "INVALID_REFERENCE",
  "INVALID_NAME",
  "INVALID_ARGUMENT",
]);

/** Options for {@linkcode DropzoneError}. */
export interface DropzoneErrorOptions {
  /** An imperative next step for the user. */
  hint?: string | undefined;
  /** The underlying error, shown with --verbose. */
  cause?: unknown;
}

/** An error a user can understand and act on. */
export class DropzoneError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: DropzoneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DropzoneError";
    this.code = code;
    this.hint = options.hint;
  }

  /** The process exit code this error maps to. */
  get exitCode(): number {
    if (TRUST_CODES.has(this.code)) return EXIT.TRUST;
    if (USAGE_CODES.has(this.code)) return EXIT.USAGE;
    return EXIT.FAILURE;
  }
}

/** True when `err` is a DropzoneError, optionally with the given code. */
export function isDropzoneError(err: unknown, code?: ErrorCode): err is DropzoneError {
  return err instanceof DropzoneError && (code === undefined || err.code === code);
}

/** The exit code for any thrown value: trust → 3, usage → 2, everything else → 1. */
export function exitCodeFor(err: unknown): number {
  return err instanceof DropzoneError ? err.exitCode : EXIT.FAILURE;
}

/**
 * A hint for an ordinary I/O failure (a full disk, a read-only or unwritable file system, a missing path) that
 * reached the top as a plain error, or undefined when `err` is not one. Such failures are the user's to fix, never
 * a bug in dz.
 */
export function ioFailureHint(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const text = err.message;
  if (/No space left on device|os error 28\b|Disk quota exceeded|os error 122\b/i.test(text)) {
    return 'The disk is full: free some space ("dz gc" deletes unused cached blobs) and run the command again';
  }
  if (/Read-only file system|os error 30\b/i.test(text)) {
    return "The file system is read-only: set DROPZONE_HOME (or the output path) to a writable directory";
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return "Check the permissions of the path named above (and of DROPZONE_HOME)";
  }
  if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
    return "Check that the path named above exists and is a directory where one is expected";
  }
  if (err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.AlreadyExists) {
    return "Check the path named above";
  }
  if (err instanceof Deno.errors.UnexpectedEof || err instanceof Deno.errors.WriteZero) {
    return "A file was cut short while dz read or wrote it; check the disk and run the command again";
  }
  return undefined;
}
