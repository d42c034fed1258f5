import assert from "node:assert/strict";
import {
  gateUnchanged,
  gateVerified,
  type InstallPlan,
  type PlanFacts,
  planInstall,
  type PlanRequest,
} from "../../src/app/install_plan.ts";
import type { Verification } from "../../src/app/image.ts";
import { DropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import { resolveReference } from "../../src/oci/reference.ts";
import type { ConfiguredRegistry } from "../../src/store/config.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import type { SignatureResult } from "../../src/verify/types.ts";
import { sampleMetadata } from "../support/store_fixtures.ts";

const ISSUER = "https://token.actions.githubusercontent.com";
const WF = "https://github.com/o/r/.github/workflows/release.yml";
const POLICY = { issuer: ISSUER, identity_regex: `${WF}@refs/.*` };
const REGISTRIES: ConfiguredRegistry[] = [
  { name: "lab", url: "127.0.0.1:5000/apps", cosign_policy: POLICY, min_release_age: "2d" },
  { name: "open", url: "127.0.0.1:6000/apps" },
  { name: "hub", url: "docker.io/chainguard", cosign_policy: POLICY },
];
const GATED: ConfiguredRegistry[] = REGISTRIES.map((r) =>
  r.name === "lab" ? { ...r, cosign_policy: { ...POLICY, require_provenance_builder: "builder" } } : r
);
const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;

function ref(input: string) {
  return resolveReference(input, { registries: REGISTRIES, defaultRegistry: "lab" });
}

function facts(
  installed: PackageMetadata | null = null,
  extra: Partial<PlanFacts["config"]> = {},
): PlanFacts {
  return {
    config: { always_allow_unsigned: false, registries: REGISTRIES, ...extra },
    installed,
  };
}

/** An installed package `cat` from `url`/`repository`, signed at `signedAt` by `identity` (null: unsigned). */
async function installed(options: {
  url?: string;
  repository?: string;
  identity?: string | null;
  signedAt?: number | null;
  allowUnsigned?: boolean;
  gitRef?: string | null | undefined;
  pinWorkflow?: string;
}): Promise<PackageMetadata> {
  const base = await sampleMetadata("cat", "1.0");
  const identity = options.identity === undefined ? `${WF}@refs/tags/v1` : options.identity;
  return {
    ...base,
    registry: { name: "lab", url: options.url ?? "127.0.0.1:5000/apps" },
    repository: options.repository ?? "apps/cat",
    digest: D("1"),
    signature: identity === null ? null : {
      ...base.signature!,
      identity,
      issuer: ISSUER,
      integrated_time: options.signedAt === undefined ? 1_000 : options.signedAt,
    },
    trusted_signer: identity === null ? null : {
      issuer: ISSUER,
      repository: "https://github.com/o/r",
      workflow: options.pinWorkflow ?? WF,
      ...(options.gitRef !== undefined ? { git_ref: options.gitRef } : {}),
    },
    allow_unsigned: options.allowUnsigned ?? false,
  };
}

function verification(identity: string | null, signedAt?: number, attestations = []): Verification {
  const signature: SignatureResult | null = identity === null ? null : {
    signedDigest: D("2"),
    source: "legacy-sig",
    identity,
    issuer: ISSUER,
    ...(signedAt !== undefined ? { integratedTime: signedAt } : {}),
  };
  return { signature, attestations };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DropzoneError) return err.code;
    throw err;
  }
  return "ok";
}

