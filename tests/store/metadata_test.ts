import assert from "node:assert/strict";
import { join } from "node:path";
import { isDropzoneError } from "../../src/errors.ts";
import {
  parseMetadata,
  readMetadata,
  signatureRecord,
  toListEntry,
  writeMetadata,
} from "../../src/store/metadata.ts";
import { tempHome } from "../support/temp_home.ts";
import { digestOf, sampleMetadata } from "../support/store_fixtures.ts";

Deno.test("writeMetadata() and readMetadata() round-trip every field", async () => {
  await using home = await tempHome();
  const meta = await sampleMetadata("jq", "1.7");
  const path = join(home.path, "metadata.json");
  await writeMetadata(path, meta);
  assert.deepEqual(await readMetadata(path), meta);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
  const unsigned = {
    ...meta,
    signature: null,
    allow_unsigned: true,
    tag: null,
    index_digest: null,
    loader: null,
  };
  await writeMetadata(path, unsigned);
  assert.deepEqual(await readMetadata(path), unsigned);
});

Deno.test("parseMetadata() names the file and the first bad field", async (t) => {
  const good = await sampleMetadata("jq", "1.7");
  const cases: [string, Record<string, unknown>, string][] = [
    ["digest", { digest: "sha256:xyz" }, "digest: expected sha256:<64 hex>"],
    ["name", { name: "" }, "name: expected a non-empty string"],
    ["registry.url", { registry: { name: "cgr" } }, "registry.url"],
    ["entrypoint.raw", { entrypoint: { raw: [1], resolved: "/x" } }, "entrypoint.raw[0]"],
    ["signature.source", { signature: { ...good.signature, source: "email" } }, "signature.source"],
    ["layers", { layers: ["nope"] }, "layers[0]"],
    ["allow_unsigned", { allow_unsigned: "yes" }, "allow_unsigned"],
    ["installed_at", { installed_at: "yesterday" }, "installed_at"],
    ["attestations.kind", { attestations: [{ predicateType: "x", verified: false, kind: "weird" }] }, "kind"],
  ];
  for (const [label, patch, expected] of cases) {
    await t.step(label, () => {
      assert.throws(
        () => parseMetadata(JSON.stringify({ ...good, ...patch }), "/store/jq/metadata.json"),
        (err) =>
          isDropzoneError(err, "IO") && err.message.includes("/store/jq/metadata.json") &&
          err.message.includes(expected),
      );
    });
  }
});

Deno.test("parseMetadata() refuses a newer schema version with a hint to upgrade dz", async () => {
  const meta = { ...(await sampleMetadata("jq", "1.7")), schema_version: 2 };
  assert.throws(
    () => parseMetadata(JSON.stringify(meta), "m.json"),
    (err) => isDropzoneError(err, "CONFIG_VERSION") && /upgrade dz/i.test(err.hint ?? ""),
  );
  assert.throws(() => parseMetadata("{not json", "m.json"), (err) => isDropzoneError(err, "IO"));
  assert.throws(() => parseMetadata('{"name":"jq"}', "m.json"), (err) => isDropzoneError(err, "IO"));
});

Deno.test("readMetadata() fails with IO naming a missing file", async () => {
  await assert.rejects(
    readMetadata("/nonexistent/metadata.json"),
    (err) => isDropzoneError(err, "IO") && err.message.includes("/nonexistent/metadata.json"),
  );
});

Deno.test("toListEntry() projects the stable list --json fields", async () => {
  const meta = await sampleMetadata("jq", "1.7");
  assert.deepEqual(toListEntry(meta), {
    name: "jq",
    tag: "1.7",
    digest: meta.digest,
    index_digest: meta.index_digest,
    registry: "cgr",
    repository: "chainguard/jq",
    platform: "linux/amd64",
    signed: true,
    signer: meta.signature!.identity,
    issuer: "https://token.actions.githubusercontent.com",
    allow_unsigned: false,
    installed_at: meta.installed_at,
    ref: "cgr/jq:1.7",
  });
  const unsigned = toListEntry({ ...meta, signature: null, allow_unsigned: true });
  assert.equal(unsigned.signed, false);
  assert.equal(unsigned.signer, null);
  assert.equal(unsigned.issuer, null);
});

Deno.test("signatureRecord() persists a verifier result with nulls for absent fields", async () => {
  const signed = await digestOf("m");
  const record = signatureRecord(
    { signedDigest: signed, source: "legacy-sig", identity: "key:abc" },
    new Date("2026-11-22T00:00:00Z"),
  );
  assert.deepEqual(record, {
    verified: true,
    identity: "key:abc",
    issuer: null,
    source: "legacy-sig",
    signed_digest: signed,
    rekor_log_index: null,
    integrated_time: null,
    verified_at: "2026-11-22T00:00:00.000Z",
    proof: "signature",
    provenance: null,
  });
  const proven = signatureRecord(
    {
      signedDigest: signed,
      source: "bundle-referrer",
      identity: "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main",
      proof: "provenance",
      provenance: {
        builderId: "https://github.com/actions/runner/github-hosted",
        sourceRepo: "https://github.com/o/r",
      },
    },
    new Date("2026-11-22T00:00:00Z"),
  );
  assert.equal(proven.proof, "provenance");
  assert.deepEqual(proven.provenance, {
    builder_id: "https://github.com/actions/runner/github-hosted",
    source_repository: "https://github.com/o/r",
    source_commit: null,
  });
});

Deno.test("parseMetadata() reads metadata written before artifacts and provenance as image / signature", async () => {
  const meta = await sampleMetadata("jq", "1.7");
  const old = JSON.parse(JSON.stringify(meta));
  delete old.kind;
  delete old.artifact_file;
  delete old.proof;
  delete old.signature.proof;
  delete old.signature.provenance;
  const parsed = parseMetadata(JSON.stringify(old), "m.json");
  assert.equal(parsed.kind, "image");
  assert.equal(parsed.artifact_file, null);
  assert.equal(parsed.proof, "signature");
  assert.equal(parsed.signature?.proof, "signature");
  assert.equal(parsed.signature?.provenance, null);
  assert.throws(() => parseMetadata(JSON.stringify({ ...meta, kind: "rootfs" }), "m.json"), /kind: expected/);
  const artifact = parseMetadata(
    JSON.stringify({ ...meta, kind: "artifact", artifact_file: "tool" }),
    "m.json",
  );
  assert.equal(artifact.kind, "artifact");
  assert.equal(artifact.artifact_file, "tool");
});

Deno.test("parseMetadata() reads served_by and cross_checked, and metadata written before them as null and []", async () => {
  const meta = await sampleMetadata("jq", "1.7", {
    served_by: "mirror.corp.example/hub",
    cross_checked: ["a.example", "b.example/ns"],
  });
  assert.deepEqual(parseMetadata(JSON.stringify(meta), "m.json"), meta);
  const { served_by: _s, cross_checked: _c, ...older } = meta;
  const read = parseMetadata(JSON.stringify(older), "m.json");
  assert.equal(read.served_by, null);
  assert.deepEqual(read.cross_checked, []);
  assert.throws(
    () => parseMetadata(JSON.stringify({ ...meta, cross_checked: [""] }), "m.json"),
    (err) => isDropzoneError(err, "IO") && err.message.includes("cross_checked[0]"),
  );
});
