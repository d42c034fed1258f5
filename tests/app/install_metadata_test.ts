/** What metadata.json records for a staged image and artifact version, built from the resolved image. */
import assert from "node:assert/strict";
import type { Verification } from "../../src/app/image.ts";
import { buildArtifactMetadata, buildMetadata, type MetadataInput } from "../../src/app/install_metadata.ts";
import type { ShimPlan } from "../../src/shim/plan.ts";
import { fakeDigest, resolvedImage } from "../support/resolved_image.ts";

const D = fakeDigest;
const NOW = new Date("2026-12-01T10:00:00.000Z");
const image = resolvedImage;

const SIGNED: Verification = {
  signature: {
    identity: "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1",
    issuer: "https://token.actions.githubusercontent.com",
    signedDigest: D("i"),
    source: "bundle-referrer",
    rekorLogIndex: 7,
    integratedTime: 1_700_000_000,
  },
  attestations: [{ predicateType: "https://spdx.dev/Document", verified: true, kind: "sbom" }],
};

function input(overrides: Partial<MetadataInput> = {}): MetadataInput {
  return {
    name: "tool",
    image: image(),
    verification: SIGNED,
    unsigned: false,
    now: NOW,
    trustedSigner: null,
    ...overrides,
  };
}

const PLAN = {
  name: "tool",
  entrypoint: { argv: ["/usr/bin/tool", "--x"], path: "/usr/bin/tool", resolved: "/usr/lib/tool/tool" },
  loader: "/lib/ld-linux-x86-64.so.2",
  extraBins: [{ name: "tool-helper", entrypoint: { path: "/usr/bin/helper" } }],
} as unknown as ShimPlan;

Deno.test("buildMetadata() records source, digests, the verified signer, every layer and each wrapper's path", () => {
  const meta = buildMetadata({
    ...input({ servedBy: "mirror.local/apps", crossChecked: ["b.local"] }),
    plan: PLAN,
  });
  assert.equal(meta.kind, "image");
  assert.equal(meta.ref, "lab/tool:1.0");
  assert.equal(meta.repository, "apps/tool");
  assert.equal(meta.tag, "1.0");
  assert.equal(meta.index_digest, D("i"));
  assert.equal(meta.digest, D("m"));
  assert.equal(meta.config_digest, D("c"));
  assert.deepEqual(meta.layers, [D("1"), D("2")]);
  assert.equal(meta.size_bytes, 123);
  assert.deepEqual(meta.entrypoint, { raw: ["/usr/bin/tool", "--x"], resolved: "/usr/lib/tool/tool" });
  assert.equal(meta.loader, "/lib/ld-linux-x86-64.so.2");
  assert.deepEqual(meta.bins, [
    { name: "tool", path: "/usr/bin/tool" },
    { name: "tool-helper", path: "/usr/bin/helper" },
  ]);
  assert.equal(meta.signature?.identity, SIGNED.signature!.identity);
  assert.equal(meta.signature?.verified_at, NOW.toISOString());
  assert.equal(meta.proof, "signature");
  assert.equal(meta.installed_at, NOW.toISOString());
  assert.equal(meta.served_by, "mirror.local/apps");
  assert.deepEqual(meta.cross_checked, ["b.local"]);
  assert.equal(meta.allow_unsigned, false);
  assert.deepEqual(meta.attestations, SIGNED.attestations);
});

Deno.test("buildMetadata() of an unsigned install records no signature and no proof", () => {
  const meta = buildMetadata({
    ...input({ unsigned: true, verification: { signature: null, attestations: [] } }),
    plan: PLAN,
  });
  assert.equal(meta.signature, null);
  assert.equal(meta.proof, null);
  assert.equal(meta.allow_unsigned, true);
  assert.equal(meta.served_by, null);
  assert.deepEqual(meta.cross_checked, []);
});

Deno.test("buildArtifactMetadata() references only the installed file's layer and links that one binary", () => {
  const file = {
    title: "tool-linux-amd64",
    layer: { mediaType: "application/octet-stream", digest: D("2"), size: 23 },
  };
  const meta = buildArtifactMetadata({
    ...input({ image: image({ kind: "artifact" }) }),
    file: { ...file, archive: "none" },
    link: { name: "tool", path: "/tool-linux-amd64", kind: "elf-static", interpreter: null },
  });
  assert.equal(meta.kind, "artifact");
  assert.equal(meta.artifact_file, "tool-linux-amd64");
  assert.deepEqual(meta.layers, [D("2")], "not the other files of the artifact");
  assert.equal(meta.size_bytes, 23);
  assert.deepEqual(meta.bins, [{ name: "tool", path: "/tool-linux-amd64" }]);
  assert.deepEqual(meta.entrypoint, { raw: ["/tool-linux-amd64"], resolved: "/tool-linux-amd64" });
  assert.equal(meta.loader, null);
  assert.equal(meta.digest, D("m"));
});
