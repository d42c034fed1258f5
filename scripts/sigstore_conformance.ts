/**
 * sigstore-conformance CLI adapter (the `verify-bundle` subcommand only), built on dz's verifier:
 *
 *   verify-bundle --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key PEM)
 *                 [--trusted-root FILE] FILE_OR_DIGEST
 *
 * FILE_OR_DIGEST is a path, or `sha256:<hex>` when no such path exists (message signatures are then verified
 * against the digest itself, pre-hashed). Exits 0 iff the bundle verifies. Without --trusted-root the
 * public-good root embedded in @sigstore/tuf is used (no network).
 */
// deno-lint-ignore-file no-console
import { isDigest } from "../src/oci/digest.ts";
import { embeddedTrustedRoot, validateTrustedRoot } from "../src/verify/trusted_root.ts";
import { verifyCandidate } from "../src/verify/verifier.ts";
import type { CosignPolicy } from "../src/verify/types.ts";

const USAGE = "usage: sigstore_conformance.ts verify-bundle --bundle FILE " +
  "(--certificate-identity ID --certificate-oidc-issuer URL | --key PEM) [--trusted-root FILE] FILE_OR_DIGEST";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** What one adapter run produced: the exit code and the line it prints (stdout for 0, stderr otherwise). */
export interface AdapterResult {
  readonly code: number;
  readonly message: string;
}

/** Runs the adapter; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { code, message } = await verifyBundleCommand(args);
  if (code === 0) console.log(message);
  else console.error(message);
  return code;
}

/** The adapter without I/O on stdout/stderr (tests run it in-process over the whole suite). */
export async function verifyBundleCommand(args: string[]): Promise<AdapterResult> {
  const [command, ...rest] = args;
  if (command !== "verify-bundle") {
    return { code: 2, message: `unsupported command "${command ?? ""}"\n${USAGE}` };
  }
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg.startsWith("--")) {
      const value = rest[++i];
      if (value === undefined) return { code: 2, message: `missing value for ${arg}\n${USAGE}` };
      flags[arg.slice(2)] = value;
    } else {
      positional.push(arg);
    }
  }
  const bundlePath = flags["bundle"];
  const target = positional[0];
  if (!bundlePath || !target || positional.length !== 1) return { code: 2, message: USAGE };
  const policy: CosignPolicy = {};
  let publicKeyPem: string | undefined;
  if (flags["key"]) {
    policy.public_key = flags["key"];
    publicKeyPem = await Deno.readTextFile(flags["key"]);
  } else if (flags["certificate-identity"] && flags["certificate-oidc-issuer"]) {
    policy.identity = flags["certificate-identity"];
    policy.issuer = flags["certificate-oidc-issuer"];
  } else {
    return { code: 2, message: USAGE };
  }
  try {
    const trustedRoot = flags["trusted-root"]
      ? JSON.parse(await Deno.readTextFile(flags["trusted-root"]))
      : embeddedTrustedRoot();
    validateTrustedRoot(trustedRoot, flags["trusted-root"] ?? "embedded");
    const bundle = JSON.parse(await Deno.readTextFile(bundlePath));
    let artifact: Uint8Array | undefined;
    let digest: `sha256:${string}`;
    if (!(await exists(target)) && isDigest(target)) {
      digest = target;
    } else {
      artifact = await Deno.readFile(target);
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", artifact as BufferSource));
      digest = `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    }
    const { result } = verifyCandidate(
      {
        kind: "bundle",
        signedDigest: digest,
        bundle,
        purpose: "artifact",
        label: bundlePath,
        ...(artifact ? { artifact } : {}),
      },
      policy,
      { trustedRoot, ...(publicKeyPem !== undefined ? { publicKeyPem } : {}) },
    );
    return { code: 0, message: `verified: ${result.identity}${result.issuer ? ` (${result.issuer})` : ""}` };
  } catch (err) {
    return { code: 1, message: `verification failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
