import assert from "node:assert/strict";
import { type E2E, IDENTITY, ISSUER, labRegistryArgs, startE2E } from "../support/e2e.ts";
import {
  attachBundleReferrer,
  attestImageBundle,
  dsseBundle,
  httpStore,
  inTotoStatement,
} from "../support/cosign_signer.ts";
import type { Digest } from "../../src/oci/digest.ts";
import type { TestSigner } from "../support/test_pki.ts";

const SLSA_V1 = "https://slsa.dev/provenance/v1";
const BUILDER = "https://github.com/actions/runner/github-hosted";
const SOURCE = "https://github.com/dz-test/tools";

/** The SLSA v1 predicate GitHub's actions/attest-build-provenance writes (trimmed). */
function githubPredicate(builder = BUILDER, commit = "0123456789abcdef0123456789abcdef01234567") {
  return {
    buildDefinition: {
      buildType: "https://actions.github.io/buildtypes/workflow/v1",
      externalParameters: {
        workflow: { ref: "refs/heads/main", repository: SOURCE, path: ".github/workflows/release.yml" },
      },
      resolvedDependencies: [{ uri: `git+${SOURCE}@refs/heads/main`, digest: { gitCommit: commit } }],
    },
    runDetails: {
      builder: { id: builder },
      metadata: { invocationId: `${SOURCE}/actions/runs/1/attempts/1` },
    },
  };
}

/** Re-adds the "lab" registry with `--accept <accept>` (no packages are installed yet). */
async function acceptOn(env: E2E, accept: string): Promise<void> {
  assert.equal((await env.dz(["remove", "registry", "lab"])).code, 0);
  const added = await env.dz([...labRegistryArgs(env), "--accept", accept]);
  assert.equal(added.code, 0, added.stderr);
}

/** Publishes an unsigned image and attaches SLSA v1 provenance for its platform digest as a bundle referrer. */
async function publishAttested(
  env: E2E,
  repo: string,
  tag: string,
  content: string,
  options: { signer?: TestSigner; subject?: Digest; predicateType?: string; builder?: string } = {},
) {
  const pub = await env.publish(repo, tag, content, { sign: "none" });
  const signer = options.signer ?? await env.signer();
  const store = httpStore(env.registry);
  const predicateType = options.predicateType ?? SLSA_V1;
  if (options.subject) {
    const bundle = await dsseBundle(
      inTotoStatement(`apps/${repo}`, options.subject, predicateType, githubPredicate()),
      signer,
    );
    await attachBundleReferrer(store, `apps/${repo}`, pub.digest, bundle, predicateType);
  } else {
    await attestImageBundle(store, `apps/${repo}`, pub.digest, signer, {
      predicateType,
      predicate: githubPredicate(options.builder),
    });
  }
  return pub;
}

