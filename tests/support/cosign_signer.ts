/**
 * Test signers producing what cosign writes: legacy `.sig` manifests (simple-signing layers with certificate,
 * chain, Rekor bundle and RFC 3161 annotations), legacy `.att` DSSE layers, and Sigstore v0.3 bundles attached
 * as OCI referrers (through the `sha256-<hex>` fallback index, since docker-registry 2.8 has no referrers API).
 */
import crypto from "node:crypto";
import { type Digest, digestHex, sha256Digest } from "../../src/oci/digest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { encodeJson, pushBlob, pushManifest, type PushTarget } from "./oci_push.ts";
import type { SignatureStore } from "./memory_registry.ts";
import type { TestSigner } from "./test_pki.ts";

export type { SignatureStore };

const SHA256_OID = "2.16.840.1.101.3.4.2.1";
const EMPTY_CONFIG = new TextEncoder().encode("{}");
/** predicateType of cosign v3 image signatures. */
export const SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const sha256Hex = (bytes: Uint8Array): string => crypto.createHash("sha256").update(bytes).digest("hex");
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A SignatureStore over the Distribution API, using oci_push.ts. */
export function httpStore(target: PushTarget): SignatureStore {
  return {
    putBlob: (repository, bytes) => pushBlob(target, repository, bytes),
    putManifest: (repository, reference, bytes, mediaType) =>
      pushManifest(target, repository, reference, bytes, mediaType),
    async getManifestBytes(repository, reference) {
      const headers = new Headers({ Accept: [MEDIA_TYPES.OCI_MANIFEST, MEDIA_TYPES.OCI_INDEX].join(", ") });
      if (target.auth) {
        headers.set("Authorization", "Basic " + btoa(`${target.auth.username}:${target.auth.password}`));
      }
      const res = await fetch(`${target.url}/v2/${repository}/manifests/${reference}`, { headers });
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) throw new Error(`manifest GET failed: ${res.status} ${await res.text()}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/** The cosign simple-signing payload for `digest`. */
export function simpleSigningPayload(repository: string, digest: Digest): Uint8Array {
  return utf8(JSON.stringify({
    critical: {
      identity: { "docker-reference": repository },
      image: { "docker-manifest-digest": digest },
      type: "cosign container image signature",
    },
    optional: null,
  }));
}

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const head = utf8(`DSSEv1 ${utf8(payloadType).length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/** The key material Rekor records: the certificate PEM for keyless, the public key PEM otherwise. */
function verifierPem(signer: TestSigner): string {
  return signer.certificatePem ?? signer.publicKeyPem;
}

type RekorLogEntry = {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: {
      logIndex: number;
      treeSize: number;
      checkpoint: string;
      hashes: string[];
      rootHash: string;
    };
  };
};

async function logEntry(signer: TestSigner, body: object): Promise<RekorLogEntry | undefined> {
  if (!signer.tlog) return undefined;
  const entries = await signer.tlog.log(body) as unknown as Record<string, RekorLogEntry>;
  return Object.values(entries)[0];
}

async function timestamp(signer: TestSigner, signature: Uint8Array): Promise<Uint8Array | undefined> {
  if (!signer.tsa) return undefined;
  const resp = await signer.tsa.timestamp({
    artifactHash: crypto.createHash("sha256").update(signature).digest(),
    hashAlgorithmOID: SHA256_OID,
    nonce: crypto.randomInt(1_000_000),
    policyOID: "1.3.6.1.4.1.57264.2",
    certReq: true,
  });
  return new Uint8Array(resp.buffer, resp.byteOffset, resp.byteLength);
}

function legacyRekorAnnotation(entry: RekorLogEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
    Payload: {
      body: entry.body,
      integratedTime: entry.integratedTime,
      logIndex: entry.logIndex,
      logID: entry.logID,
    },
  });
}

function certAnnotations(signer: TestSigner): Record<string, string> {
  if (!signer.certificatePem) return {};
  return {
    "dev.sigstore.cosign/certificate": signer.certificatePem,
    ...(signer.chainPem ? { "dev.sigstore.cosign/chain": signer.chainPem } : {}),
  };
}

/** A legacy signature or attestation layer: blob bytes plus annotations. */
export interface LegacyLayer {
  readonly mediaType: string;
  readonly blob: Uint8Array;
  readonly annotations: Record<string, string>;
}

/** Options for {@linkcode legacySignatureLayer}. */
export interface LegacySignOptions {
  /** Sign this payload instead of the simple-signing payload for the digest. */
  payload?: Uint8Array;
  /** After signing, replace the stored payload (a tampered layer). */
  tamperPayload?: boolean;
  /** Drop the Rekor bundle annotation even though the entry was logged. */
  dropRekorBundle?: boolean;
  /** Rekor entry kind: "hashedrekord" (cosign ≥ 1.4, default) or "rekord" (cosign ≤ 1.3). */
  rekorKind?: "hashedrekord" | "rekord";
}

/** Builds a cosign `.sig` layer for `digest`. */
export async function legacySignatureLayer(
  repository: string,
  digest: Digest,
  signer: TestSigner,
  options: LegacySignOptions = {},
): Promise<LegacyLayer> {
  let payload = options.payload ?? simpleSigningPayload(repository, digest);
  const signature = new Uint8Array(crypto.sign("sha256", payload, signer.privateKey));
  const annotations: Record<string, string> = {
    "dev.cosignproject.cosign/signature": b64(signature),
    ...certAnnotations(signer),
  };
  const entry = await logEntry(signer, {
    apiVersion: "0.0.1",
    kind: options.rekorKind ?? "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: sha256Hex(payload) } },
      signature: {
        content: b64(signature),
        ...(options.rekorKind === "rekord" ? { format: "x509" } : {}),
        publicKey: { content: b64(utf8(verifierPem(signer))) },
      },
    },
  });
  if (entry && !options.dropRekorBundle) {
    annotations["dev.sigstore.cosign/bundle"] = legacyRekorAnnotation(entry);
  }
  const ts = await timestamp(signer, signature);
  if (ts) {
    annotations["dev.sigstore.cosign/rfc3161timestamp"] = JSON.stringify({ SignedRFC3161Timestamp: b64(ts) });
  }
  if (options.tamperPayload) {
    payload = utf8(new TextDecoder().decode(payload).replace('"optional":null', '"optional":{"evil":"yes"}'));
  }
  return { mediaType: MEDIA_TYPES.COSIGN_SIMPLE_SIGNING, blob: payload, annotations };
}

