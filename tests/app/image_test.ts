/** Tests for src/app/image.ts: resolving references to platform manifests and verifying them (in-memory registry). */
import assert from "node:assert/strict";
import {
  blameMirrors,
  resolveImage,
  resolveManifest,
  type TrustDecision,
  verifyResolvedImage,
} from "../../src/app/image.ts";
import { DropzoneError, isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { resolveReference } from "../../src/oci/reference.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import type { Host } from "../../src/runtime.ts";
import type { CosignPolicy } from "../../src/verify/types.ts";
import { encodeJson } from "../support/oci_push.ts";
import { pushTestImage, pushTestIndex, signImageBundle } from "../support/cosign_signer.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { createTestPki } from "../support/test_pki.ts";

const AMD64: Host = { os: "linux", arch: "amd64" };
const ARM64: Host = { os: "linux", arch: "arm64" };
const REPOSITORY = "acme/tool";
const ID = "https://github.com/acme/tools/.github/workflows/release.yaml@refs/heads/main";
const ISSUER = "https://token.actions.githubusercontent.com";
const POLICY: CosignPolicy = { identity: ID, issuer: ISSUER };

const ref = (tail: string) => resolveReference(`registry.test/${REPOSITORY}${tail}`, { registries: [] });

/** A single-platform image for `architecture` (pushTestImage builds amd64). */
async function pushPlatformImage(reg: MemoryRegistry, architecture: string, content: string) {
  const layer = new TextEncoder().encode(content);
  const layerDigest = await reg.putBlob(REPOSITORY, layer);
  const config = encodeJson({
    architecture,
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: [] },
  });
  const configDigest = await reg.putBlob(REPOSITORY, config);
  const bytes = encodeJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPES.OCI_CONFIG, size: config.length, digest: configDigest },
    layers: [{ mediaType: MEDIA_TYPES.OCI_LAYER, size: layer.length, digest: layerDigest }],
  });
  const digest = await reg.putManifest(REPOSITORY, digestTag(architecture), bytes, MEDIA_TYPES.OCI_MANIFEST);
  return { digest, size: bytes.length, architecture };
}
const digestTag = (arch: string) => `only-${arch}`;

Deno.test("resolveImage(): a single-platform image for the host resolves with its config and platform", async () => {
  const reg = new MemoryRegistry();
  const pushed = await pushTestImage(reg, REPOSITORY, "1.0");
  const image = await resolveImage(ref(":1.0"), { client: reg, host: AMD64 });
  assert.equal(image.digest, pushed.digest);
  assert.equal(image.index, null);
  assert.equal(image.indexPlatform, null);
  assert.equal(image.platform, "linux/amd64");
  assert.equal(image.kind, "image");
  assert.deepEqual(image.repo, { registry: "registry.test", repository: REPOSITORY });
  assert.deepEqual(image.manifestBytes, pushed.bytes);
  await assert.rejects(
    resolveImage(ref(":1.0"), { client: reg, host: ARM64 }),
    (err) =>
      isDropzoneError(err, "NO_MATCHING_PLATFORM") &&
      /built for linux\/amd64, not for linux\/arm64/.test(err.message),
  );
});

Deno.test("resolveImage(): an index is narrowed to the host's platform and remembered", async () => {
  const reg = new MemoryRegistry();
  const amd = await pushPlatformImage(reg, "amd64", "a");
  const arm = await pushPlatformImage(reg, "arm64", "b");
  const index = await pushTestIndex(reg, REPOSITORY, "1.0", [amd, arm]);
  for (const [host, want] of [[AMD64, amd], [ARM64, arm]] as const) {
    const image = await resolveImage(ref(":1.0"), { client: reg, host });
    assert.equal(image.digest, want.digest);
    assert.equal(image.index?.digest, index.digest);
    assert.equal(image.indexPlatform, `linux/${want.architecture}`);
    assert.equal(image.platform, `linux/${want.architecture}`);
  }
  await assert.rejects(
    resolveImage(ref(":1.0"), { client: reg, host: { os: "linux", arch: "s390x" } }),
    (err) => isDropzoneError(err, "NO_MATCHING_PLATFORM"),
  );
});

Deno.test("resolveManifest(): a missing tag falls back to TAG-<arch>-<os>; otherwise the first error stands", async () => {
  const reg = new MemoryRegistry();
  const pushed = await pushTestImage(reg, REPOSITORY, "1.0-x86_64-linux");
  const m = await resolveManifest(ref(":1.0"), { client: reg, host: AMD64 });
  assert.equal(m.digest, pushed.digest);
  assert.equal(m.ref.tag, "1.0-x86_64-linux", "the tag actually used is recorded");
  await assert.rejects(
    resolveManifest(ref(":2.0"), { client: reg, host: AMD64 }),
    (err) =>
      isDropzoneError(err, "MANIFEST_UNKNOWN") && /2\.0/.test(err.message) && !/x86_64/.test(err.message),
  );
});

