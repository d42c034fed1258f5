/**
 * A RegistryClient decorator that answers a repeated read from what the same command already read. `dz update`
 * resolves and verifies the target to preview it (downgrade, changelog), then installs it through the full
 * install path, which resolves and verifies it again: the second pass re-runs every check on the same bytes,
 * but without ~20 more round trips to the registry.
 *
 * What is remembered: manifests and small blobs by digest (content-addressed: the inner client checked their
 * bytes against the digest), and, for {@linkcode MUTABLE_TTL_MS}, tag reads (a manifest or "not found") and
 * referrer lists, whose answers may change: a command that waited on a prompt reads them again. Only answers are
 * kept, never network failures, and only until {@linkcode MAX_REMEMBERED_BYTES} are held. Nothing is shared
 * between concurrent calls (each caller's abort signal stays its own), and nothing outlives the process.
 */
import { isDropzoneError } from "../errors.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import { forwardingClient } from "./caching_client.ts";
import { MAX_MANIFEST_BYTES } from "./manifests.ts";
import type { FetchedManifest, RegistryClient, RepoRef } from "./types.ts";

/** How long a tag's answer or a referrer list is reused. */
export const MUTABLE_TTL_MS = 60_000;

/** Bytes of manifests and blobs kept at most (attestations can be large; layers are never kept). */
export const MAX_REMEMBERED_BYTES = 32 * 1024 * 1024;

/** Options for {@linkcode readOnceClient}. */
export interface ReadOnceOptions {
  /** The clock (tests). */
  readonly now?: () => number;
  readonly maxBytes?: number;
}

type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

interface Remembered<T> {
  readonly answer: Answer<T>;
  readonly at: number;
  readonly mutable: boolean;
  /** What it counts against the byte budget. */
  readonly bytes: number;
}

/** Wraps `inner` so that reads repeated within one command are answered from memory (see the module comment). */
export function readOnceClient(inner: RegistryClient, options: ReadOnceOptions = {}): RegistryClient {
  const now = options.now ?? (() => performance.now());
  const maxBytes = options.maxBytes ?? MAX_REMEMBERED_BYTES;
  let heldBytes = 0;
  const manifests = new Map<string, Remembered<FetchedManifest>>();
  const blobs = new Map<string, Remembered<Uint8Array>>();
  const referrerLists = new Map<string, Remembered<Descriptor[]>>();

  const where = (repo: RepoRef, reference: string) => `${repo.registry}/${repo.repository}@${reference}`;

  function recall<T>(memo: Map<string, Remembered<T>>, key: string): Answer<T> | undefined {
    const entry = memo.get(key);
    if (entry === undefined) return undefined;
    if (entry.mutable && now() - entry.at > MUTABLE_TTL_MS) {
      memo.delete(key);
      heldBytes -= entry.bytes;
      return undefined;
    }
    return entry.answer;
  }

  function keep<T>(
    memo: Map<string, Remembered<T>>,
    key: string,
    answer: Answer<T>,
    mutable: boolean,
    bytes = 0,
  ) {
    if (heldBytes + bytes > maxBytes) return;
    heldBytes += bytes;
    memo.set(key, { answer, at: now(), mutable, bytes });
  }

  /** A remembered answer, as the network would give it: not to a caller that was already stopped. */
  function replay<T>(answer: Answer<T>, signal: AbortSignal | undefined): T {
    signal?.throwIfAborted();
    if (answer.ok) return answer.value;
    throw answer.error;
  }

  return {
    ...forwardingClient(inner),
    async getManifest(repo, reference, opts) {
      const key = where(repo, reference);
      const known = recall(manifests, key);
      if (known !== undefined) return replay(known, opts?.signal);
      const mutable = !isDigest(reference);
      try {
        const fetched = await inner.getManifest(repo, reference, opts);
        keep(manifests, key, { ok: true, value: fetched }, mutable, fetched.bytes.length);
        return fetched;
      } catch (error) {
        // "No such tag" is the registry's answer (a missing .sig or .att): remembered like a manifest.
        if (mutable && isDropzoneError(error, "MANIFEST_UNKNOWN")) {
          keep(manifests, key, { ok: false, error }, true);
        }
        throw error;
      }
    },
    async getBlobBytes(repo, digest: Digest, opts) {
      const key = where(repo, digest);
      const known = recall(blobs, key);
      // A caller whose size or cap the remembered blob does not fit gets the inner client's own refusal.
      const fits = (bytes: Uint8Array) =>
        (opts?.size === undefined || opts.size === bytes.length) &&
        bytes.length <= (opts?.maxBytes ?? MAX_MANIFEST_BYTES);
      if (known?.ok && fits(known.value)) return replay(known, opts?.signal);
      const bytes = await inner.getBlobBytes(repo, digest, opts);
      if (known === undefined) keep(blobs, key, { ok: true, value: bytes }, false, bytes.length);
      return bytes;
    },
    async referrers(repo, digest, opts) {
      const key = `${where(repo, digest)}?${opts?.artifactType ?? ""}`;
      const known = recall(referrerLists, key);
      if (known !== undefined) return replay(known, opts?.signal);
      const list = await inner.referrers(repo, digest, opts);
      keep(referrerLists, key, { ok: true, value: list }, true);
      return list;
    },
  };
}