Deno.test("planInstall(): one row per rule (policy, consent, ownership, cooldown, downgrade)", async (t) => {
  const rows: {
    rule: string;
    request: PlanRequest;
    facts: PlanFacts;
    expect: string | ((plan: InstallPlan) => void);
  }[] = [
    {
      rule: "1 policy: a registry with a policy is verified against it",
      request: { origin: "install", ref: ref("lab/cat:1.0") },
      facts: facts(),
      expect: (p) => {
        assert.deepEqual(p.trust, { kind: "verify", policy: POLICY });
        assert.equal(p.consent, null);
        assert.equal(p.source, "127.0.0.1:5000/apps/cat");
      },
    },
    {
      rule: "1 policy: --allow-unsigned never bypasses a policy",
      request: { origin: "install", ref: ref("lab/cat:1.0"), allowUnsigned: true },
      facts: facts(null, { always_allow_unsigned: true }),
      expect: (p) => assert.equal(p.trust.kind, "verify"),
    },
    {
      rule: "2 consent: --allow-unsigned on the command line for a registry without a policy",
      request: { origin: "install", ref: ref("open/cat:1.0"), allowUnsigned: true },
      facts: facts(),
      expect: (p) => {
        assert.equal(p.trust.kind, "unsigned");
        assert.equal(p.consent, "command-line");
      },
    },
    {
      rule: "2 consent: without it a registry without a policy is refused",
      request: { origin: "install", ref: ref("open/cat:1.0") },
      facts: facts(),
      expect: "POLICY_MISSING",
    },
    {
      rule: "2 consent: dz pull from a registry without a policy needs --allow-unsigned too",
      request: { origin: "pull", ref: ref("open/cat:1.0") },
      facts: facts(),
      expect: "POLICY_MISSING",
    },
    {
      rule: "3 ownership: dz pull replaces nothing, but keeps the pin of the package it shadows",
      request: { origin: "pull", ref: ref("lab/cat:1.1") },
      facts: facts(await installed({})),
      expect: (p) => {
        assert.equal(p.replaces, null);
        assert.equal(p.downgrade, null);
        assert.equal(p.pinnedSigner?.workflow, WF);
        assert.equal(p.cooldown?.text, "2d", "the registry's cooldown applies to pulls");
      },
    },
    {
      rule: "2 consent: a lockfile never grants it (the request has no way to carry allow_unsigned)",
      request: {
        origin: "locked",
        ref: ref("open/cat:1.0"),
        locked: { file: "dz.lock", digest: D("2"), signer: null },
      },
      facts: facts(),
      expect: "POLICY_MISSING",
    },
    {
      rule: "2 consent: an archive never grants it",
      request: { origin: "archive", ref: ref("open/cat:1.0") },
      facts: facts(),
      expect: "POLICY_MISSING",
    },
    {
      rule: "2 consent: update keeps the consent recorded for the same source",
      request: { origin: "update", ref: ref("open/cat:1.1"), name: "cat" },
      facts: facts(
        await installed({ url: "127.0.0.1:6000/apps", identity: null, allowUnsigned: true }),
      ),
      expect: (p) => assert.equal(p.consent, "recorded"),
    },
    {
      rule: "2 consent: a recorded consent does not carry over to a plain install",
      request: { origin: "install", ref: ref("open/cat:1.1") },
      facts: facts(
        await installed({ url: "127.0.0.1:6000/apps", identity: null, allowUnsigned: true }),
      ),
      expect: "POLICY_MISSING",
    },
    {
      rule: "2 consent: always_allow_unsigned is the user's standing --allow-unsigned",
      request: { origin: "install", ref: ref("open/cat:1.0") },
      facts: facts(null, { always_allow_unsigned: true }),
      expect: (p) => assert.equal(p.consent, "always_allow_unsigned"),
    },
    {
      rule: "2 consent: export copies an unverified image only with a warning (it installs nothing)",
      request: { origin: "export", ref: ref("open/cat:1.0") },
      facts: facts(),
      expect: (p) => assert.equal(p.consent, "export"),
    },
    {
      rule: "3 ownership: install of a name installed from another source is a name conflict",
      request: { origin: "install", ref: ref("open/cat:1.0"), allowUnsigned: true },
      facts: facts(await installed({})),
      expect: "NAME_CONFLICT",
    },
    {
      rule: "3 ownership: a lockfile entry from another source is a trust failure (exit 3)",
      request: {
        origin: "locked",
        ref: ref("127.0.0.1:6000/apps/cat@" + D("2")),
        name: "cat",
        allowUnsigned: true,
        locked: { file: "dz.lock", digest: D("2"), signer: null },
      },
      facts: facts(await installed({})),
      expect: "SOURCE_MISMATCH",
    },
    {
      rule: "3 ownership: an update whose registry now points elsewhere is a trust failure",
      request: { origin: "update", ref: ref("hub/cat:1.1"), name: "cat" },
      facts: facts(await installed({})),
      expect: "SOURCE_MISMATCH",
    },
    {
      rule: "3 ownership: Docker Hub aliases are one source",
      request: { origin: "install", ref: ref("registry-1.docker.io/chainguard/cat:2") },
      facts: facts(await installed({ url: "docker.io/chainguard", repository: "chainguard/cat" })),
      expect: (p) => assert.notEqual(p.replaces, null),
    },
    {
      rule: "3 ownership: loopback spellings of one registry are one source",
      request: { origin: "update", ref: ref("localhost:5000/apps/cat:2"), name: "cat" },
      facts: facts(await installed({})),
      expect: (p) => assert.notEqual(p.replaces, null),
    },
    {
      rule: "3 ownership: another port is another source",
      request: { origin: "update", ref: ref("127.0.0.1:5001/apps/cat:2"), name: "cat" },
      facts: facts(await installed({})),
      expect: "SOURCE_MISMATCH",
    },
    {
      rule: "3 ownership: run of another source under an installed name replaces nothing and pins nothing",
      request: { origin: "run", ref: ref("hub/cat:1.1") },
      facts: facts(await installed({})),
      expect: (p) => {
        assert.equal(p.replaces, null);
        assert.equal(p.pinnedSigner, null);
      },
    },
    {
      rule:
        "5 continuity: run of the installed source keeps its pin but replaces nothing (no downgrade rule)",
      request: { origin: "run", ref: ref("lab/cat:1.1") },
      facts: facts(await installed({})),
      expect: (p) => {
        assert.equal(p.replaces, null);
        assert.equal(p.downgrade, null);
        assert.equal(p.pinnedSigner?.workflow, WF);
      },
    },
    {
      rule: "6 downgrade: replacing a version with a verified signing time records it",
      request: { origin: "install", ref: ref("lab/cat:1.1") },
      facts: facts(await installed({ signedAt: 5000 })),
      expect: (p) => assert.deepEqual(p.downgrade, { installedSignedAt: 5000, allow: false }),
    },
    {
      rule: "7 cooldown: --min-age overrides the registry's min_release_age",
      request: { origin: "install", ref: ref("lab/cat:1.1"), minAge: "3h" },
      facts: facts(null, { min_release_age: "9d" }),
      expect: (p) => assert.deepEqual(p.cooldown, { minAgeSeconds: 3 * 3600, text: "3h" }),
    },
    {
      rule: "7 cooldown: the registry's min_release_age overrides the top level",
      request: { origin: "run", ref: ref("lab/cat:1.1") },
      facts: facts(null, { min_release_age: "9d" }),
      expect: (p) => assert.deepEqual(p.cooldown, { minAgeSeconds: 2 * 86400, text: "2d" }),
    },
    {
      rule: "7 cooldown: the top level applies to a registry without its own",
      request: { origin: "install", ref: ref("open/cat:1.1"), allowUnsigned: true },
      facts: facts(null, { min_release_age: "9d" }),
      expect: (p) => assert.deepEqual(p.cooldown, { minAgeSeconds: 9 * 86400, text: "9d" }),
    },
    {
      rule: "7 cooldown: --min-age 0 turns it off",
      request: { origin: "install", ref: ref("lab/cat:1.1"), minAge: "0" },
      facts: facts(),
      expect: (p) => assert.equal(p.cooldown, null),
    },
    {
      rule: "7 cooldown: an invalid age is refused before any network access",
      request: { origin: "install", ref: ref("lab/cat:1.1"), minAge: "3x" },
      facts: facts(),
      expect: "INVALID_ARGUMENT",
    },
    {
      rule: "10 cross-check: an unsigned install checks the --cross-check locations",
      request: {
        origin: "install",
        ref: ref("open/cat:1.0"),
        allowUnsigned: true,
        crossCheck: ["b.example", "B.example", "c.example/apps"],
      },
      facts: facts(),
      expect: (p) => assert.deepEqual(p.crossCheck, ["b.example", "c.example/apps"]),
    },
    {
      rule: "10 cross-check: the registry's cross_check: applies to updates too",
      request: { origin: "update", ref: ref("open/cat:1.1"), name: "cat" },
      facts: {
        config: {
          always_allow_unsigned: false,
          registries: REGISTRIES.map((r) => r.name === "open" ? { ...r, cross_check: ["b.example"] } : r),
        },
        installed: await installed({ url: "127.0.0.1:6000/apps", identity: null, allowUnsigned: true }),
      },
      expect: (p) => assert.deepEqual(p.crossCheck, ["b.example"]),
    },
    {
      rule: "10 cross-check: refused for a registry with a policy (a signature decides there)",
      request: { origin: "install", ref: ref("lab/cat:1.0"), crossCheck: ["b.example"] },
      facts: facts(),
      expect: "INVALID_ARGUMENT",
    },
    {
      rule: "10 cross-check: never grants consent",
      request: { origin: "install", ref: ref("open/cat:1.0"), crossCheck: ["b.example"] },
      facts: facts(),
      expect: "POLICY_MISSING",
    },
    {
      rule: "10 cross-check: an archive installs offline, so nothing is cross-checked",
      request: {
        origin: "archive",
        ref: ref("open/cat:1.0"),
        allowUnsigned: true,
        crossCheck: ["b.example"],
      },
      facts: facts(),
      expect: (p) => assert.deepEqual(p.crossCheck, []),
    },
  ];
  for (const row of rows) {
    await t.step(row.rule, () => {
      if (typeof row.expect === "string") {
        assert.equal(code(() => planInstall(row.request, row.facts)), row.expect);
      } else row.expect(planInstall(row.request, row.facts));
    });
  }
});