Deno.test("an attestation-only image installs when the policy accepts provenance; info and verify say so", async () => {
  await using env = await startE2E();
  await acceptOn(env, "provenance");
  const pub = await publishAttested(env, "attested", "1.0", "proven by provenance\n");
  const r = await env.dz(["install", "lab/attested:1.0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Verified SLSA provenance: https:\/\/github\.com\/dz-test/);
  assert.match(r.stderr, new RegExp(`builder ${BUILDER}, source ${SOURCE}`));

  const info = JSON.parse((await env.dz(["info", "attested", "--json"])).stdout);
  assert.equal(info.proof, "provenance");
  assert.equal(info.signature.proof, "provenance");
  assert.equal(info.signature.identity, IDENTITY);
  assert.equal(info.signature.issuer, ISSUER);
  assert.equal(info.signature.signed_digest, pub.digest);
  assert.deepEqual(info.signature.provenance, {
    builder_id: BUILDER,
    source_repository: SOURCE,
    source_commit: "0123456789abcdef0123456789abcdef01234567",
  });
  const text = await env.dz(["info", "attested"]);
  assert.match(text.stdout, /Proof: +SLSA provenance/);
  assert.match(text.stdout, new RegExp(`Builder: +${BUILDER}`));

  const verify = await env.dz(["verify", "lab/attested:1.0", "--json"]);
  assert.equal(verify.code, 0, verify.stderr);
  const report = JSON.parse(verify.stdout);
  assert.equal(report.proof, "provenance");
  assert.equal(report.signature.provenance.builder_id, BUILDER);
  const installed = JSON.parse((await env.dz(["verify", "attested", "--json"])).stdout);
  assert.equal(installed.proof, "provenance");
  const registries = JSON.parse((await env.dz(["list", "registries", "--json"])).stdout);
  assert.deepEqual(registries.find((x: { name: string }) => x.name === "lab").cosign_policy.accept, [
    "provenance",
  ]);
});

Deno.test("provenance is no proof unless the policy accepts it; signature,provenance accepts either", async () => {
  await using env = await startE2E();
  await publishAttested(env, "attested", "1.0", "attested\n");
  await env.publish("signed", "1.0", "signed\n");
  const refused = await env.dz(["install", "lab/attested:1.0"]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /No signature found/);

  await acceptOn(env, "signature,provenance");
  const a = await env.dz(["install", "lab/attested:1.0"]);
  assert.equal(a.code, 0, a.stderr);
  const s = await env.dz(["install", "lab/signed:1.0"]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(JSON.parse((await env.dz(["info", "attested", "--json"])).stdout).proof, "provenance");
  assert.equal(JSON.parse((await env.dz(["info", "signed", "--json"])).stdout).proof, "signature");

  // Only provenance accepted: a cosign signature alone no longer proves anything.
  await env.publish("signed-only", "1.0", "signed\n");
  assert.equal((await env.dz(["remove", "attested", "--yes"])).code, 0);
  assert.equal((await env.dz(["remove", "signed", "--yes"])).code, 0);
  await acceptOn(env, "provenance");
  const sigOnly = await env.dz(["install", "lab/signed-only:1.0"]);
  assert.equal(sigOnly.code, 3, sigOnly.stderr);
  assert.match(sigOnly.stderr, /No SLSA provenance attestation found/);
});

Deno.test("provenance for another digest, by another identity, or of SLSA v0.2 is refused (exit 3), nothing installed", async () => {
  await using env = await startE2E();
  await acceptOn(env, "provenance");
  const other = await env.publish("other", "1.0", "some other image\n", { sign: "none" });
  await publishAttested(env, "wrong-subject", "1.0", "x\n", { subject: other.digest });
  const stranger = await env.pki.keyless({
    identity: "https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main",
    issuer: ISSUER,
  });
  await publishAttested(env, "stranger", "1.0", "x\n", { signer: stranger });
  await publishAttested(env, "old-slsa", "1.0", "x\n", { predicateType: "https://slsa.dev/provenance/v0.2" });
  const cases: [string, RegExp][] = [
    ["wrong-subject", /no valid SLSA provenance:[\s\S]*does not name sha256:/],
    ["stranger", /no SLSA provenance matches the policy[\s\S]*evil\/fork/],
    ["old-slsa", /No SLSA provenance attestation found/],
  ];
  for (const [repo, message] of cases) {
    const r = await env.dz(["install", `lab/${repo}:1.0`]);
    assert.equal(r.code, 3, `${repo}: ${r.stderr}`);
    assert.match(r.stderr, message, repo);
    const v = await env.dz(["verify", `lab/${repo}:1.0`, "--json"]);
    assert.equal(v.code, 3);
    assert.equal(JSON.parse(v.stdout).proof, null);
  }
  assert.equal((await env.dz(["list", "--json"])).stdout, "[]\n");
});

Deno.test("signer continuity pins the provenance's builder: another builder is refused until accepted", async () => {
  await using env = await startE2E();
  await acceptOn(env, "provenance");
  await publishAttested(env, "tool", "stable", "v1\n");
  assert.equal((await env.dz(["install", "lab/tool:stable"])).code, 0);
  const v2 = await publishAttested(env, "tool", "stable", "v2\n", {
    builder: "https://evil.example/self-hosted",
  });
  const up = await env.dz(["update", "--yes"]);
  assert.equal(up.code, 3, up.stderr);
  assert.match(
    up.stderr,
    /provenance now names a different origin \(builder: .*github-hosted → https:\/\/evil\.example/,
  );
  const accepted = await env.dz(["update", "tool", "--yes", "--accept-new-signer"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.equal(JSON.parse((await env.dz(["info", "tool", "--json"])).stdout).digest, v2.digest);
});
