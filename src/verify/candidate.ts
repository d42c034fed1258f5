/** A signature candidate (what may prove a signature over a digest), its verified form, and the shared helpers of its checks. */
import crypto from "node:crypto";
import { DropzoneError } from "../errors.ts";
import { toHex } from "../encoding.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { Bundle } from "./sigstore.ts";
import type { InTotoStatement } from "./statement.ts";
import type { SignatureResult } from "./types.ts";

/** Something that may prove a signature over an image digest. */
export type Candidate =
  | {
    /** A layer of the legacy `sha256-<hex>.sig` manifest (simple signing) or `.att` manifest (DSSE). */
    readonly kind: "legacy-sig" | "legacy-att";
    /** The digest whose tag the layer was found under. */
    readonly signedDigest: Digest;
    readonly layer: Descriptor;
    readonly blob: Uint8Array;
    /** Where it was found, for error messages (e.g. "sha256-ab….sig layer 2"). */
    readonly label: string;
  }
  | {
    /** A Sigstore bundle (OCI referrer or a file). */
    readonly kind: "bundle";
    readonly signedDigest: Digest;
    readonly bundle: unknown;
    /**
     * "signature" requires predicateType sign/v1; "attestation" accepts any predicate; "artifact" (blob
     * verification, e.g. the conformance adapter) also accepts message signatures over `artifact`.
     */
    readonly purpose: "signature" | "attestation" | "artifact";
    /** The signed bytes, for message-signature bundles (purpose "artifact"). */
    readonly artifact?: Uint8Array;
    readonly label: string;
  };

/** A candidate that verified: who signed and, for DSSE, the bound statement. */
export interface VerifiedCandidate {
  readonly result: SignatureResult;
  readonly statement?: InTotoStatement;
}

/** The SIGNATURE_INVALID error for a candidate, naming where it was found. */
export function invalid(candidate: Candidate, reason: string, cause?: unknown): DropzoneError {
  return new DropzoneError("SIGNATURE_INVALID", `${candidate.label}: ${reason}`, cause ? { cause } : {});
}

// Candidates share one blob when a manifest lists it repeatedly (see artifact_budget.ts): hash it once.
const HASHES = new WeakMap<Uint8Array, Uint8Array>();

/** SHA-256 of `bytes`, computed once per blob. */
export function sha256(bytes: Uint8Array): Uint8Array {
  let hash = HASHES.get(bytes);
  if (!hash) HASHES.set(bytes, hash = new Uint8Array(crypto.createHash("sha256").update(bytes).digest()));
  return hash;
}

/** Lower-case hex of `bytes`. */
export const hex: (bytes: Uint8Array) => string = toHex;

/** True when two byte strings are equal. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The signing key or certificate DER that the bundle claims, for comparing with the tlog body. */
export function claimedVerifier(bundle: Bundle): { certificate?: Uint8Array | undefined } {
  const vm = bundle.verificationMaterial.content;
  if (vm.$case === "x509CertificateChain") {
    return { certificate: vm.x509CertificateChain.certificates[0]?.rawBytes };
  }
  if (vm.$case === "certificate") return { certificate: vm.certificate.rawBytes };
  return {};
}
