/**
 * Deno's `node:crypto.verify(null | undefined, data, key, sig)` throws "no default digest" for EC and RSA keys,
 * where Node (OpenSSL) defaults to SHA-256. @sigstore/core calls it that way for Rekor SETs, checkpoints and
 * DSSE signatures and turns the throw into `false`, so every such check silently fails under Deno. This module
 * patches the shared `node:crypto` object (the same one CJS `require("crypto")` returns) when it is evaluated.
 * `src/verify/sigstore.ts` imports it before any @sigstore module so the patch is in place first.
 */
import crypto from "node:crypto";

const PATCHED = Symbol.for("dz.cryptoCompat.verifyPatched");

type VerifyFn = typeof crypto.verify;

interface PatchedVerify {
  [PATCHED]?: VerifyFn;
}

/** The unpatched `node:crypto.verify`, for tests that demonstrate the raw behaviour. */
export function originalCryptoVerify(): VerifyFn {
  return (crypto.verify as unknown as PatchedVerify)[PATCHED] ?? crypto.verify;
}

/** True when the shim is installed. */
export function isCryptoCompatInstalled(): boolean {
  return (crypto.verify as unknown as PatchedVerify)[PATCHED] !== undefined;
}

/** Installs the default-digest shim; calling it again is a no-op. */
export function installCryptoCompat(): void {
  if (isCryptoCompatInstalled()) return;
  const orig = crypto.verify;
  const patched = function (
    algorithm: string | null | undefined,
    data: NodeJS.ArrayBufferView,
    key:
      | crypto.KeyLike
      | crypto.VerifyKeyObjectInput
      | crypto.VerifyPublicKeyInput
      | crypto.VerifyJsonWebKeyInput,
    signature: NodeJS.ArrayBufferView,
    callback?: (error: Error | null, result: boolean) => void,
  ): boolean | void {
    let alg = algorithm;
    if (alg === null || alg === undefined) {
      const k = key instanceof crypto.KeyObject ? key : crypto.createPublicKey(key as crypto.PublicKeyInput);
      if (k.asymmetricKeyType === "ec" || k.asymmetricKeyType === "rsa") alg = "sha256";
    }
    // deno-lint-ignore no-explicit-any
    return (orig as any)(alg, data, key, signature, callback);
  };
  Object.defineProperty(patched, PATCHED, { value: orig });
  (crypto as unknown as { verify: VerifyFn }).verify = patched as unknown as VerifyFn;
}

/** Restores the original `node:crypto.verify` (tests only: demonstrates what breaks without the shim). */
export function uninstallCryptoCompat(): void {
  const orig = (crypto.verify as unknown as PatchedVerify)[PATCHED];
  if (orig) (crypto as unknown as { verify: VerifyFn }).verify = orig;
}

installCryptoCompat();