/** An in-toto statement about `digest`. */
export function inTotoStatement(
  repository: string,
  digest: Digest,
  predicateType: string,
  predicate: unknown,
  statementType = "https://in-toto.io/Statement/v1",
): Uint8Array {
  return utf8(JSON.stringify({
    _type: statementType,
    subject: [{ name: repository, digest: { sha256: digestHex(digest) } }],
    predicateType,
    predicate,
  }));
}

interface SignedDsse {
  envelope: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
  envelopeBytes: Uint8Array;
  signature: Uint8Array;
  entry?: RekorLogEntry;
  timestamp?: Uint8Array;
}

async function signDsse(
  statement: Uint8Array,
  signer: TestSigner,
  rekorKind: "dsse" | "intoto" = "dsse",
): Promise<SignedDsse> {
  const payloadType = MEDIA_TYPES.IN_TOTO;
  const signature = new Uint8Array(crypto.sign("sha256", pae(payloadType, statement), signer.privateKey));
  const envelope = { payloadType, payload: b64(statement), signatures: [{ keyid: "", sig: b64(signature) }] };
  const envelopeBytes = utf8(JSON.stringify(envelope));
  const entry = await logEntry(
    signer,
    rekorKind === "intoto"
      ? {
        // cosign attest before v2.2.0.
        apiVersion: "0.0.1",
        kind: "intoto",
        spec: {
          content: {
            hash: { algorithm: "sha256", value: sha256Hex(envelopeBytes) },
            payloadHash: { algorithm: "sha256", value: sha256Hex(statement) },
          },
          publicKey: b64(utf8(verifierPem(signer))),
        },
      }
      : {
        apiVersion: "0.0.1",
        kind: "dsse",
        spec: {
          envelopeHash: { algorithm: "sha256", value: sha256Hex(envelopeBytes) },
          payloadHash: { algorithm: "sha256", value: sha256Hex(statement) },
          signatures: [{ signature: b64(signature), verifier: b64(utf8(verifierPem(signer))) }],
        },
      },
  );
  const ts = await timestamp(signer, signature);
  return {
    envelope,
    envelopeBytes,
    signature,
    ...(entry ? { entry } : {}),
    ...(ts ? { timestamp: ts } : {}),
  };
}

