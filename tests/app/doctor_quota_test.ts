import assert from "node:assert/strict";
import { quotaFindings } from "../../src/app/doctor_quota.ts";
import type { ManifestHead, RepoRef } from "../../src/registry/types.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";

const pkg = (name: string, url: string) =>
  ({
    name,
    registry: { name: "r", url },
    repository: `team/${name}`,
    tag: "1.0",
    digest: `sha256:${"a".repeat(64)}`,
  }) as unknown as PackageMetadata;

/** A client whose HEAD answers per host: a quota, no quota header, or a failure. */
function fakeClient(answers: Record<string, ManifestHead["rateLimit"] | null | Error>) {
  const asked: string[] = [];
  return {
    asked,
    client: {
      headManifest(repo: RepoRef, reference: string): Promise<ManifestHead | null> {
        asked.push(`${repo.registry}/${repo.repository}:${reference}`);
        const a = answers[repo.registry];
        if (a instanceof Error) return Promise.reject(a);
        const head = { digest: `sha256:${"b".repeat(64)}`, mediaType: "x", size: 1 } as ManifestHead;
        return Promise.resolve(a ? { ...head, rateLimit: a } : head);
      },
    },
  };
}

Deno.test("quotaFindings() asks each registry host once and warns below 10% of the limit", async () => {
  const { client, asked } = fakeClient({
    "hub.example": { limit: 100, remaining: 9, windowSeconds: 21600 },
    "ghcr.example": { limit: 100, remaining: 10 },
  });
  const findings = await quotaFindings(client, [
    pkg("jq", "hub.example/team"),
    pkg("yq", "hub.example/team"),
    pkg("gh", "ghcr.example/team"),
  ]);
  assert.deepEqual(asked.sort(), ["ghcr.example/team/gh:1.0", "hub.example/team/jq:1.0"]);
  const by = Object.fromEntries(findings.map((f) => [f.subject, f]));
  assert.equal(by["hub.example"]!.severity, "warning");
  assert.equal(
    by["hub.example"]!.message,
    "hub.example: 9 of 100 pulls left per 6h (update checks use HEAD and spend none)",
  );
  assert.equal(by["ghcr.example"]!.severity, "info");
  assert.ok(findings.every((f) => f.kind === "rate-limit" && !f.fixable));
});

Deno.test("quotaFindings() says nothing without a quota header and only informs when a registry fails", async () => {
  const { client } = fakeClient({
    "quiet.example": null,
    "down.example": new Error("connection refused\nmore"),
  });
  const findings = await quotaFindings(client, [pkg("a", "quiet.example/x"), pkg("b", "down.example/x")]);
  assert.deepEqual(findings, [{
    kind: "rate-limit",
    severity: "info",
    subject: "down.example",
    message: "down.example: could not read the pull quota (connection refused)",
    fixable: false,
  }]);
});
