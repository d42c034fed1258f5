/**
 * Loads the Sigstore trusted root: a per-registry override file, the TUF-refreshed cache under `<cache>/tuf`
 * (used as is when less than a day old), a TUF refresh via @sigstore/tuf when online, and finally the copy
 * embedded in @sigstore/tuf's seeds. Offline never fails for lack of network. Every root is validated.
 */
import { DropzoneError } from "../errors.ts";
import { embeddedTrustedRootText, initTUF } from "./sigstore.ts";
import { validateTrustedRoot } from "./trusted_root_validate.ts";
import type { TrustContext } from "./verifier.ts";
import type { CosignPolicy } from "./types.ts";
import { writeFileAtomic } from "../fs.ts";

export { validateTrustedRoot } from "./trusted_root_validate.ts";

/** How long a refreshed trusted root is used without asking TUF again. */
export const TRUSTED_ROOT_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const CACHE_FILE = "trusted_root.json";
const TUF_MIRROR = "https://tuf-repo-cdn.sigstore.dev";

/** Where a trusted root came from. */
export type TrustedRootSource = "override" | "tuf-cache" | "tuf-refresh" | "embedded";

/** A loaded trusted root. */
export interface LoadedTrustedRoot {
  readonly trustedRoot: Record<string, unknown>;
  readonly source: TrustedRootSource;
  /** Age of the cached or override file in seconds; undefined for the embedded copy. */
  readonly ageSeconds?: number;
  readonly path?: string;
  /** Why a fresher source could not be used (e.g. the TUF refresh failed). */
  readonly warning?: string;
}

/** Fetches trusted_root.json text through TUF into `cachePath`. */
export type TrustedRootRefresher = (cachePath: string) => Promise<string>;

/** Options for {@linkcode loadTrustedRoot}. */
export interface LoadTrustedRootOptions {
  /** The dz cache directory; the TUF cache lives in `<cacheDir>/tuf`. */
  cacheDir: string;
  now: Date;
  /** Never touch the network. */
  offline: boolean;
  /** A registry's `trusted_root` file; when set, nothing else is consulted. */
  overridePath?: string;
  /** Replaces the @sigstore/tuf refresh (tests). */
  refresh?: TrustedRootRefresher;
}

/** The public-good trusted root embedded in @sigstore/tuf's seeds. */
export function embeddedTrustedRoot(): Record<string, unknown> {
  return JSON.parse(embeddedTrustedRootText());
}

/** The default refresher: a TUF update of the public-good repository via @sigstore/tuf. */
export async function tufRefresh(cachePath: string): Promise<string> {
  const tuf = await initTUF({
    cachePath,
    mirrorURL: TUF_MIRROR,
    forceInit: false,
    forceCache: false,
    timeout: 5000,
  });
  return await tuf.getTarget("trusted_root.json");
}

function parseRoot(text: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DropzoneError("TRUSTED_ROOT_INVALID", `Cannot use trusted root "${source}": not JSON`, {
      cause: err,
    });
  }
  validateTrustedRoot(doc, source);
  return doc as Record<string, unknown>;
}

async function readCached(
  path: string,
  now: Date,
): Promise<{ root: Record<string, unknown>; ageMs: number } | null> {
  try {
    const [text, stat] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
    const ageMs = Math.max(0, now.getTime() - (stat.mtime?.getTime() ?? 0));
    return { root: parseRoot(text, path), ageMs };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    if (err instanceof DropzoneError) return null; // a corrupt cache is ignored, then replaced
    throw err;
  }
}

/** Loads and validates the trusted root to verify with, reporting its source and age. */
export async function loadTrustedRoot(options: LoadTrustedRootOptions): Promise<LoadedTrustedRoot> {
  if (options.overridePath !== undefined) {
    let text: string;
    let ageSeconds: number | undefined;
    try {
      text = await Deno.readTextFile(options.overridePath);
      const mtime = (await Deno.stat(options.overridePath)).mtime;
      if (mtime) ageSeconds = Math.max(0, Math.floor((options.now.getTime() - mtime.getTime()) / 1000));
    } catch (err) {
      throw new DropzoneError("TRUSTED_ROOT_INVALID", `Cannot read trusted root "${options.overridePath}"`, {
        hint: "Check the registry's trusted_root path",
        cause: err,
      });
    }
    return {
      trustedRoot: parseRoot(text, options.overridePath),
      source: "override",
      path: options.overridePath,
      ...(ageSeconds !== undefined ? { ageSeconds } : {}),
    };
  }
  const tufDir = `${options.cacheDir}/tuf`;
  const cachePath = `${tufDir}/${CACHE_FILE}`;
  const cached = await readCached(cachePath, options.now);
  if (cached && cached.ageMs < TRUSTED_ROOT_MAX_AGE_MS) {
    return {
      trustedRoot: cached.root,
      source: "tuf-cache",
      path: cachePath,
      ageSeconds: Math.floor(cached.ageMs / 1000),
    };
  }
  let warning: string | undefined;
  if (!options.offline) {
    try {
      await Deno.mkdir(tufDir, { recursive: true });
      const text = await (options.refresh ?? tufRefresh)(tufDir);
      const root = parseRoot(text, "TUF refresh");
      await writeFileAtomic(cachePath, text);
      return { trustedRoot: root, source: "tuf-refresh", path: cachePath, ageSeconds: 0 };
    } catch (err) {
      warning = `TUF refresh failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (cached) {
    return {
      trustedRoot: cached.root,
      source: "tuf-cache",
      path: cachePath,
      ageSeconds: Math.floor(cached.ageMs / 1000),
      ...(warning ? { warning } : {}),
    };
  }
  const embedded = embeddedTrustedRoot();
  validateTrustedRoot(embedded, "embedded");
  return { trustedRoot: embedded, source: "embedded", ...(warning ? { warning } : {}) };
}

/** Options for {@linkcode loadTrustContext}. */
export interface LoadTrustContextOptions extends Omit<LoadTrustedRootOptions, "overridePath"> {
  policy: CosignPolicy;
}

/** Loads everything a policy needs to verify: its trusted root (override or public good) and public key. */
export async function loadTrustContext(
  options: LoadTrustContextOptions,
): Promise<TrustContext & { readonly root: LoadedTrustedRoot }> {
  const { policy, ...rest } = options;
  const root = await loadTrustedRoot({
    ...rest,
    ...(policy.trusted_root !== undefined ? { overridePath: policy.trusted_root } : {}),
  });
  if (policy.public_key === undefined) return { trustedRoot: root.trustedRoot, root };
  let pem: string;
  try {
    pem = await Deno.readTextFile(policy.public_key);
  } catch (err) {
    throw new DropzoneError("CONFIG_INVALID", `Cannot read public key "${policy.public_key}"`, {
      hint: "Check the registry's public_key path",
      cause: err,
    });
  }
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) {
    throw new DropzoneError("CONFIG_INVALID", `Public key "${policy.public_key}" is not a PEM public key`, {
      hint: 'Use the cosign.pub file from "cosign generate-key-pair"',
    });
  }
  return { trustedRoot: root.trustedRoot, publicKeyPem: pem, root };
}
