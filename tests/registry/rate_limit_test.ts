import assert from "node:assert/strict";
import { quotaFindings } from "../../src/app/doctor_quota.ts";
import { parseRateLimit } from "../../src/registry/client.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import { startFakeRegistry } from "../support/fake_registry.ts";
import { buildImage, pushImage } from "../support/image_builder.ts";
import { testClient } from "../support/registry_client.ts";

Deno.test("parseRateLimit() reads Docker Hub's quota headers", () => {
  assert.deepEqual(
    parseRateLimit(new Headers({ "RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "87;w=21600" })),
    { limit: 100, remaining: 87, windowSeconds: 21600 },
  );
  assert.equal(parseRateLimit(new Headers({ "RateLimit-Limit": "100" })), undefined);
  assert.equal(
    parseRateLimit(new Headers({ "RateLimit-Limit": "x", "RateLimit-Remaining": "y" })),
    undefined,
  );
});

Deno.test("quotaFindings() reports the remaining pulls from a free HEAD, warning below 10%", async () => {
  await using reg = await startFakeRegistry({ quota: { limit: "100;w=21600", remaining: "7;w=21600" } });
  const image = await buildImage({ layers: [{ entries: [{ type: "file", path: "a", content: "a" }] }] });
  await pushImage(reg, "team/tool", "1.0", image);
  const { client } = testClient();
  const head = await client.headManifest({ registry: reg.host, repository: "team/tool" }, "1.0");
  assert.deepEqual(head?.rateLimit, { limit: 100, remaining: 7, windowSeconds: 21600 });
  const meta = {
    registry: { name: "r", url: reg.host },
    repository: "team/tool",
    tag: "1.0",
  } as PackageMetadata;
  const before = reg.requests.filter((r) => r.method === "GET" && r.path.includes("/manifests/")).length;
  const findings = await quotaFindings(client, [
    meta,
    { ...meta, repository: "team/other" } as PackageMetadata,
  ]);
  assert.equal(findings.length, 1, "one probe per registry host");
  assert.equal(findings[0]!.severity, "warning");
  assert.match(findings[0]!.message, /7 of 100 pulls left per 6h/);
  const after = reg.requests.filter((r) => r.method === "GET" && r.path.includes("/manifests/")).length;
  assert.equal(after, before, "the probe spends no pull (HEAD only)");
});
