/** The Rekor checks sigstore-js leaves to cosign: thresholds per bundle kind, entry kind names. */
import assert from "node:assert/strict";
import { kindVersion, thresholds } from "../../src/verify/rekor_checks.ts";
import type { Bundle } from "../../src/verify/sigstore.ts";

function bundle(tlog: { promised: boolean }[], tsas: number): Bundle {
  return {
    verificationMaterial: {
      tlogEntries: tlog.map((e) =>
        e.promised ? { inclusionPromise: { signedEntryTimestamp: new Uint8Array() } } : {}
      ),
      timestampVerificationData: { rfc3161Timestamps: Array.from({ length: tsas }, () => ({})) },
    },
  } as unknown as Bundle;
}

Deno.test("thresholds(): keyless always needs a tlog entry, an SCT and a timestamp", () => {
  assert.deepEqual(thresholds(bundle([], 0), false), {
    tlogThreshold: 1,
    ctlogThreshold: 1,
    timestampThreshold: 1,
  });
});

Deno.test("thresholds(): key-based needs only what it carries (cosign sign --tlog-upload=false carries nothing)", () => {
  for (
    const [tlog, tsas, expected] of [
      [[], 0, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }],
      [[{ promised: true }], 0, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 }],
      [[{ promised: false }], 0, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 }],
      [[], 1, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 }],
    ] as const
  ) {
    assert.deepEqual(thresholds(bundle([...tlog], tsas), true), expected, JSON.stringify({ tlog, tsas }));
  }
});

Deno.test("kindVersion() names an entry kind/version, and says undefined for an entry without one", () => {
  assert.equal(
    kindVersion({ kindVersion: { kind: "hashedrekord", version: "0.0.1" } }),
    "hashedrekord/0.0.1",
  );
  assert.equal(kindVersion({}), "undefined/undefined");
});