Deno.test("planInstall(): a lockfile-source conflict shows both sources", async () => {
  const inst = await installed({});
  const err = (() => {
    try {
      planInstall({
        origin: "locked",
        ref: ref("127.0.0.1:6000/apps/cat@" + D("2")),
        name: "cat",
        locked: { file: "dz.lock", digest: D("2"), signer: null },
      }, facts(inst));
    } catch (e) {
      return e as DropzoneError;
    }
  })()!;
  assert.equal(err.exitCode, 3);
  assert.match(err.message, /127\.0\.0\.1:6000\/apps\/cat/);
  assert.match(err.message, /installed from 127\.0\.0\.1:5000\/apps\/cat/);
});

Deno.test("gateVerified(): one row per rule (lockfile, continuity, git ref, downgrade, cooldown, gates, archive)", async (t) => {
  const now = new Date(1_000_000 * 1000);
  const lockedSigner = { identity: `${WF}@refs/tags/v1`, issuer: ISSUER };
  const base = await installed({ gitRef: "tags", signedAt: 5000 });
  const BUILDER = "https://github.com/actions/runner/github-hosted";
  const proven: PackageMetadata = {
    ...base,
    signature: {
      ...base.signature!,
      proof: "provenance",
      provenance: { builder_id: BUILDER, source_repository: "https://github.com/o/r", source_commit: null },
    },
  };
  const provenanceVerification = (builderId: string): Verification => {
    const v = verification(`${WF}@refs/tags/v2`, 6000);
    return {
      ...v,
      signature: {
        ...v.signature!,
        proof: "provenance",
        provenance: { builderId, sourceRepo: "https://github.com/o/r" },
      },
    };
  };
  const plan = (request: Partial<PlanRequest> = {}, inst: PackageMetadata | null = base): InstallPlan =>
    planInstall({ origin: "install", ref: ref("lab/cat:1.1"), minAge: "0", ...request }, facts(inst));
  const rows: {
    rule: string;
    plan: InstallPlan;
    v: Verification;
    digest?: Digest;
    archive?: { entries: { digest: Digest; name?: string }[]; consulted: Set<Digest> };
    expect: string | ((r: ReturnType<typeof gateVerified>) => void);
  }[] = [
    {
      rule: "4 lockfile: a digest other than the locked one",
      plan: plan({ origin: "locked", locked: { file: "dz.lock", digest: D("9"), signer: lockedSigner } }),
      v: verification(`${WF}@refs/tags/v1`, 6000),
      expect: "DIGEST_MISMATCH",
    },
    {
      rule: "4 lockfile: the locked signer, compared by fields, passes",
      plan: plan({ origin: "locked", locked: { file: "dz.lock", digest: D("3"), signer: lockedSigner } }),
      v: verification(`${WF}@refs/tags/v1`, 6000),
      expect: "ok",
    },
    {
      rule: "4 lockfile: another identity is a signer change",
      plan: plan({ origin: "locked", locked: { file: "dz.lock", digest: D("3"), signer: lockedSigner } }),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "4 lockfile: another issuer is a signer change",
      plan: plan({
        origin: "locked",
        locked: { file: "dz.lock", digest: D("3"), signer: { ...lockedSigner, issuer: "https://other" } },
      }),
      v: verification(`${WF}@refs/tags/v1`, 6000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "4 lockfile: locked unsigned but the image is signed is a signer change",
      plan: plan({ origin: "locked", locked: { file: "dz.lock", digest: D("3"), signer: null } }),
      v: verification(`${WF}@refs/tags/v1`, 6000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "5 continuity: the same workflow from another tag passes and keeps the pin",
      plan: plan(),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      expect: (r) => assert.equal(r.trustedSigner?.git_ref, "tags"),
    },
    {
      rule: "5 continuity: another workflow is a signer change",
      plan: plan(),
      v: verification("https://github.com/o/r/.github/workflows/other.yml@refs/tags/v2", 6000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "5 continuity: --accept-new-signer records the new signer",
      plan: plan({ acceptNewSigner: true }),
      v: verification("https://github.com/o/r/.github/workflows/other.yml@refs/tags/v2", 6000),
      expect: (r) => assert.match(r.trustedSigner!.workflow, /other\.yml$/),
    },
    {
      rule: "5 continuity (git ref): tags -> heads/pr-1234 is a signer change",
      plan: plan(),
      v: verification(`${WF}@refs/heads/pr-1234`, 6000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "5 continuity (git ref): heads/main -> heads/pr-1234 is a signer change",
      plan: plan({}, await installed({ gitRef: "heads/main", signedAt: 5000 })),
      v: verification(`${WF}@refs/heads/pr-1234`, 6000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "5 continuity (git ref): a pin recorded before ref pinning is completed, not compared",
      plan: plan({}, await installed({ gitRef: undefined, signedAt: 5000 })),
      v: verification(`${WF}@refs/heads/pr-1234`, 6000),
      expect: (r) => assert.equal(r.trustedSigner?.git_ref, "heads/pr-1234"),
    },
    {
      rule: "5 continuity: signed -> unsigned is a signer change",
      plan: planInstall(
        { origin: "update", ref: ref("open/cat:1.1"), name: "cat", allowUnsigned: true },
        facts(await installed({ url: "127.0.0.1:6000/apps" })),
      ),
      v: verification(null),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "6 downgrade: a candidate signed before the installed version is refused",
      plan: plan(),
      v: verification(`${WF}@refs/tags/v2`, 4999),
      expect: "DOWNGRADE",
    },
    {
      rule: "6 downgrade: --allow-downgrade accepts it",
      plan: plan({ allowDowngrade: true }),
      v: verification(`${WF}@refs/tags/v2`, 4999),
      expect: "ok",
    },
    {
      rule: "6 rollback: going back to a version signed before the installed one is not a downgrade",
      plan: plan({ origin: "rollback", rollbackTo: D("3") }),
      v: verification(`${WF}@refs/tags/v1`, 4000),
      expect: "ok",
    },
    {
      rule: "6 rollback: a reference that now resolves to another digest is refused",
      plan: plan({ origin: "rollback", rollbackTo: D("9") }),
      v: verification(`${WF}@refs/tags/v1`, 4000),
      expect: "DIGEST_MISMATCH",
    },
    {
      rule: "5 continuity: a rollback keeps the signer pin",
      plan: plan({ origin: "rollback", rollbackTo: D("3") }),
      v: verification("https://github.com/o/r/.github/workflows/other.yml@refs/tags/v1", 4000),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "6 downgrade: the same signing time is a rebuild, not a downgrade",
      plan: plan(),
      v: verification(`${WF}@refs/tags/v2`, 5000),
      expect: "ok",
    },
    {
      rule: "6 downgrade: no verified time on the installed side is never a downgrade",
      plan: plan({}, await installed({ gitRef: "tags", signedAt: null })),
      v: verification(`${WF}@refs/tags/v2`, 10),
      expect: "ok",
    },
    {
      rule: "7 cooldown: a release younger than min_release_age is refused",
      plan: plan({ minAge: "1d" }),
      v: verification(`${WF}@refs/tags/v2`, 1_000_000 - 3600),
      expect: "RELEASE_TOO_NEW",
    },
    {
      rule: "7 cooldown: an old enough release passes",
      plan: plan({ minAge: "1d" }),
      v: verification(`${WF}@refs/tags/v2`, 1_000_000 - 2 * 86400),
      expect: "ok",
    },
    {
      rule: "8 attestation gates: a required provenance builder that is missing",
      plan: planInstall(
        {
          origin: "run",
          ref: resolveReference("lab/cat:1.1", { registries: GATED }),
          minAge: "0",
        },
        { config: { always_allow_unsigned: false, registries: GATED }, installed: null },
      ),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      expect: "ATTESTATION_POLICY",
    },
    {
      rule: "9 archive: an index.json tag pointing at an unverified manifest",
      plan: plan({ origin: "archive" }),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      archive: {
        entries: [{ digest: D("3"), name: "1.1" }, { digest: D("8"), name: "latest" }],
        consulted: new Set(),
      },
      expect: "SIGNATURE_MISSING",
    },
    {
      rule: "9 archive: the verified image and the signature artifacts verification read pass",
      plan: plan({ origin: "archive" }),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      archive: {
        entries: [{ digest: D("3"), name: "1.1" }, { digest: D("7"), name: `sha256-${"3".repeat(64)}.sig` }, {
          digest: D("6"),
        }],
        consulted: new Set([D("3"), D("7"), D("6")]),
      },
      expect: "ok",
    },
    {
      rule: "9 archive: an unnamed entry verification never read",
      plan: plan({ origin: "archive" }),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      archive: {
        entries: [{ digest: D("3"), name: "1.1" }, { digest: D("5") }],
        consulted: new Set([D("3")]),
      },
      expect: "SIGNATURE_MISSING",
    },
    {
      rule: "9 archive: a tag pointing at a signature artifact (not an image) is refused",
      plan: plan({ origin: "archive" }),
      v: verification(`${WF}@refs/tags/v2`, 6000),
      archive: { entries: [{ digest: D("7"), name: "latest" }], consulted: new Set([D("7")]) },
      expect: "SIGNATURE_MISSING",
    },
    {
      rule: "5 continuity: provenance naming another builder than the installed version's is a signer change",
      plan: plan({}, proven),
      v: provenanceVerification("https://evil.example/builder"),
      expect: "SIGNER_CHANGED",
    },
    {
      rule: "5 continuity: provenance naming the same builder and source passes",
      plan: plan({}, proven),
      v: provenanceVerification(BUILDER),
      expect: "ok",
    },
    {
      rule: "5 continuity: another builder is accepted with --accept-new-signer",
      plan: plan({ acceptNewSigner: true }, proven),
      v: provenanceVerification("https://evil.example/builder"),
      expect: "ok",
    },
    {
      rule: "1 policy: a verify plan never accepts a verification without a signature",
      plan: plan(),
      v: verification(null),
      expect: "SIGNATURE_MISSING",
    },
  ];
  for (const row of rows) {
    await t.step(row.rule, () => {
      const run = () =>
        gateVerified(row.plan, {
          digest: row.digest ?? D("3"),
          indexDigest: null,
          verification: row.v,
          ...(row.archive ? { archive: row.archive } : {}),
        }, now);
      if (typeof row.expect === "string") assert.equal(code(run), row.expect);
      else row.expect(run());
    });
  }
});

Deno.test("gateUnchanged(): an already installed locked digest still has its recorded signer checked", async () => {
  const inst = await installed({ identity: `${WF}@refs/tags/v1` });
  const locked = (signer: { identity: string; issuer: string | null } | null) =>
    planInstall(
      {
        origin: "locked",
        ref: ref("lab/cat@" + D("1")),
        locked: { file: "dz.lock", digest: D("1"), signer },
      },
      facts(inst),
    );
  assert.equal(
    code(() => gateUnchanged(locked({ identity: `${WF}@refs/tags/v1`, issuer: ISSUER }), inst)),
    "ok",
  );
  assert.equal(
    code(() => gateUnchanged(locked({ identity: `${WF}@refs/tags/v9`, issuer: ISSUER }), inst)),
    "SIGNER_CHANGED",
  );
  assert.equal(code(() => gateUnchanged(locked(null), inst)), "SIGNER_CHANGED");
});
