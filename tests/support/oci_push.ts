/**
 * Minimal Distribution API pushes for tests (monolithic blob upload, manifest PUT). Test builders and signers
 * share these so that every fixture reaches the registry the same way a real client would.
 */
import { type Digest, sha256Digest } from "../../src/oci/digest.ts";

/** Where to push: base URL (http://host:port) and optional basic auth. */
export interface PushTarget {
  readonly url: string;
  readonly auth?: { username: string; password: string };
}

function headers(target: PushTarget, extra: Record<string, string> = {}): Headers {
  const h = new Headers(extra);
  if (target.auth) h.set("Authorization", "Basic " + btoa(`${target.auth.username}:${target.auth.password}`));
  return h;
}

/** Uploads a blob (skipping it when the registry already has it) and returns its digest. */
export async function pushBlob(target: PushTarget, repository: string, bytes: Uint8Array): Promise<Digest> {
  const digest = await sha256Digest(bytes);
  const head = await fetch(`${target.url}/v2/${repository}/blobs/${digest}`, {
    method: "HEAD",
    headers: headers(target),
  });
  await head.body?.cancel();
  if (head.status === 200) return digest;
  const start = await fetch(`${target.url}/v2/${repository}/blobs/uploads/`, {
    method: "POST",
    headers: headers(target),
  });
  await start.body?.cancel();
  if (start.status !== 202) throw new Error(`blob upload start failed: ${start.status}`);
  const location = new URL(start.headers.get("Location")!, target.url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: headers(target, { "Content-Type": "application/octet-stream" }),
    body: bytes as BodyInit,
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`blob upload failed: ${put.status} ${text}`);
  return digest;
}

/** PUTs a manifest under a tag or digest and returns its digest. */
export async function pushManifest(
  target: PushTarget,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<Digest> {
  const res = await fetch(`${target.url}/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    headers: headers(target, { "Content-Type": mediaType }),
    body: bytes as BodyInit,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`manifest push failed: ${res.status} ${text}`);
  return await sha256Digest(bytes);
}

/** JSON-encodes a manifest object (compact, as registries store it). */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
