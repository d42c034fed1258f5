/** Verification under a plan's trust decision, then its gate: the order install and pull rely on. */
import assert from "node:assert/strict";
import { verifyAndGate } from "../../src/app/install_gate.ts";
import { planInstall } from "../../src/app/install_plan.ts";
import { isDropzoneError } from "../../src/errors.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import { fakeDigest, FIXTURE_REGISTRIES, resolvedImage } from "../support/resolved_image.ts";

const image = resolvedImage();
const unsignedPlan = planInstall({ origin: "install", ref: image.ref, allowUnsigned: true }, {
  config: { always_allow_unsigned: false, registries: FIXTURE_REGISTRIES },
  installed: null,
});
// An unsigned install reads nothing about signatures: any registry call is a defect.
const noClient = new Proxy({}, {
  get: (_t, key) => () => Promise.reject(new Error(`unexpected registry call ${String(key)}`)),
}) as RegistryClient;
const deps = {
  client: noClient,
  now: () => new Date("2026-12-01T00:00:00Z"),
  loadTrust: () => Promise.reject(new Error("an unsigned install loads no trust material")),
};

Deno.test("verifyAndGate() of an unsigned plan loads no trust, reads no signature and passes the gate", async () => {
  let seen: unknown;
  const result = await verifyAndGate(unsignedPlan, image, deps, {
    signal: new AbortController().signal,
    onVerified: (v) => seen = v,
  });
  assert.deepEqual(result.verification, { signature: null, attestations: [] });
  assert.deepEqual(seen, result.verification);
  assert.equal(result.trustedSigner, null);
});

Deno.test("verifyAndGate() reports the verification before the gate refuses (an archive index entry nothing verified)", async () => {
  const order: string[] = [];
  await assert.rejects(
    () =>
      verifyAndGate(unsignedPlan, image, deps, {
        signal: new AbortController().signal,
        archive: { entries: [{ digest: fakeDigest("e"), name: "1.0" }], consulted: new Set() },
        onVerified: () => order.push("verified"),
      }),
    (err) => {
      order.push("refused");
      return isDropzoneError(err, "SIGNATURE_MISSING") && /index\.json lists "1\.0"/.test(err.message);
    },
  );
  assert.deepEqual(order, ["verified", "refused"]);
});

Deno.test("verifyAndGate() accepts an archive whose index.json lists only the verified image and its index", async () => {
  const result = await verifyAndGate(unsignedPlan, image, deps, {
    signal: new AbortController().signal,
    archive: {
      entries: [{ digest: image.digest, name: "1.0" }, { digest: image.index!.digest }],
      consulted: new Set(),
    },
  });
  assert.equal(result.verification.signature, null);
});
