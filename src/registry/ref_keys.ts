/**
 * The key format of the `cache/refs` records the recording client writes (tag resolutions, referrer lists), in
 * one place: the writer builds keys here, and blob reachability (gc, doctor) parses them back here. Pure.
 */
import type { Digest } from "../oci/digest.ts";
import type { RepoRef } from "./types.ts";

const TAG_PREFIX = "tag:";
const REFERRERS_PREFIX = "referrers:";
/** Cosign's sidecar tag of a digest: `sha256-<hex>` plus `.sig`, `.att`, `.sbom` (the suffix is optional). */
const COSIGN_TAG = /^sha256-([0-9a-f]{64})(\.[a-z]+)?$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** The record key of `repo:tag`'s resolution: `tag:<registry>/<repository>:<tag>`. */
export function tagKey(repo: RepoRef, tag: string): string {
  return `${TAG_PREFIX}${repo.registry}/${repo.repository}:${tag}`;
}

/** The record key of a referrer list: `referrers:<registry>/<repository>@<digest>[?<artifactType>]`. */
export function referrersKey(repo: RepoRef, digest: Digest, artifactType?: string): string {
  return `${REFERRERS_PREFIX}${repo.registry}/${repo.repository}@${digest}${
    artifactType ? `?${artifactType}` : ""
  }`;
}

/** `<registry>/<repository>@<digest>`: what {@linkcode refKeySubject} returns for records about `digest`. */
export function refSubject(repo: RepoRef, digest: Digest): string {
  return `${repo.registry}/${repo.repository}@${digest}`;
}

/** True for cosign's sidecar tags (`sha256-<hex>[.sig|.att|…]`), whose absence is worth recording too. */
export function isCosignTag(tag: string): boolean {
  return COSIGN_TAG.test(tag);
}

/**
 * The `<registry>/<repository>@<digest>` a record key is about when it records a signature or attestation of
 * that digest (a cosign `sha256-<hex>.<suffix>` tag, or a referrer list), else null (plain tags, other keys).
 */
export function refKeySubject(key: string): string | null {
  if (key.startsWith(TAG_PREFIX)) {
    const rest = key.slice(TAG_PREFIX.length);
    // The tag follows the last ':' (a tag holds no ':'; a registry's port comes earlier).
    const colon = rest.lastIndexOf(":");
    if (colon <= 0) return null;
    const cosign = COSIGN_TAG.exec(rest.slice(colon + 1));
    // A bare `sha256-<hex>` tag is not a cosign sidecar: only suffixed ones carry signatures or attestations.
    if (!cosign || cosign[2] === undefined) return null;
    return `${rest.slice(0, colon)}@sha256:${cosign[1]}`;
  }
  if (key.startsWith(REFERRERS_PREFIX)) {
    const rest = key.slice(REFERRERS_PREFIX.length);
    const query = rest.indexOf("?");
    const subject = query < 0 ? rest : rest.slice(0, query);
    const at = subject.lastIndexOf("@");
    if (at <= 0 || !SHA256.test(subject.slice(at + 1))) return null;
    return subject;
  }
  return null;
}