Deno.test("resolveManifest(): a digest reference answered with other content is a digest mismatch", async () => {
  const reg = new MemoryRegistry();
  const pushed = await pushTestImage(reg, REPOSITORY, "1.0");
  const other = `sha256:${"e".repeat(64)}` as Digest;
  // A registry (or proxy) that answers every manifest request with the tagged image.
  const lying: RegistryClient = Object.assign(Object.create(reg), {
    getManifest: (repo: Parameters<RegistryClient["getManifest"]>[0]) => reg.getManifest(repo, "1.0"),
  });
  await assert.rejects(
    resolveManifest(ref(`@${other}`), { client: lying, host: AMD64 }),
    (err) => isDropzoneError(err, "DIGEST_MISMATCH") && err.message.includes(pushed.digest),
  );
});

Deno.test("resolveImage(): unsupported layer media types and malformed configs are refused before any download", async () => {
  const reg = new MemoryRegistry();
  const layer = await reg.putBlob(REPOSITORY, new TextEncoder().encode("x"));
  const good = encodeJson({ architecture: "amd64", os: "linux", config: {} });
  const goodDigest = await reg.putBlob(REPOSITORY, good);
  const bad = new TextEncoder().encode("{ not json");
  const badDigest = await reg.putBlob(REPOSITORY, bad);
  const manifest = (config: { digest: Digest; size: number }, layerType: string) =>
    encodeJson({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      config: { mediaType: MEDIA_TYPES.OCI_CONFIG, ...config },
      layers: [{ mediaType: layerType, size: 1, digest: layer }],
    });
  await reg.putManifest(
    REPOSITORY,
    "helm",
    manifest(
      { digest: goodDigest, size: good.length },
      "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    ),
    MEDIA_TYPES.OCI_MANIFEST,
  );
  await reg.putManifest(
    REPOSITORY,
    "broken",
    manifest({ digest: badDigest, size: bad.length }, MEDIA_TYPES.OCI_LAYER),
    MEDIA_TYPES.OCI_MANIFEST,
  );
  await assert.rejects(
    resolveImage(ref(":helm"), { client: reg, host: AMD64 }),
    (err) => isDropzoneError(err, "UNSUPPORTED_MEDIA_TYPE") && /helm\.chart/.test(err.message),
  );
  await assert.rejects(
    resolveImage(ref(":broken"), { client: reg, host: AMD64 }),
    (err) => isDropzoneError(err, "REGISTRY_PROTOCOL") && /Image config of .* is malformed/.test(err.message),
  );
});

const pki = await createTestPki();
const loadTrust = () => Promise.resolve({ trustedRoot: pki.trustedRoot });

Deno.test("verifyResolvedImage(): signed by the policy's identity passes; unsigned decisions check nothing", async () => {
  const reg = new MemoryRegistry();
  const pushed = await pushTestImage(reg, REPOSITORY, "1.0");
  await signImageBundle(reg, REPOSITORY, pushed.digest, await pki.keyless({ identity: ID, issuer: ISSUER }));
  const image = await resolveManifest(ref(":1.0"), { client: reg, host: AMD64 });
  const decision: TrustDecision = { kind: "verify", policy: POLICY };
  const v = await verifyResolvedImage(image, { client: reg, decision, loadTrust, now: pki.clock });
  assert.equal(v.signature?.identity, ID);
  assert.equal(v.signature?.signedDigest, pushed.digest);
  let loaded = false;
  const unsigned = await verifyResolvedImage(image, {
    client: reg,
    decision: { kind: "unsigned" },
    loadTrust: () => {
      loaded = true;
      return loadTrust();
    },
    now: pki.clock,
  });
  assert.deepEqual(unsigned, { signature: null, attestations: [] });
  assert.equal(loaded, false, "no trust root is loaded for an unsigned install");
});

Deno.test("verifyResolvedImage(): no signature or another signer is a trust failure (exit 3)", async () => {
  const reg = new MemoryRegistry();
  const bare = await pushTestImage(reg, REPOSITORY, "bare", "bare");
  const other = await pushTestImage(reg, REPOSITORY, "other", "other");
  await signImageBundle(
    reg,
    REPOSITORY,
    other.digest,
    await pki.keyless({ identity: "https://evil", issuer: ISSUER }),
  );
  const decision: TrustDecision = { kind: "verify", policy: POLICY };
  for (const [tag, code] of [["bare", "SIGNATURE_MISSING"], ["other", "POLICY_MISMATCH"]] as const) {
    const image = await resolveManifest(ref(`:${tag}`), { client: reg, host: AMD64 });
    await assert.rejects(
      verifyResolvedImage(image, { client: reg, decision, loadTrust, now: pki.clock }),
      (err) => isDropzoneError(err, code) && err.exitCode === 3,
      tag,
    );
  }
  assert.ok(bare.digest);
});

Deno.test("verifyResolvedImage()/blameMirrors(): a trust failure of mirrored content names the mirror, once", async () => {
  const reg = new MemoryRegistry();
  await pushTestImage(reg, REPOSITORY, "bare");
  const mirrored: RegistryClient = Object.assign(Object.create(reg), {
    mirrorsUsed: () => ["mirror.corp:5000"],
  });
  for (
    const m of ["getManifest", "headManifest", "getBlob", "getBlobBytes", "listTags", "referrers"] as const
  ) {
    Object.defineProperty(mirrored, m, { value: reg[m].bind(reg) });
  }
  const image = await resolveManifest(ref(":bare"), { client: mirrored, host: AMD64 });
  const err = await verifyResolvedImage(image, {
    client: mirrored,
    decision: { kind: "verify", policy: POLICY },
    loadTrust,
    now: pki.clock,
  }).then(() => undefined, (e) => e);
  assert.ok(isDropzoneError(err, "SIGNATURE_MISSING"), String(err));
  assert.match(err.message, /\(content served by mirror mirror\.corp:5000\)$/);
  assert.match(err.hint ?? "", /dz remove mirror <prefix> mirror\.corp:5000/);
  assert.equal(blameMirrors(err, mirrored, image.repo), err, "an error already blamed is not wrapped again");
  const network = new DropzoneError("REGISTRY_UNREACHABLE", "down");
  assert.equal(blameMirrors(network, mirrored, image.repo), network, "only trust failures are blamed");
  const plain = new DropzoneError("SIGNATURE_MISSING", "none");
  assert.equal(blameMirrors(plain, reg, image.repo), plain, "no mirror used: unchanged");
});

/** `reg` with getManifest of cosign tags ending in `.sig`/`.att` routed through `hook` first. */
function hookedTags(
  reg: MemoryRegistry,
  hook: (suffix: "sig" | "att", signal: AbortSignal | undefined) => Promise<void>,
): RegistryClient {
  const client: RegistryClient = Object.create(reg);
  for (const m of ["headManifest", "getBlob", "getBlobBytes", "listTags", "referrers"] as const) {
    Object.defineProperty(client, m, { value: reg[m].bind(reg) });
  }
  Object.defineProperty(client, "getManifest", {
    value: async (...args: Parameters<RegistryClient["getManifest"]>) => {
      const suffix = /\.(sig|att)$/.exec(args[1])?.[1] as "sig" | "att" | undefined;
      if (suffix !== undefined) await hook(suffix, args[2]?.signal);
      return await reg.getManifest(args[0], args[1]);
    },
  });
  return client;
}

Deno.test("verifyResolvedImage(): attestations are looked up while the signature is, not after it", async () => {
  const reg = new MemoryRegistry();
  const pushed = await pushTestImage(reg, REPOSITORY, "1.0");
  await signImageBundle(reg, REPOSITORY, pushed.digest, await pki.keyless({ identity: ID, issuer: ISSUER }));
  let attAsked: () => void = () => {};
  const att = new Promise<void>((resolve) => attAsked = resolve);
  // The signature's lookup answers once the attestations' lookup has been asked for, or after 2 s.
  const sigAnswers: string[] = [];
  const client = hookedTags(reg, async (suffix) => {
    if (suffix === "att") return attAsked();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string>((resolve) => timer = setTimeout(() => resolve("alone"), 2000));
    try {
      sigAnswers.push(await Promise.race([att.then(() => "together"), late]));
    } finally {
      clearTimeout(timer);
    }
  });
  const image = await resolveManifest(ref(":1.0"), { client, host: AMD64 });
  const v = await verifyResolvedImage(image, {
    client,
    decision: { kind: "verify", policy: POLICY },
    loadTrust,
    now: pki.clock,
  });
  assert.equal(v.signature?.identity, ID);
  assert.ok(sigAnswers.length > 0);
  assert.deepEqual(
    sigAnswers.filter((a) => a !== "together"),
    [],
    "the attestations were asked for meanwhile",
  );
});

Deno.test("verifyResolvedImage(): a failed signature stops the attestation lookups it started", async () => {
  const reg = new MemoryRegistry();
  await pushTestImage(reg, REPOSITORY, "bare", "bare");
  const attSignals: (AbortSignal | undefined)[] = [];
  // A registry that never answers the .att tag: only an abort ends that request.
  const client = hookedTags(reg, (suffix, signal) => {
    if (suffix === "sig") return Promise.resolve();
    attSignals.push(signal);
    return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
  });
  const image = await resolveManifest(ref(":bare"), { client, host: AMD64 });
  await assert.rejects(
    verifyResolvedImage(image, {
      client,
      decision: { kind: "verify", policy: POLICY },
      loadTrust,
      now: pki.clock,
    }),
    (err) => isDropzoneError(err, "SIGNATURE_MISSING"),
  );
  assert.ok(attSignals.length > 0, "the lookup was started");
  assert.ok(attSignals.every((s) => s?.aborted === true), "and stopped when the signature failed");
});
