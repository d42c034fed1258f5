/**
 * Bounds on signature and attestation discovery for one image: a byte budget over every artifact read (`.sig`
 * and `.att` manifests, referrer manifests, layer and bundle blobs), each blob fetched once per digest however
 * often it is listed, and a limit on concurrent fetches. A registry controls all of these inputs, so without the
 * bounds a small manifest could make dz read and hold gigabytes before anything verified.
 */
import { DropzoneError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { RegistryClient, RepoRef } from "../registry/types.ts";
import { Semaphore } from "../semaphore.ts";

/** Total bytes of signature/attestation artifacts dz reads for one image (signatures and attestations). */
export const ARTIFACT_BUDGET_BYTES = 32 * 1024 * 1024;
/** Largest single signature/attestation layer or bundle blob. */
export const MAX_ARTIFACT_BLOB_BYTES = 4 * 1024 * 1024;
/** Concurrent artifact fetches per image (manifests and blobs). */
export const ARTIFACT_FETCH_CONCURRENCY = 4;
/**
 * Candidates read per artifact (distinct layers of one `.sig`/`.att` manifest, or bundle referrers of one
 * digest). Each costs a verification; real images carry a handful.
 */
export const MAX_CANDIDATES_PER_ARTIFACT = 100;

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1).replace(/\.0$/, "")} MiB`;
}

/** Thrown when the budget is exhausted: a trust failure (exit 3), since the image cannot be verified. */
export class ArtifactBudgetExceeded extends DropzoneError {
  constructor(limitBytes: number, what: string, wouldBe: number) {
    super(
      "SIGNATURE_INVALID",
      `its signature and attestation artifacts exceed dz's budget of ${mib(limitBytes)} ` +
        `(${what} would bring them to ${mib(wouldBe)})`,
      {
        hint:
          `dz reads at most ${
            mib(limitBytes)
          } of signatures and attestations per image; the registry serves ` +
          "far more, which no real signature needs. Do not install it; report it to the publisher or registry",
      },
    );
  }
}

/** Options for {@linkcode ArtifactBudget}. */
export interface ArtifactBudgetOptions {
  readonly limitBytes?: number;
  readonly concurrency?: number;
}

/** The budget of one image's verification; share one instance across every discovery for that image. */
export class ArtifactBudget {
  readonly limitBytes: number;
  #used = 0;
  readonly #slots: Semaphore;
  readonly #blobs = new Map<Digest, Promise<Uint8Array>>();

  constructor(options: ArtifactBudgetOptions = {}) {
    this.limitBytes = options.limitBytes ?? ARTIFACT_BUDGET_BYTES;
    this.#slots = new Semaphore(Math.max(1, options.concurrency ?? ARTIFACT_FETCH_CONCURRENCY));
  }

  /** Bytes charged so far. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Charges `bytes` for `what`; throws {@linkcode ArtifactBudgetExceeded} when that would pass the limit. */
  charge(bytes: number, what: string): void {
    const next = this.#used + Math.max(0, bytes);
    if (next > this.limitBytes) throw new ArtifactBudgetExceeded(this.limitBytes, what, next);
    this.#used = next;
  }

  /** Runs `fn` holding one of the concurrency slots. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.#slots.run(fn);
  }

  /**
   * Reads a blob once per digest: the declared size is charged (synchronously, before anything is fetched) on
   * first sight, and every later request for the digest shares the same bytes.
   */
  fetchBlob(
    client: RegistryClient,
    repo: RepoRef,
    descriptor: { readonly digest: Digest; readonly size: number },
    what: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const known = this.#blobs.get(descriptor.digest);
    if (known) return known;
    if (descriptor.size > MAX_ARTIFACT_BLOB_BYTES) {
      return Promise.reject(new TypeError(`${descriptor.size} bytes is too large`));
    }
    this.charge(descriptor.size, what);
    const pending = this.run(() =>
      client.getBlobBytes(repo, descriptor.digest, {
        size: descriptor.size,
        maxBytes: MAX_ARTIFACT_BLOB_BYTES,
        ...(signal ? { signal } : {}),
      })
    );
    this.#blobs.set(descriptor.digest, pending);
    return pending;
  }
}
