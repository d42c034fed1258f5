/** In-toto statements inside DSSE envelopes: parsing and binding to an image digest (pure). */
import { type Digest, digestHex } from "../oci/digest.ts";
import { MEDIA_TYPES } from "../oci/media_types.ts";
import { fromBase64 } from "./legacy_bundle.ts";

/** predicateType of cosign v3 image signatures. */
export const SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";

const STATEMENT_TYPES: readonly string[] = [
  "https://in-toto.io/Statement/v1",
  "https://in-toto.io/Statement/v0.1",
];

/** A parsed in-toto statement. */
export interface InTotoStatement {
  readonly type: string;
  readonly subjects: readonly { name?: string; sha256?: string }[];
  readonly predicateType: string;
  readonly predicate: unknown;
}

/**
 * Parses the statement in a DSSE envelope and checks it is bound to `digest`: payloadType in-toto, a known
 * statement type, and a subject whose sha256 equals the digest. Throws TypeError naming what is wrong.
 */
export function boundStatement(
  envelope: { payloadType: string; payload: Uint8Array | string },
  digest: Digest,
): InTotoStatement {
  if (envelope.payloadType !== MEDIA_TYPES.IN_TOTO) {
    throw new TypeError(`DSSE payloadType is "${envelope.payloadType}", expected "${MEDIA_TYPES.IN_TOTO}"`);
  }
  const bytes = typeof envelope.payload === "string" ? fromBase64(envelope.payload) : envelope.payload;
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new TypeError("DSSE payload is not a JSON in-toto statement");
  }
  const d = doc as { _type?: unknown; subject?: unknown; predicateType?: unknown; predicate?: unknown };
  if (typeof d?._type !== "string" || !STATEMENT_TYPES.includes(d._type)) {
    throw new TypeError(`unknown in-toto statement type "${String(d?._type)}"`);
  }
  if (typeof d.predicateType !== "string") throw new TypeError("in-toto statement has no predicateType");
  if (!Array.isArray(d.subject)) throw new TypeError("in-toto statement has no subject list");
  const subjects = d.subject.map((s: unknown) => {
    const r = s as { name?: unknown; digest?: { sha256?: unknown } };
    return {
      ...(typeof r?.name === "string" ? { name: r.name } : {}),
      ...(typeof r?.digest?.sha256 === "string" ? { sha256: r.digest.sha256.toLowerCase() } : {}),
    };
  });
  const hex = digestHex(digest);
  if (!subjects.some((s) => s.sha256 === hex)) {
    const found = subjects.map((s) => s.sha256 ? `sha256:${s.sha256}` : "(no sha256)").join(", ") || "(none)";
    throw new TypeError(`in-toto statement subject ${found} does not name ${digest}`);
  }
  return { type: d._type, subjects, predicateType: d.predicateType, predicate: d.predicate };
}