/** Builds a cosign `.att` layer (DSSE envelope) for a statement. */
export async function legacyAttestationLayer(
  statement: Uint8Array,
  predicateType: string,
  signer: TestSigner,
  rekorKind: "dsse" | "intoto" = "dsse",
): Promise<LegacyLayer> {
  const dsse = await signDsse(statement, signer, rekorKind);
  const annotations: Record<string, string> = {
    predicateType,
    "dev.cosignproject.cosign/signature": "",
    ...certAnnotations(signer),
  };
  if (dsse.entry) annotations["dev.sigstore.cosign/bundle"] = legacyRekorAnnotation(dsse.entry);
  if (dsse.timestamp) {
    annotations["dev.sigstore.cosign/rfc3161timestamp"] = JSON.stringify({
      SignedRFC3161Timestamp: b64(dsse.timestamp),
    });
  }
  return { mediaType: MEDIA_TYPES.DSSE_ENVELOPE, blob: dsse.envelopeBytes, annotations };
}

/** Builds a Sigstore v0.3 bundle (DSSE over `statement`) as JSON. */
export async function dsseBundle(
  statement: Uint8Array,
  signer: TestSigner,
): Promise<Record<string, unknown>> {
  const dsse = await signDsse(statement, signer);
  const vm: Record<string, unknown> = {
    tlogEntries: [],
    timestampVerificationData: {
      rfc3161Timestamps: dsse.timestamp ? [{ signedTimestamp: b64(dsse.timestamp) }] : [],
    },
  };
  if (signer.certificatePem) {
    const der = Buffer.from(signer.certificatePem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
    vm.certificate = { rawBytes: der.toString("base64") };
  } else {
    vm.publicKey = { hint: "" };
  }
  if (dsse.entry) {
    const e = dsse.entry;
    const proof = e.verification.inclusionProof;
    vm.tlogEntries = [{
      logIndex: String(e.logIndex),
      logId: { keyId: Buffer.from(e.logID, "hex").toString("base64") },
      kindVersion: { kind: "dsse", version: "0.0.1" },
      integratedTime: String(e.integratedTime),
      inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
      inclusionProof: {
        logIndex: String(proof.logIndex),
        rootHash: Buffer.from(proof.rootHash, "hex").toString("base64"),
        treeSize: String(proof.treeSize),
        hashes: proof.hashes,
        checkpoint: { envelope: proof.checkpoint },
      },
      canonicalizedBody: e.body,
    }];
  }
  return {
    mediaType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    verificationMaterial: vm,
    dsseEnvelope: dsse.envelope,
  };
}

/** Builds a Sigstore v0.1 bundle (SET, no proof) with a message signature over `artifact` (hashedrekord/0.0.1). */
export async function messageSignatureBundle(
  artifact: Uint8Array,
  signer: TestSigner,
): Promise<Record<string, unknown>> {
  const layer = await legacySignatureLayer("blob", "sha256:" as Digest, signer, { payload: artifact });
  const signature = layer.annotations["dev.cosignproject.cosign/signature"]!;
  const vm: Record<string, unknown> = { tlogEntries: [] };
  if (signer.certificatePem) {
    const der = Buffer.from(signer.certificatePem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
    vm.x509CertificateChain = { certificates: [{ rawBytes: der.toString("base64") }] };
  } else {
    vm.publicKey = { hint: "" };
  }
  const rekor = layer.annotations["dev.sigstore.cosign/bundle"];
  if (rekor) {
    const rb = JSON.parse(rekor);
    vm.tlogEntries = [{
      logIndex: String(rb.Payload.logIndex),
      logId: { keyId: Buffer.from(rb.Payload.logID, "hex").toString("base64") },
      kindVersion: { kind: "hashedrekord", version: "0.0.1" },
      integratedTime: String(rb.Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: rb.SignedEntryTimestamp },
      canonicalizedBody: rb.Payload.body,
    }];
  }
  return {
    mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
    verificationMaterial: vm,
    messageSignature: {
      messageDigest: {
        algorithm: "SHA2_256",
        digest: crypto.createHash("sha256").update(artifact).digest("base64"),
      },
      signature,
    },
  };
}

async function pushLegacyLayer(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  suffix: "sig" | "att",
  layer: LegacyLayer,
): Promise<Digest> {
  const tag = `sha256-${digestHex(digest)}.${suffix}`;
  const layers: Record<string, unknown>[] = [];
  const existing = await store.getManifestBytes(repository, tag);
  if (existing) {
    const doc = JSON.parse(new TextDecoder().decode(existing));
    if (Array.isArray(doc.layers)) layers.push(...doc.layers);
  }
  const blobDigest = await store.putBlob(repository, layer.blob);
  layers.push({
    mediaType: layer.mediaType,
    size: layer.blob.length,
    digest: blobDigest,
    annotations: layer.annotations,
  });
  const config = encodeJson({
    architecture: "",
    os: "",
    config: {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
  });
  const configDigest = await store.putBlob(repository, config);
  const manifest = encodeJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPES.OCI_CONFIG, size: config.length, digest: configDigest },
    layers,
  });
  return await store.putManifest(repository, tag, manifest, MEDIA_TYPES.OCI_MANIFEST);
}

