/** Tests for src/app/update_preview.ts: verifying an update's target before pulling it (downgrade, errors). */
import assert from "node:assert/strict";
import type { UpdateCheck } from "../../src/app/update.ts";
import { type PreviewDeps, previewUpdate } from "../../src/app/update_preview.ts";
import type { Digest } from "../../src/oci/digest.ts";
import type { RegistryEntry } from "../../src/oci/reference.ts";
import type { RegistryClient } from "../../src/registry/types.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import type { CosignPolicy } from "../../src/verify/types.ts";
import { pushTestImage, signImageBundle } from "../support/cosign_signer.ts";
import { MemoryRegistry } from "../support/memory_registry.ts";
import { sampleMetadata } from "../support/store_fixtures.ts";
import { createTestPki } from "../support/test_pki.ts";
import { ACME_ID as ID, ACME_POLICY as POLICY, GITHUB_ISSUER as ISSUER } from "../support/verify_fixtures.ts";

const REGISTRIES: RegistryEntry<CosignPolicy>[] = [{
  name: "lab",
  url: "registry.test/acme",
  cosign_policy: POLICY,
}];
const pki = await createTestPki();
const signedAt = Math.floor(pki.clock.getTime() / 1000);

function deps(client: RegistryClient, over: Partial<PreviewDeps> = {}): PreviewDeps {
  return {
    client,
    registries: REGISTRIES,
    host: { os: "linux", arch: "amd64" },
    config: { always_allow_unsigned: false, registries: REGISTRIES },
    loadTrust: () => Promise.resolve({ trustedRoot: pki.trustedRoot }),
    now: pki.clock,
    ...over,
  };
}

async function installed(
  over: Partial<PackageMetadata> = {},
  installedSignedAt: number | null = signedAt - 3600,
) {
  const base = await sampleMetadata("tool", "1.0", { registry: { name: "lab", url: "registry.test/acme" } });
  return {
    ...base,
    repository: "acme/tool",
    signature: base.signature &&
      { ...base.signature, identity: ID, issuer: ISSUER, integrated_time: installedSignedAt },
    ...over,
  } as PackageMetadata;
}

function checkFor(meta: PackageMetadata, target: string | null): UpdateCheck {
  return {
    name: meta.name,
    tag: meta.tag,
    installed_digest: meta.digest,
    installed_index_digest: meta.index_digest,
    current_digest: null,
    rebuild: false,
    newer_tags: target ? [target] : [],
    target_tag: target,
    downgrade: null,
    error: null,
  };
}

async function registryWith(tags: { tag: string; signed: boolean; content?: string }[]) {
  const reg = new MemoryRegistry();
  const digests: Record<string, Digest> = {};
  for (const t of tags) {
    const { digest } = await pushTestImage(reg, "acme/tool", t.tag, t.content ?? t.tag);
    if (t.signed) {
      await signImageBundle(reg, "acme/tool", digest, await pki.keyless({ identity: ID, issuer: ISSUER }));
    }
    digests[t.tag] = digest;
  }
  return { reg, digests };
}

Deno.test("previewUpdate(): nothing to apply asks the registry nothing", async () => {
  const reg = new MemoryRegistry();
  let calls = 0;
  const counting: RegistryClient = Object.assign(Object.create(reg), {
    getManifest: () => {
      calls++;
      throw new Error("unexpected");
    },
  });
  const meta = await installed();
  assert.deepEqual(await previewUpdate(meta, checkFor(meta, null), deps(counting)), {
    changelog: null,
    downgrade: null,
    error: null,
  });
  assert.equal(calls, 0);
});

Deno.test("previewUpdate(): a verified target signed after the installed version is no downgrade", async () => {
  const { reg } = await registryWith([{ tag: "1.1", signed: true }]);
  const meta = await installed();
  const p = await previewUpdate(meta, checkFor(meta, "1.1"), deps(reg));
  assert.equal(p.error, null);
  assert.equal(p.downgrade, false);
  assert.ok(p.changelog !== null, "a changelog (possibly of unknowns) is computed from the verified target");
  assert.equal(p.changelog.packages, null, "no SBOM on the target: packages unknown");
});

Deno.test("previewUpdate(): downgrade is true when signed before the installed version, null when unknowable", async () => {
  const { reg, digests } = await registryWith([{ tag: "1.1", signed: true }]);
  const later = await installed({}, signedAt + 86_400);
  assert.equal((await previewUpdate(later, checkFor(later, "1.1"), deps(reg))).downgrade, true);
  const unsignedInstall = await installed({ signature: null, allow_unsigned: true });
  assert.equal(
    (await previewUpdate(unsignedInstall, checkFor(unsignedInstall, "1.1"), deps(reg))).downgrade,
    null,
  );
  const same = await installed({ digest: digests["1.1"]! }, signedAt + 86_400);
  assert.equal(
    (await previewUpdate(same, checkFor(same, "1.1"), deps(reg))).downgrade,
    false,
    "the installed digest itself is never a downgrade",
  );
});

Deno.test("previewUpdate(): trust and registry failures become `error`, never a throw; an abort throws", async () => {
  const { reg } = await registryWith([{ tag: "1.1", signed: false }]);
  const meta = await installed();
  const unsigned = await previewUpdate(meta, checkFor(meta, "1.1"), deps(reg));
  assert.equal(unsigned.downgrade, null);
  assert.equal(unsigned.changelog, null);
  assert.match(unsigned.error ?? "", /signature/i);
  const missing = await previewUpdate(meta, checkFor(meta, "9.9"), deps(reg));
  assert.match(missing.error ?? "", /9\.9/);
  const gone = await previewUpdate(meta, checkFor(meta, "1.1"), deps(reg, { registries: [] }));
  assert.match(gone.error ?? "", /registry "lab" is no longer configured/);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(previewUpdate(meta, checkFor(meta, "1.1"), deps(reg, { signal: controller.signal })));
});
