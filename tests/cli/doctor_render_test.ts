import assert from "node:assert/strict";
import type { Finding, FindingKind } from "../../src/app/doctor.ts";
import { renderReport, SECTION_OF } from "../../src/cli/doctor_render.ts";

const f = (kind: FindingKind, severity: Finding["severity"], subject: string, fixable = false): Finding => ({
  kind,
  severity,
  subject,
  message: `${kind} ${subject}`,
  fixable,
});

Deno.test("renderReport groups findings, counts what remains and hints --fix", () => {
  const findings = [
    f("missing-wrapper", "error", "/b/yq", true),
    f("stale-wrapper", "warning", "/b/jq", true),
  ];
  const text = renderReport({ findings, fixed: [], healthy: false }, { fixRequested: false });
  assert.match(text, /^Wrappers:\n {2}error {3}missing-wrapper \/b\/yq \[fixable: dz doctor --fix\]$/m);
  assert.match(text, /1 error, 1 warning remain; run "dz doctor --fix" to repair 2\n$/);
  assert.equal(
    renderReport({ findings: [], fixed: [], healthy: true }, { fixRequested: false }),
    "Everything looks fine.\n",
  );
  const fixed = renderReport({
    findings: [f("unreferenced-blob", "info", "sha256:x"), f("unreferenced-blob", "info", "sha256:y")].map((
      x,
    ) => ({
      ...x,
      bytes: 10,
    })),
    fixed: [{ kind: "wrote-wrapper", subject: "/b/jq", message: "regenerated wrapper /b/jq" }],
    healthy: true,
  }, { fixRequested: true });
  assert.match(fixed, /^Fixed:\n {2}- regenerated wrapper \/b\/jq\n/);
  assert.match(fixed, /Cache:\n {2}info {4}2 cached blobs, 20 bytes/);
  assert.match(fixed, /No problems found\.\n$/);
});

Deno.test("a rate-limit warning that doctor counts is also printed", () => {
  const warning = f("rate-limit", "warning", "docker.io");
  const text = renderReport({ findings: [warning], fixed: [], healthy: false }, { fixRequested: false });
  assert.match(text, /^Registries:\n {2}warning rate-limit docker\.io$/m);
  assert.match(text, /0 errors, 1 warning remain/);
});

Deno.test("every finding kind is printed (each has a section)", () => {
  for (const kind of Object.keys(SECTION_OF) as FindingKind[]) {
    if (kind === "unreferenced-blob") continue; // summed up in one line, checked above
    const text = renderReport({ findings: [f(kind, "warning", "x")], fixed: [], healthy: false }, {
      fixRequested: false,
    });
    assert.ok(text.includes(`${kind} x`), kind);
  }
});
