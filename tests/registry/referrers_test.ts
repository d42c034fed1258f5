import assert from "node:assert/strict";
import type { ErrorCode } from "../../src/errors.ts";
import { type Digest, digestHex, sha256Digest } from "../../src/oci/digest.ts";
import { type Descriptor, parseManifest } from "../../src/oci/manifest.ts";
import { MEDIA_TYPES } from "../../src/oci/media_types.ts";
import { fetchReferrerManifest, referrers } from "../../src/registry/referrers.ts";
import type { FetchedManifest, RegistryClient } from "../../src/registry/types.ts";
import { jsonResponse, scriptedContext } from "../support/scripted_transport.ts";
import { rejectsCode } from "../support/registry_client.ts";

const REPO = { registry: "registry.test", repository: "team/app" };
const SUBJECT = `sha256:${"1".repeat(64)}` as Digest;
const SIG: Descriptor = {
  mediaType: MEDIA_TYPES.OCI_MANIFEST,
  digest: `sha256:${"2".repeat(64)}`,
  size: 10,
  artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03,
};
const SBOM: Descriptor = {
  mediaType: MEDIA_TYPES.OCI_MANIFEST,
  digest: `sha256:${"3".repeat(64)}`,
  size: 10,
  artifactType: "application/spdx+json",
};
const INDEX = { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_INDEX, manifests: [SIG, SBOM] };
const FALLBACK_PATH = `/v2/team/app/manifests/sha256-${digestHex(SUBJECT)}`;

const indexResponse = (doc: unknown = INDEX) =>
  jsonResponse(doc, { headers: { "content-type": `${MEDIA_TYPES.OCI_INDEX}; charset=utf-8` } });

Deno.test("referrers() reads the referrers API and filters by artifactType locally too", async () => {
  const ctx = scriptedContext(() => indexResponse());
  assert.deepEqual((await referrers(ctx, REPO, SUBJECT)).map((d) => d.digest), [SIG.digest, SBOM.digest]);
  assert.equal(ctx.http.requests[0]!.path, `/v2/team/app/referrers/${SUBJECT}`);
  assert.equal(ctx.http.requests[0]!.headers?.Accept, MEDIA_TYPES.OCI_INDEX);
  // A registry that ignores the artifactType filter still only yields matching entries.
  const sigs = await referrers(ctx, REPO, SUBJECT, { artifactType: MEDIA_TYPES.SIGSTORE_BUNDLE_V03 });
  assert.deepEqual(sigs.map((d) => d.digest), [SIG.digest]);
  assert.equal(
    ctx.http.requests[1]!.path,
    `/v2/team/app/referrers/${SUBJECT}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson`,
  );
});

Deno.test("referrers() falls back to the sha256-<hex> tag when the API is missing or answers oddly", async (t) => {
  const cases: [string, Response | (() => Response)][] = [
    ["404", () => new Response("", { status: 404 })],
    ["200 with a non-index content type", () => jsonResponse(INDEX)],
    ["500", () => new Response("", { status: 500 })],
  ];
  for (const [name, apiAnswer] of cases) {
    await t.step(name, async () => {
      const ctx = scriptedContext((req) =>
        req.path.includes("/referrers/") ? (apiAnswer as () => Response)() : indexResponse()
      );
      const list = await referrers(ctx, REPO, SUBJECT, { artifactType: "application/spdx+json" });
      assert.deepEqual(list.map((d) => d.digest), [SBOM.digest]);
      assert.equal(ctx.http.requests[1]!.path, FALLBACK_PATH);
    });
  }
});