/** Signs `digest` the cosign legacy way and appends the layer to its `.sig` manifest. */
export async function signImageLegacy(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  signer: TestSigner,
  options: LegacySignOptions = {},
): Promise<Digest> {
  const layer = await legacySignatureLayer(repository, digest, signer, options);
  return await pushLegacyLayer(store, repository, digest, "sig", layer);
}

/** Appends an arbitrary layer to the `.sig` or `.att` manifest (for malformed-signature tests). */
export function appendLegacyLayer(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  suffix: "sig" | "att",
  layer: LegacyLayer,
): Promise<Digest> {
  return pushLegacyLayer(store, repository, digest, suffix, layer);
}

/** Attests `digest` the cosign legacy way (`.att` tag). */
export async function attestImageLegacy(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  signer: TestSigner,
  attestation: {
    predicateType: string;
    predicate: unknown;
    subjectDigest?: Digest;
    /** Rekor entry kind: "dsse" (default) or "intoto" (cosign before v2.2.0). */
    rekorKind?: "dsse" | "intoto";
  },
): Promise<Digest> {
  const statement = inTotoStatement(
    repository,
    attestation.subjectDigest ?? digest,
    attestation.predicateType,
    attestation.predicate,
    "https://in-toto.io/Statement/v0.1",
  );
  const layer = await legacyAttestationLayer(
    statement,
    attestation.predicateType,
    signer,
    attestation.rekorKind,
  );
  return await pushLegacyLayer(store, repository, digest, "att", layer);
}

/**
 * Attaches a bundle to `digest` as a referrer manifest and records it in the `sha256-<hex>` fallback index
 * (updating the index when one exists). Returns the referrer manifest digest.
 */
