/**
 * dz.lock: the exact per-platform digests and the signer of every installed package, so another machine (or CI)
 * installs byte-identical images signed by the same identity, and `dz lock --check` detects drift.
 *
 * Format (YAML, schema version 1):
 *
 *   version: 1
 *   packages:
 *     - name: jq
 *       source: docker.io/chainguard/jq        # host/repository; resolved against the local registry config
 *       tag: latest                           # informational; installs use the digests
 *       index_digest: sha256:…                # null for single-platform images
 *       platforms:                            # linux/darwin × amd64/arm64 that the image offers
 *         linux/amd64: sha256:…
 *         linux/arm64: sha256:…
 *       signer: { identity: https://…, issuer: https://… }   # null for --allow-unsigned installs
 *       allow_unsigned: false
 */
import { parse } from "yaml";
import { DropzoneError } from "../errors.ts";
import { type Digest, isDigest, shortDigest } from "../oci/digest.ts";
import { formatPlatform } from "../oci/platform.ts";
import { splitRegistryUrl } from "../oci/reference.ts";
import type { RegistryClient } from "../registry/types.ts";
import type { PackageMetadata } from "../store/metadata.ts";
import { sameLockedSigner, sourceKey } from "./install_plan.ts";

/** Platforms a lockfile records. */
export const LOCK_PLATFORMS: readonly string[] = [
  "linux/amd64",
  "linux/arm64",
  "darwin/amd64",
  "darwin/arm64",
];

/** One locked package. */
export interface LockedPackage {
  name: string;
  source: string;
  tag: string | null;
  index_digest: Digest | null;
  platforms: Record<string, Digest>;
  signer: { identity: string; issuer: string | null } | null;
  allow_unsigned: boolean;
}

/** A parsed lockfile. */
export interface Lockfile {
  version: 1;
  packages: LockedPackage[];
}

function bad(path: string, why: string): DropzoneError {
  return new DropzoneError("INVALID_ARGUMENT", `Invalid lockfile ${path}: ${why}`, {
    hint: 'Regenerate it with "dz lock"',
  });
}

/** Parses and validates lockfile text. Pure. */
export function parseLockfile(text: string, path: string): Lockfile {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw bad(path, (err as Error).message.split("\n")[0]!);
  }
  const o = doc as { version?: unknown; packages?: unknown };
  if (typeof o !== "object" || o === null) throw bad(path, "not a mapping");
  if (o.version !== 1) throw bad(path, `unsupported version ${String(o.version)}`);
  if (!Array.isArray(o.packages)) throw bad(path, "packages must be a list");
  const packages = o.packages.map((p: Record<string, unknown>, i: number): LockedPackage => {
    const f = `packages[${i}]`;
    if (typeof p?.name !== "string" || typeof p.source !== "string") {
      throw bad(path, `${f} needs name and source`);
    }
    const platforms: Record<string, Digest> = {};
    for (const [k, v] of Object.entries((p.platforms ?? {}) as Record<string, unknown>)) {
      if (typeof v !== "string" || !isDigest(v)) throw bad(path, `${f}.platforms.${k} is not a digest`);
      platforms[k] = v;
    }
    if (Object.keys(platforms).length === 0) throw bad(path, `${f}.platforms is empty`);
    const idx = p.index_digest;
    if (idx !== null && idx !== undefined && (typeof idx !== "string" || !isDigest(idx))) {
      throw bad(path, `${f}.index_digest is not a digest`);
    }
    const signer = p.signer as { identity?: unknown; issuer?: unknown } | null | undefined;
    if (signer && typeof signer.identity !== "string") throw bad(path, `${f}.signer.identity is missing`);
    return {
      name: p.name,
      source: p.source,
      tag: typeof p.tag === "string" ? p.tag : null,
      index_digest: (idx as Digest | null | undefined) ?? null,
      platforms,
      signer: signer
        ? {
          identity: signer.identity as string,
          issuer: typeof signer.issuer === "string" ? signer.issuer : null,
        }
        : null,
      allow_unsigned: p.allow_unsigned === true,
    };
  });
  return { version: 1, packages };
}

/** host/repository of an installed package. */
export function sourceOf(meta: PackageMetadata): string {
  return `${splitRegistryUrl(meta.registry.url).host}/${meta.repository}`;
}

/** Builds the lock entry of an installed package, reading its index for the other platforms. */
export async function lockEntry(client: RegistryClient, meta: PackageMetadata): Promise<LockedPackage> {
  const platforms: Record<string, Digest> = {};
  if (meta.index_digest) {
    const repo = { registry: splitRegistryUrl(meta.registry.url).host, repository: meta.repository };
    const index = await client.getManifest(repo, meta.index_digest);
    if (index.manifest.kind !== "index") throw new TypeError(`${meta.index_digest} is not an index`);
    for (const d of index.manifest.manifests) {
      if (!d.platform) continue;
      const key = formatPlatform({ os: d.platform.os, architecture: d.platform.architecture });
      if (LOCK_PLATFORMS.includes(key) && !platforms[key]) platforms[key] = d.digest;
    }
  }
  const own = meta.platform.split("/").slice(0, 2).join("/");
  platforms[own] = meta.digest;
  return {
    name: meta.name,
    source: sourceOf(meta),
    tag: meta.tag,
    index_digest: meta.index_digest,
    platforms,
    signer: meta.signature ? { identity: meta.signature.identity, issuer: meta.signature.issuer } : null,
    allow_unsigned: meta.allow_unsigned,
  };
}

/** True when two `host/repository` strings name one source (host spellings fold, see registry_host.ts). */
function sameSource(a: string, b: string): boolean {
  const split = (s: string) => {
    const i = s.indexOf("/");
    return i < 0 ? s : sourceKey(s.slice(0, i), s.slice(i + 1));
  };
  return split(a) === split(b);
}

/** Differences between a lockfile and what is installed for `platform`, one line each. Pure. */
export function lockDrift(lock: Lockfile, installed: readonly PackageMetadata[], platform: string): string[] {
  const out: string[] = [];
  const byName = new Map(installed.map((m) => [m.name, m]));
  for (const p of lock.packages) {
    const meta = byName.get(p.name);
    const want = p.platforms[platform];
    if (!meta) {
      out.push(`${p.name}: locked but not installed`);
      continue;
    }
    byName.delete(p.name);
    if (!sameSource(sourceOf(meta), p.source)) {
      out.push(`${p.name}: installed from ${sourceOf(meta)}, locked to ${p.source}`);
    }
    if (!want) out.push(`${p.name}: the lockfile has no digest for ${platform}`);
    else if (meta.digest !== want) {
      out.push(`${p.name}: installed ${shortDigest(meta.digest)}, locked ${shortDigest(want)}`);
    }
    const signer = meta.signature
      ? { identity: meta.signature.identity, issuer: meta.signature.issuer }
      : null;
    if (!sameLockedSigner(signer, p.signer)) {
      out.push(
        `${p.name}: signed by ${signer?.identity ?? "nobody"}, locked to ${p.signer?.identity ?? "unsigned"}`,
      );
    }
  }
  for (const name of byName.keys()) out.push(`${name}: installed but not in the lockfile`);
  return out;
}
