import assert from "node:assert/strict";
import { toBase64 } from "../../src/encoding.ts";
import { type Digest, digestHex } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { boundStatement, SIGN_PREDICATE_TYPE } from "../../src/verify/statement.ts";

const DIGEST = `sha256:${"ab".repeat(32)}` as Digest;
const OTHER = `sha256:${"cd".repeat(32)}` as Digest;

function envelope(statement: unknown, payloadType: string = MEDIA_TYPES.IN_TOTO) {
  const text = typeof statement === "string" ? statement : JSON.stringify(statement);
  return { payloadType, payload: toBase64(new TextEncoder().encode(text)) };
}

const STATEMENT = {
  _type: "https://in-toto.io/Statement/v1",
  subject: [{ name: "registry.test/acme/tool", digest: { sha256: digestHex(DIGEST) } }],
  predicateType: SIGN_PREDICATE_TYPE,
  predicate: { a: 1 },
};

Deno.test("boundStatement() returns the statement bound to the digest, from base64 or bytes", () => {
  const expected = {
    type: "https://in-toto.io/Statement/v1",
    subjects: [{ name: "registry.test/acme/tool", sha256: digestHex(DIGEST) }],
    predicateType: SIGN_PREDICATE_TYPE,
    predicate: { a: 1 },
  };
  assert.deepEqual(boundStatement(envelope(STATEMENT), DIGEST), expected);
  const bytes = new TextEncoder().encode(JSON.stringify(STATEMENT));
  assert.deepEqual(boundStatement({ payloadType: MEDIA_TYPES.IN_TOTO, payload: bytes }, DIGEST), expected);
});

Deno.test("boundStatement() accepts v0.1 statements, upper-case hex and a match among several subjects", () => {
  const statement = {
    ...STATEMENT,
    _type: "https://in-toto.io/Statement/v0.1",
    subject: [
      { name: "other", digest: { sha256: digestHex(OTHER) } },
      { digest: { sha512: "00" } },
      { name: "this", digest: { sha256: digestHex(DIGEST).toUpperCase() } },
    ],
  };
  const bound = boundStatement(envelope(statement), DIGEST);
  assert.equal(bound.type, "https://in-toto.io/Statement/v0.1");
  assert.deepEqual(bound.subjects, [
    { name: "other", sha256: digestHex(OTHER) },
    {},
    { name: "this", sha256: digestHex(DIGEST) },
  ]);
});

Deno.test("boundStatement() refuses envelopes that are not bound in-toto statements, saying why", async (t) => {
  const cases: [string, ReturnType<typeof envelope>, RegExp][] = [
    [
      "other payloadType",
      envelope(STATEMENT, "application/vnd.dev.cosign.simplesigning.v1+json"),
      /DSSE payloadType is "application\/vnd\.dev\.cosign\.simplesigning\.v1\+json", expected "application\/vnd\.in-toto\+json"/,
    ],
    ["payload not JSON", envelope("not json"), /DSSE payload is not a JSON in-toto statement/],
    ["JSON null", envelope("null"), /unknown in-toto statement type "undefined"/],
    [
      "unknown _type",
      envelope({ ...STATEMENT, _type: "https://in-toto.io/Statement/v2" }),
      /unknown in-toto statement type "https:\/\/in-toto\.io\/Statement\/v2"/,
    ],
    ["no predicateType", envelope({ ...STATEMENT, predicateType: undefined }), /has no predicateType/],
    ["subject not a list", envelope({ ...STATEMENT, subject: STATEMENT.subject[0] }), /has no subject list/],
    [
      "subject for another digest",
      envelope({ ...STATEMENT, subject: [{ digest: { sha256: digestHex(OTHER) } }] }),
      new RegExp(`subject sha256:${digestHex(OTHER)} does not name ${DIGEST}`),
    ],
    [
      "subject without sha256",
      envelope({ ...STATEMENT, subject: [{ name: "x", digest: { sha512: "00" } }] }),
      /subject \(no sha256\) does not name/,
    ],
    ["no subjects", envelope({ ...STATEMENT, subject: [] }), /subject \(none\) does not name/],
    [
      "digest given as prefixed string",
      envelope({ ...STATEMENT, subject: [{ digest: { sha256: DIGEST } }] }),
      /does not name/,
    ],
  ];
  for (const [name, env, pattern] of cases) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => boundStatement(env, DIGEST),
          (err) => err instanceof TypeError && pattern.test(err.message),
        ),
    );
  }
});