export async function attachBundleReferrer(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  bundle: Record<string, unknown>,
  predicateType: string,
): Promise<Digest> {
  const subjectBytes = await store.getManifestBytes(repository, digest);
  if (!subjectBytes) throw new Error(`subject ${digest} not found in ${repository}`);
  const subjectMediaType = JSON.parse(new TextDecoder().decode(subjectBytes)).mediaType ??
    MEDIA_TYPES.OCI_MANIFEST;
  const bundleBytes = encodeJson(bundle);
  const bundleDigest = await store.putBlob(repository, bundleBytes);
  const configDigest = await store.putBlob(repository, EMPTY_CONFIG);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    config: { mediaType: MEDIA_TYPES.OCI_EMPTY, digest: configDigest, size: EMPTY_CONFIG.length },
    layers: [{ mediaType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03, digest: bundleDigest, size: bundleBytes.length }],
    subject: { mediaType: subjectMediaType, digest, size: subjectBytes.length },
    annotations: {
      "dev.sigstore.bundle.content": "dsse-envelope",
      "dev.sigstore.bundle.predicateType": predicateType,
    },
  };
  const manifestBytes = encodeJson(manifest);
  const referrerDigest = await sha256Digest(manifestBytes);
  await store.putManifest(repository, referrerDigest, manifestBytes, MEDIA_TYPES.OCI_MANIFEST);
  const tag = `sha256-${digestHex(digest)}`;
  const manifests: Record<string, unknown>[] = [];
  const existing = await store.getManifestBytes(repository, tag);
  if (existing) {
    const doc = JSON.parse(new TextDecoder().decode(existing));
    if (doc.mediaType === MEDIA_TYPES.OCI_INDEX && Array.isArray(doc.manifests)) {
      manifests.push(...doc.manifests);
    }
  }
  manifests.push({
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    digest: referrerDigest,
    size: manifestBytes.length,
    artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
    annotations: manifest.annotations,
  });
  const index = encodeJson({ schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_INDEX, manifests });
  await store.putManifest(repository, tag, index, MEDIA_TYPES.OCI_INDEX);
  return referrerDigest;
}

/** Signs `digest` the cosign v3 way: a sign/v1 statement in a DSSE bundle attached as a referrer. */
export async function signImageBundle(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  signer: TestSigner,
): Promise<Digest> {
  const bundle = await dsseBundle(inTotoStatement(repository, digest, SIGN_PREDICATE, {}), signer);
  return await attachBundleReferrer(store, repository, digest, bundle, SIGN_PREDICATE);
}

/** Attests `digest` with a bundle referrer carrying any predicate. */
export async function attestImageBundle(
  store: SignatureStore,
  repository: string,
  digest: Digest,
  signer: TestSigner,
  attestation: { predicateType: string; predicate: unknown },
): Promise<Digest> {
  const bundle = await dsseBundle(
    inTotoStatement(repository, digest, attestation.predicateType, attestation.predicate),
    signer,
  );
  return await attachBundleReferrer(store, repository, digest, bundle, attestation.predicateType);
}

/** Pushes a small single-layer image and returns its manifest digest and bytes. */
export async function pushTestImage(
  store: SignatureStore,
  repository: string,
  tag: string,
  content = "hello",
): Promise<{ digest: Digest; bytes: Uint8Array }> {
  const layer = utf8(content);
  const layerDigest = await store.putBlob(repository, layer);
  const config = encodeJson({
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: [layerDigest] },
  });
  const configDigest = await store.putBlob(repository, config);
  const bytes = encodeJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPES.OCI_CONFIG, size: config.length, digest: configDigest },
    layers: [{ mediaType: MEDIA_TYPES.OCI_LAYER, size: layer.length, digest: layerDigest }],
  });
  const digest = await store.putManifest(repository, tag, bytes, MEDIA_TYPES.OCI_MANIFEST);
  return { digest, bytes };
}

/** Pushes an index over the given platform manifests. */
export async function pushTestIndex(
  store: SignatureStore,
  repository: string,
  tag: string,
  platforms: { digest: Digest; size: number; architecture: string }[],
): Promise<{ digest: Digest; bytes: Uint8Array }> {
  const bytes = encodeJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_INDEX,
    manifests: platforms.map((p) => ({
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      digest: p.digest,
      size: p.size,
      platform: { os: "linux", architecture: p.architecture },
    })),
  });
  const digest = await store.putManifest(repository, tag, bytes, MEDIA_TYPES.OCI_INDEX);
  return { digest, bytes };
}
