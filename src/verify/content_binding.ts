/**
 * Content binding: what a verified signature is over must be the exact digest (or artifact) asked about — a DSSE
 * statement's subject, a simple-signing payload's docker-manifest-digest, or a message signature's digest.
 */
import type { Digest } from "../oci/digest.ts";
import type { Bundle } from "./sigstore.ts";
import { boundStatement, type InTotoStatement, SIGN_PREDICATE_TYPE } from "./statement.ts";
import { type Candidate, hex, invalid, sha256 } from "./candidate.ts";

/** Checks a simple-signing payload names `digest` (cosign's SimpleClaimVerifier). */
export function checkSimpleSigning(candidate: Candidate, payload: Uint8Array, digest: Digest): void {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw invalid(candidate, "signed payload is not JSON");
  }
  // Go unmarshals case-insensitively; 2021 cosign wrote "Docker-manifest-digest".
  const get = (obj: unknown, key: string): unknown => {
    if (typeof obj !== "object" || obj === null) return undefined;
    const hit = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
    return hit === undefined ? undefined : (obj as Record<string, unknown>)[hit];
  };
  const critical = get(doc, "critical");
  const type = get(critical, "type");
  if (type !== "cosign container image signature" && type !== "cosign container signature") {
    throw invalid(
      candidate,
      `signed payload type is "${String(type)}", not a cosign container image signature`,
    );
  }
  const signed = get(get(critical, "image"), "docker-manifest-digest");
  if (signed !== digest) {
    throw invalid(candidate, `signature is for ${String(signed)}, not ${digest}`);
  }
}

/**
 * Binds a verified bundle's content to `candidate.signedDigest` (or, for an artifact, to its bytes `payload`);
 * returns the bound statement of a DSSE envelope. Throws SIGNATURE_INVALID when it is about something else.
 */
export function bindContent(
  candidate: Candidate,
  bundle: Bundle,
  payload: Uint8Array | undefined,
): InTotoStatement | undefined {
  if (bundle.content.$case === "dsseEnvelope") {
    let statement: InTotoStatement;
    try {
      statement = boundStatement(
        {
          payloadType: bundle.content.dsseEnvelope.payloadType,
          payload: bundle.content.dsseEnvelope.payload,
        },
        candidate.signedDigest,
      );
    } catch (err) {
      throw invalid(candidate, (err as Error).message, err);
    }
    if (candidate.kind === "bundle" && candidate.purpose === "signature") {
      if (statement.predicateType !== SIGN_PREDICATE_TYPE) {
        throw invalid(candidate, `predicateType "${statement.predicateType}" is not a signature`);
      }
    }
    return statement;
  }
  if (candidate.kind === "legacy-sig" && payload !== undefined) {
    checkSimpleSigning(candidate, payload, candidate.signedDigest);
    return undefined;
  }
  if (candidate.kind === "bundle" && candidate.purpose === "artifact") {
    // The library verified the signature over the artifact bytes (or, by digest, over candidate.signedDigest,
    // which prehashedSignatureContent already compared with the recorded digest); require the recorded digest
    // to match the artifact too.
    const md = bundle.content.messageSignature.messageDigest;
    if (payload !== undefined && md && md.digest.length === 32 && hex(md.digest) !== hex(sha256(payload))) {
      throw invalid(candidate, "bundle message digest does not match the artifact");
    }
    return undefined;
  }
  throw invalid(
    candidate,
    "message-signature bundles cannot be bound to an image; expected a DSSE statement",
  );
}