Deno.test("referrers() yields nothing when the fallback tag is missing or is not an index", async () => {
  const missing = scriptedContext(() => new Response("", { status: 404 }));
  assert.deepEqual(await referrers(missing, REPO, SUBJECT), []);
  const image = scriptedContext((req) =>
    req.path.includes("/referrers/")
      ? new Response("", { status: 404 })
      : jsonResponse({ schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_MANIFEST, config: SIG, layers: [] }, {
        headers: { "content-type": MEDIA_TYPES.OCI_MANIFEST },
      })
  );
  assert.deepEqual(
    await referrers(image, REPO, SUBJECT),
    [],
    "GHCR serves the image itself at the fallback tag",
  );
});

Deno.test("referrers() reports auth and rate-limit answers instead of falling back", async (t) => {
  const cases: [number, ErrorCode][] = [[401, "REGISTRY_AUTH"], [403, "REGISTRY_AUTH"], [
    429,
    "RATE_LIMITED",
  ]];
  for (const [status, code] of cases) {
    await t.step(String(status), async () => {
      const ctx = scriptedContext(() => new Response("", { status }));
      await rejectsCode(referrers(ctx, REPO, SUBJECT), code, /list referrers of sha256:/);
      assert.equal(ctx.http.requests.length, 1);
    });
  }
  await t.step("a fallback that fails for another reason than 404 is reported", async () => {
    const ctx = scriptedContext((req) =>
      req.path.includes("/referrers/") ? new Response("", { status: 404 }) : new Response("", { status: 502 })
    );
    await rejectsCode(referrers(ctx, REPO, SUBJECT), "REGISTRY_HTTP", /502/);
  });
});

Deno.test("referrers() refuses a malformed referrers list from the API", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "{", /not valid JSON/],
    [
      "entry without digest",
      { ...INDEX, manifests: [{ mediaType: "x", size: 1 }] },
      /manifests\[0\]\.digest/,
    ],
    ["manifests not a list", { ...INDEX, manifests: {} }, /manifests must be an array/],
  ];
  for (const [name, doc, pattern] of cases) {
    await t.step(name, async () => {
      const err = await rejectsCode(
        referrers(scriptedContext(() => indexResponse(doc)), REPO, SUBJECT),
        "REGISTRY_PROTOCOL",
        pattern,
      );
      assert.match(err.message, /^Cannot read referrers of sha256:1{64} from registry "registry\.test": /);
    });
  }
  await t.step("over the manifest size cap", async () => {
    const ctx = scriptedContext(() => indexResponse(), { maxManifestBytes: 50 });
    await rejectsCode(referrers(ctx, REPO, SUBJECT), "REGISTRY_PROTOCOL", /larger than 50 bytes/);
  });
});

Deno.test("fetchReferrerManifest() returns a referrer only when its subject is the digest", async (t) => {
  const withSubject = async (subject: Digest | undefined): Promise<FetchedManifest> => {
    const bytes = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      config: SIG,
      layers: [],
      ...(subject ? { subject: { mediaType: MEDIA_TYPES.OCI_MANIFEST, digest: subject, size: 1 } } : {}),
    }));
    const manifest = parseManifest(bytes);
    return { digest: await sha256Digest(bytes), mediaType: manifest.mediaType, bytes, manifest };
  };
  const client = (fetched: FetchedManifest) =>
    ({ getManifest: () => Promise.resolve(fetched) }) as unknown as RegistryClient;
  await t.step("matching subject", async () => {
    const fetched = await withSubject(SUBJECT);
    assert.equal(await fetchReferrerManifest(client(fetched), REPO, SIG, SUBJECT), fetched);
  });
  for (
    const [name, subject] of [["another subject", `sha256:${"9".repeat(64)}` as Digest], [
      "no subject",
      undefined,
    ]] as const
  ) {
    await t.step(name, async () => {
      const err = await rejectsCode(
        fetchReferrerManifest(client(await withSubject(subject)), REPO, SIG, SUBJECT),
        "REGISTRY_PROTOCOL",
        new RegExp(`Referrer ${SIG.digest} on registry "registry\\.test" does not refer to ${SUBJECT}`),
      );
      assert.match(err.hint ?? "", /ignored/);
    });
  }
});
