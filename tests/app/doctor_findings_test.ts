import assert from "node:assert/strict";
import {
  describeRepair,
  type Finding,
  isHealthy,
  sortFindings,
  storeFindingToDoctor,
} from "../../src/app/doctor_findings.ts";

const HEX = "a".repeat(64);

Deno.test("store findings and repairs map to doctor findings and changes", () => {
  const digest = `sha256:${HEX}` as const;
  assert.deepEqual(storeFindingToDoctor({ kind: "leftover", path: "/h/packages/jq/.staging-x" }), {
    kind: "leftover",
    severity: "warning",
    subject: "/h/packages/jq/.staging-x",
    path: "/h/packages/jq/.staging-x",
    message: "leftover of an interrupted dz: /h/packages/jq/.staging-x",
    fixable: true,
  });
  assert.equal(storeFindingToDoctor({ kind: "broken-current", name: "jq", target: "x" }).severity, "error");
  assert.equal(
    storeFindingToDoctor({ kind: "corrupt-metadata", name: "jq", digest, path: "/p", message: "bad" })
      .fixable,
    false,
  );
  const blob = storeFindingToDoctor({ kind: "unreferenced-blob", digest, size: 42 });
  assert.equal(blob.severity, "info");
  assert.equal(blob.bytes, 42);
  const repoint = {
    kind: "repointed-current",
    name: "jq",
    digest,
    tag: "1.6",
    installedAt: "2026-01-02T00:00:00Z",
  } as const;
  assert.match(
    describeRepair({ ...repoint, from: null, older: false } as const).message,
    /re-pointed "jq" current \(missing\) at sha256:.* \(1\.6, installed 2026-01-02/,
  );
  // Going back to an earlier version is never silent: the report names both and says how to get the newer back.
  const back = describeRepair({ ...repoint, from: "sha256-" + "b".repeat(64), older: true } as const).message;
  assert.match(back, /from sha256-b{64}, which is damaged, to the EARLIER version sha256:/);
  assert.match(back, /dz update jq/);
});

Deno.test("sortFindings and isHealthy", () => {
  const f = (
    kind: Finding["kind"],
    severity: Finding["severity"],
    subject: string,
    fixable = false,
  ): Finding => ({
    kind,
    severity,
    subject,
    message: `${kind} ${subject}`,
    fixable,
  });
  const findings = sortFindings([
    f("foreign-file", "info", "/b/mine"),
    f("stale-wrapper", "warning", "/b/jq", true),
    f("missing-wrapper", "error", "/b/yq", true),
  ]);
  assert.deepEqual(findings.map((x) => x.severity), ["error", "warning", "info"]);
  assert.equal(isHealthy(findings), false);
  assert.equal(isHealthy([f("foreign-file", "info", "/b/mine")]), true);
});
