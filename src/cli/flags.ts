/**
 * Parsers for flag values, run by commander while it parses argv: a bad value is a usage error (exit 2)
 * before any command starts, so nothing touches the network or the store.
 */
import { parseAge } from "../app/trust_history.ts";
import { DropzoneError } from "../errors.ts";
import type { Host } from "../runtime.ts";

/** `--min-age`: keeps the text (it is shown in messages) once it is known to parse. */
export function ageFlag(value: string): string {
  try {
    parseAge(value);
  } catch (err) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid --min-age "${value}"`, {
      hint: 'Use a number and a unit: s, m, h, d or w (e.g. "3d", "12h")',
      cause: err,
    });
  }
  return value;
}

/** Operating systems and architectures OCI images are published for (Go's GOOS/GOARCH names). */
const OSES = new Set(["linux", "darwin", "windows", "freebsd", "netbsd", "openbsd", "solaris", "illumos"]);
const ARCHES = new Set([
  "amd64",
  "arm64",
  "arm",
  "386",
  "ppc64le",
  "ppc64",
  "s390x",
  "riscv64",
  "mips64le",
  "mips64",
  "mipsle",
  "mips",
  "loong64",
  "wasm",
]);
/** Names other tools print for the same architecture. */
const ARCH_SPELLINGS: Readonly<Record<string, string>> = {
  x86_64: "amd64",
  x64: "amd64",
  aarch64: "arm64",
  armv8: "arm64",
  i386: "386",
  i686: "386",
};

/** Parses `os/arch[/variant]`; throws INVALID_ARGUMENT (exit 2) with the accepted spelling when it can. */
export function parsePlatformFlag(value: string): Host {
  const parts = value.split("/");
  const [os = "", arch = "", variant] = parts;
  const better = ARCH_SPELLINGS[arch.toLowerCase()];
  const valid = parts.length >= 2 && parts.length <= 3 && OSES.has(os) && ARCHES.has(arch) &&
    (variant === undefined || /^v\d+$/.test(variant));
  if (!valid) {
    throw new DropzoneError("INVALID_ARGUMENT", `Invalid --platform "${value}"`, {
      hint: better && OSES.has(os)
        ? `Write it as "${os}/${better}"`
        : 'Use "os/arch" or "os/arch/variant" in OCI terms, e.g. linux/amd64, linux/arm64, darwin/arm64, linux/arm/v7',
    });
  }
  return { os, arch, ...(variant ? { variant } : {}) };
}

/** `--platform` for commander: validated at parse time, kept as text for the handler. */
export function platformFlag(value: string): string {
  parsePlatformFlag(value);
  return value;
}

/** Policy flags in dz's spelling. */
export interface PolicyFlags {
  issuer?: string;
  issuerRegex?: string;
  identity?: string;
  identityRegex?: string;
  publicKey?: string;
}

/** The same flags in cosign's spelling (`cosign verify --certificate-identity …`), accepted as aliases. */
export interface CosignSpellings {
  certificateIdentity?: string | undefined;
  certificateIdentityRegexp?: string | undefined;
  certificateOidcIssuer?: string | undefined;
  certificateOidcIssuerRegexp?: string | undefined;
  key?: string | undefined;
}

/** dz flag ← cosign flag. */
export const COSIGN_SPELLINGS = [
  ["identity", "certificateIdentity", "--identity", "--certificate-identity"],
  ["identityRegex", "certificateIdentityRegexp", "--identity-regex", "--certificate-identity-regexp"],
  ["issuer", "certificateOidcIssuer", "--issuer", "--certificate-oidc-issuer"],
  ["issuerRegex", "certificateOidcIssuerRegexp", "--issuer-regex", "--certificate-oidc-issuer-regexp"],
  ["publicKey", "key", "--public-key", "--key"],
] as const;

/**
 * Folds cosign's spellings into dz's; the same flag given both ways with different values is a usage error.
 * Pure.
 */
export function withCosignSpellings<T extends PolicyFlags & CosignSpellings>(opts: T): T {
  const out: T = { ...opts };
  for (const [dz, cosign, dzFlag, cosignFlag] of COSIGN_SPELLINGS) {
    const alias = opts[cosign];
    if (alias === undefined) continue;
    if (opts[dz] !== undefined && opts[dz] !== alias) {
      throw new DropzoneError("INVALID_ARGUMENT", `${dzFlag} and ${cosignFlag} give different values`, {
        hint: `${cosignFlag} is cosign's spelling of ${dzFlag}; give one of them`,
      });
    }
    out[dz] = alias;
    delete out[cosign];
  }
  return out;
}

/** True when any policy flag (either spelling) was given. */
export function hasPolicyFlags(opts: PolicyFlags & CosignSpellings): boolean {
  return COSIGN_SPELLINGS.some(([dz, cosign]) => opts[dz] !== undefined || opts[cosign] !== undefined);
}
