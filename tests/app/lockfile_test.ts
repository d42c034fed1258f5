/** dz.lock parsing, lock entries built from an installed package and its index, and drift against what is installed. */
import assert from "node:assert/strict";
import { lockDrift, type LockedPackage, lockEntry, parseLockfile, sourceOf } from "../../src/app/lockfile.ts";
import { isDropzoneError } from "../../src/errors.ts";
import { type Digest, shortDigest } from "../../src/oci/digest.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import { digestOf, sampleMetadata } from "../support/store_fixtures.ts";

const A = ("sha256:" + "a".repeat(64)) as Digest;
const B = ("sha256:" + "b".repeat(64)) as Digest;

const VALID = `version: 1
packages:
  - name: jq
    source: docker.io/chainguard/jq
    tag: latest
    index_digest: ${A}
    platforms:
      linux/amd64: ${B}
    signer: { identity: https://id.example/wf, issuer: https://issuer.example }
    allow_unsigned: true
`;

Deno.test("parseLockfile() reads a valid lockfile, defaulting absent optional fields", () => {
  assert.deepEqual(parseLockfile(VALID, "dz.lock"), {
    version: 1,
    packages: [{
      name: "jq",
      source: "docker.io/chainguard/jq",
      tag: "latest",
      index_digest: A,
      platforms: { "linux/amd64": B },
      signer: { identity: "https://id.example/wf", issuer: "https://issuer.example" },
      allow_unsigned: true,
    }],
  });
  const minimal = parseLockfile(
    `version: 1\npackages:\n  - { name: jq, source: x/jq, platforms: { linux/amd64: ${B} } }\n`,
    "dz.lock",
  );
  assert.deepEqual(minimal.packages[0], {
    name: "jq",
    source: "x/jq",
    tag: null,
    index_digest: null,
    platforms: { "linux/amd64": B },
    signer: null,
    allow_unsigned: false,
  });
});

Deno.test("parseLockfile() rejects malformed lockfiles with INVALID_ARGUMENT naming the file and the field", () => {
  const cases: [text: string, why: RegExp][] = [
    ["version: [", /Invalid lockfile dz\.lock: /],
    ["just text", /not a mapping/],
    ["version: 2\npackages: []\n", /unsupported version 2/],
    ["version: 1\npackages: {}\n", /packages must be a list/],
    ["version: 1\npackages:\n  - { source: x/jq, platforms: {} }\n", /packages\[0\] needs name and source/],
    ["version: 1\npackages:\n  - { name: jq, source: x/jq, platforms: {} }\n", /platforms is empty/],
    [
      "version: 1\npackages:\n  - { name: jq, source: x/jq, platforms: { linux/amd64: latest } }\n",
      /packages\[0\]\.platforms\.linux\/amd64 is not a digest/,
    ],
    [
      `version: 1\npackages:\n  - { name: jq, source: x/jq, index_digest: nope, platforms: { l/a: ${B} } }\n`,
      /index_digest is not a digest/,
    ],
    [
      `version: 1\npackages:\n  - { name: jq, source: x/jq, signer: { issuer: i }, platforms: { l/a: ${B} } }\n`,
      /signer\.identity is missing/,
    ],
  ];
  for (const [text, why] of cases) {
    assert.throws(
      () => parseLockfile(text, "dz.lock"),
      (err) =>
        isDropzoneError(err) && err.code === "INVALID_ARGUMENT" && why.test(err.message) &&
        /dz lock/.test(err.hint ?? ""),
      text,
    );
  }
});

/** A client whose only manifest is an index with the given platform entries. */
function indexClient(entries: { digest: Digest; os: string; architecture: string }[]): RegistryClient {
  const manifest = {
    kind: "index",
    manifests: entries.map((e) => ({
      digest: e.digest,
      platform: { os: e.os, architecture: e.architecture },
    })),
  };
  return {
    getManifest: () => Promise.resolve({ digest: A, mediaType: "", bytes: new Uint8Array(), manifest }),
  } as unknown as RegistryClient;
}

Deno.test("lockEntry() records the installed digest and the index's other lockable platforms, first entry wins", async () => {
  const meta = await sampleMetadata("jq", "1", { platform: "linux/amd64" });
  const arm = await digestOf("arm");
  const entry = await lockEntry(
    indexClient([
      { digest: await digestOf("other amd64"), os: "linux", architecture: "amd64" },
      { digest: arm, os: "linux", architecture: "arm64" },
      { digest: await digestOf("second arm"), os: "linux", architecture: "arm64" },
      { digest: await digestOf("windows"), os: "windows", architecture: "amd64" },
    ]),
    meta,
  );
  assert.deepEqual(entry, {
    name: "jq",
    source: "cgr.dev/chainguard/jq",
    tag: "1",
    index_digest: meta.index_digest,
    platforms: { "linux/amd64": meta.digest, "linux/arm64": arm },
    signer: { identity: meta.signature!.identity, issuer: meta.signature!.issuer },
    allow_unsigned: false,
  });
  const unsigned = await lockEntry(indexClient([]), { ...meta, index_digest: null, signature: null });
  assert.deepEqual(unsigned.platforms, { "linux/amd64": meta.digest });
  assert.equal(unsigned.signer, null);
});

Deno.test("lockDrift() names every difference: missing, extra, other digest, source or signer", async () => {
  const jq = await sampleMetadata("jq", "1");
  const locked = (over: Partial<LockedPackage> = {}): LockedPackage => ({
    name: "jq",
    source: sourceOf(jq),
    tag: "1",
    index_digest: jq.index_digest,
    platforms: { "linux/amd64": jq.digest },
    signer: { identity: jq.signature!.identity, issuer: jq.signature!.issuer },
    allow_unsigned: false,
    ...over,
  });
  const drift = (p: LockedPackage[], installed = [jq], platform = "linux/amd64") =>
    lockDrift({ version: 1, packages: p }, installed, platform);
  assert.deepEqual(drift([locked()]), []);
  const hub = { ...jq, registry: { name: "hub", url: "https://docker.io/chainguard" } };
  assert.deepEqual(
    drift([locked({ source: "registry.hub.docker.com/chainguard/jq" })], [hub]),
    [],
    "host alias",
  );
  assert.deepEqual(drift([locked()], []), ["jq: locked but not installed"]);
  assert.deepEqual(drift([]), ["jq: installed but not in the lockfile"]);
  assert.deepEqual(drift([locked({ platforms: { "linux/amd64": B } })]), [
    `jq: installed ${shortDigest(jq.digest)}, locked ${shortDigest(B)}`,
  ]);
  assert.deepEqual(drift([locked()], [jq], "darwin/arm64"), [
    "jq: the lockfile has no digest for darwin/arm64",
  ]);
  assert.deepEqual(drift([locked({ source: "ghcr.io/other/jq" })]), [
    "jq: installed from cgr.dev/chainguard/jq, locked to ghcr.io/other/jq",
  ]);
  assert.deepEqual(drift([locked({ signer: null })]), [
    `jq: signed by ${jq.signature!.identity}, locked to unsigned`,
  ]);
});
