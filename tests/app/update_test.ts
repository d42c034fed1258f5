/** Tests for src/app/update.ts: update checks against a fake registry client, and the pure rules around them. */
import assert from "node:assert/strict";
import {
  checkExitCode,
  checkPackage,
  checkUpdates,
  hasUpdate,
  implicitTargetTag,
  targetTag,
  type UpdateCheck,
  updateReference,
} from "../../src/app/update.ts";
import { DropzoneError, isDropzoneError } from "../../src/errors.ts";
import type { Digest } from "../../src/oci/digest.ts";
import type { RegistryEntry } from "../../src/oci/reference.ts";
import type { ManifestHead, RegistryClient, RepoRef } from "../../src/registry/types.ts";
import type { PackageMetadata } from "../../src/store/metadata.ts";
import { sampleMetadata } from "../support/store_fixtures.ts";

const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const REGISTRIES: RegistryEntry[] = [{ name: "cgr", url: "cgr.dev/chainguard" }];

/** A registry client that answers HEAD and tag lists from tables and records what it was asked. */
function fakeClient(options: {
  heads?: Record<string, Digest | null | Error>;
  tags?: Record<string, string[] | Error>;
  delayMs?: number;
}) {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const track = async <T>(what: string, answer: () => T): Promise<T> => {
    calls.push(what);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      return answer();
    } finally {
      inFlight--;
    }
  };
  const partial: Partial<RegistryClient> = {
    headManifest: (repo: RepoRef, reference: string) =>
      track(`HEAD ${repo.registry}/${repo.repository}:${reference}`, () => {
        const a = options.heads?.[`${repo.repository}:${reference}`];
        if (a instanceof Error) throw a;
        if (a === undefined || a === null) return null;
        return { digest: a, mediaType: "application/vnd.oci.image.index.v1+json", size: 1 } as ManifestHead;
      }),
    listTags: (repo: RepoRef) =>
      track(`TAGS ${repo.registry}/${repo.repository}`, () => {
        const a = options.tags?.[repo.repository];
        if (a instanceof Error) throw a;
        return a ?? [];
      }),
  };
  const client = new Proxy(partial, {
    get: (target, prop) => {
      const v = target[prop as keyof RegistryClient];
      if (v === undefined && typeof prop === "string") throw new Error(`unexpected client call: ${prop}`);
      return v;
    },
  }) as RegistryClient;
  return { client, calls, maxInFlight: () => maxInFlight };
}

async function meta(
  name: string,
  tag: string | null,
  over: Partial<PackageMetadata> = {},
): Promise<PackageMetadata> {
  return { ...(await sampleMetadata(name, tag ?? "x")), tag, ...over };
}

Deno.test("targetTag(), implicitTargetTag() and hasUpdate() for each kind of check", () => {
  const base: UpdateCheck = {
    name: "jq",
    tag: "1.2",
    installed_digest: D("a"),
    installed_index_digest: null,
    current_digest: D("a"),
    rebuild: false,
    newer_tags: [],
    target_tag: null,
    downgrade: null,
    error: null,
  };
  const cases: [string, Partial<UpdateCheck>, string | null, string | null, boolean][] = [
    ["up to date", {}, null, null, false],
    ["rebuild", { rebuild: true }, "1.2", "1.2", true],
    ["newer tags: the newest", { newer_tags: ["1.3", "1.10"] }, "1.10", null, true],
    ["rebuild and newer tags", { rebuild: true, newer_tags: ["1.3"] }, "1.3", "1.2", true],
    ["digest-pinned install", { tag: null, rebuild: true }, null, null, true],
    ["failed check", { rebuild: true, error: "boom" }, "1.2", null, false],
  ];
  for (const [what, over, explicit, implicit, has] of cases) {
    const c = { ...base, ...over };
    assert.equal(targetTag(c), explicit, `${what}: explicit`);
    assert.equal(implicitTargetTag(c), implicit, `${what}: implicit`);
    assert.equal(hasUpdate(c), has, `${what}: hasUpdate`);
  }
});

Deno.test("checkExitCode(): 100 with any update, else 1 with a failed check, else 0", () => {
  const ok = { rebuild: false, newer_tags: [], error: null } as unknown as UpdateCheck;
  const upd = { ...ok, rebuild: true };
  const bad = { ...ok, error: "unreachable" };
  assert.equal(checkExitCode([]), 0);
  assert.equal(checkExitCode([ok]), 0);
  assert.equal(checkExitCode([ok, bad]), 1);
  assert.equal(checkExitCode([bad, upd]), 100, "an update wins over a failure");
});

Deno.test("updateReference(): configured registry strips its namespace; ad-hoc hosts keep theirs; removed fails", () => {
  const configured = updateReference(
    { registry: { name: "cgr", url: "cgr.dev/chainguard" }, repository: "chainguard/jq" },
    "1.8",
    REGISTRIES,
  );
  assert.equal(configured.input, "cgr/jq:1.8");
  assert.equal(configured.host, "cgr.dev");
  assert.equal(configured.repository, "chainguard/jq");
  const adHoc = updateReference(
    { registry: { name: "ghcr.io", url: "ghcr.io" }, repository: "org/tool" },
    "2",
    REGISTRIES,
  );
  assert.equal(adHoc.input, "ghcr.io/org/tool:2");
  assert.equal(adHoc.adHoc, true);
  const local = updateReference(
    { registry: { name: "127.0.0.1:5000", url: "http://127.0.0.1:5000" }, repository: "lab/cat" },
    "latest",
    REGISTRIES,
  );
  assert.equal(local.host, "127.0.0.1:5000");
  assert.throws(
    () =>
      updateReference({ registry: { name: "corp", url: "corp.io/x" }, repository: "x/jq" }, "1", REGISTRIES),
    (err) =>
      isDropzoneError(err, "REGISTRY_NOT_FOUND") && /dz add registry corp corp\.io\/x/.test(err.hint ?? ""),
  );
});

Deno.test("checkPackage(): a rebuild is a new index digest; newer tags come from the track; targets follow", async () => {
  const jq = await meta("jq", "1.7");
  const fake = fakeClient({
    heads: { "chainguard/jq:1.7": D("9") },
    tags: { "chainguard/jq": ["1.6", "1.7", "1.8", "1.10", "1.11-dev", "latest", "sha256-abc.sig"] },
  });
  const c = await checkPackage(jq, { client: fake.client, registries: REGISTRIES, concurrency: 1 });
  assert.deepEqual(c, {
    name: "jq",
    tag: "1.7",
    installed_digest: jq.digest,
    installed_index_digest: jq.index_digest,
    current_digest: D("9"),
    rebuild: true,
    newer_tags: ["1.8", "1.10"],
    target_tag: "1.10",
    downgrade: null,
    error: null,
  });
  assert.deepEqual(fake.calls.sort(), ["HEAD cgr.dev/chainguard/jq:1.7", "TAGS cgr.dev/chainguard/jq"]);
});

Deno.test("checkPackage(): the digest and the tag list are asked for at once (one round trip, not two)", async () => {
  const jq = await meta("jq", "1.7");
  const fake = fakeClient({
    heads: { "chainguard/jq:1.7": D("9") },
    tags: { "chainguard/jq": ["1.7", "1.8"] },
    delayMs: 20,
  });
  const c = await checkPackage(jq, { client: fake.client, registries: REGISTRIES, concurrency: 1 });
  assert.equal(c.target_tag, "1.8");
  assert.equal(fake.maxInFlight(), 2);
});

Deno.test("checkPackage(): a gone tag is the answer even when the tag list fails too (no stray rejection)", async () => {
  const jq = await meta("jq", "1.7");
  const fake = fakeClient({ heads: {}, tags: { "chainguard/jq": new Error("500 from registry") } });
  const c = await checkPackage(jq, { client: fake.client, registries: REGISTRIES, concurrency: 1 });
  assert.match(c.error ?? "", /^tag "1\.7" no longer exists/);
  // An unhandled rejection of the list would fail this test in Deno's sanitizer; give it a turn to surface.
  await new Promise((r) => setTimeout(r, 0));
});

Deno.test("checkPackage(): same index digest is no rebuild; single-platform installs compare the digest", async () => {
  const jq = await meta("jq", "1.7");
  const same = fakeClient({ heads: { "chainguard/jq:1.7": jq.index_digest! } });
  const c = await checkPackage(jq, { client: same.client, registries: REGISTRIES, concurrency: 1 });
  assert.equal(c.rebuild, false);
  assert.equal(c.target_tag, null);
  const single = await meta("jq", "1.7", { index_digest: null });
  const head = fakeClient({ heads: { "chainguard/jq:1.7": single.digest } });
  assert.equal(
    (await checkPackage(single, { client: head.client, registries: REGISTRIES, concurrency: 1 })).rebuild,
    false,
  );
});

Deno.test("checkPackage(): floating tags are not listed, digest installs are not checked at all", async () => {
  const latest = await meta("cat", "latest");
  const fake = fakeClient({ heads: { "chainguard/cat:latest": D("1") } });
  const c = await checkPackage(latest, { client: fake.client, registries: REGISTRIES, concurrency: 1 });
  assert.deepEqual([c.rebuild, c.newer_tags, c.target_tag], [true, [], "latest"]);
  assert.deepEqual(fake.calls, ["HEAD cgr.dev/chainguard/cat:latest"], "no tag list for a floating tag");
  const byDigest = await meta("cat", null);
  const none = fakeClient({});
  const d = await checkPackage(byDigest, { client: none.client, registries: REGISTRIES, concurrency: 1 });
  assert.deepEqual([d.error, d.rebuild, d.current_digest, d.target_tag], [null, false, null, null]);
  assert.deepEqual(none.calls, []);
});

Deno.test("checkPackage(): failures become the check's error, never a thrown error, and never an update", async () => {
  const jq = await meta("jq", "1.7");
  const unreachable = new DropzoneError("REGISTRY_UNREACHABLE", "Cannot reach cgr.dev");
  const cases: [string, Parameters<typeof fakeClient>[0], PackageMetadata, RegExp][] = [
    ["tag gone", { heads: {} }, jq, /^tag "1\.7" no longer exists in cgr\.dev\/chainguard\/jq$/],
    [
      "HEAD fails",
      { heads: { "chainguard/jq:1.7": unreachable } },
      jq,
      /^digest lookup: Cannot reach cgr\.dev$/,
    ],
    [
      "tag list fails",
      { heads: { "chainguard/jq:1.7": D("9") }, tags: { "chainguard/jq": new Error("500 from registry") } },
      jq,
      /^tag list: 500 from registry$/,
    ],
    [
      "registry removed",
      {},
      await meta("jq", "1.7", { registry: { name: "corp", url: "corp.io/x" } }),
      /^registry "corp" is no longer configured$/,
    ],
  ];
  for (const [what, client, m, error] of cases) {
    const c = await checkPackage(m, {
      client: fakeClient(client).client,
      registries: REGISTRIES,
      concurrency: 1,
    });
    assert.match(c.error ?? "", error, what);
    assert.equal(c.target_tag, null, `${what}: nothing to apply`);
    assert.equal(hasUpdate(c), false, what);
  }
});

Deno.test("checkPackage(): an abort is rethrown, not recorded as a failed check", async () => {
  const jq = await meta("jq", "1.7");
  const controller = new AbortController();
  const fake = fakeClient({ heads: { "chainguard/jq:1.7": new Error("aborted") } });
  controller.abort();
  await assert.rejects(
    checkPackage(jq, {
      client: fake.client,
      registries: REGISTRIES,
      concurrency: 1,
      signal: controller.signal,
    }),
  );
});

Deno.test("checkUpdates(): keeps input order and never runs more than `concurrency` checks at once", async () => {
  const names = ["a", "b", "c", "d", "e", "f", "g"];
  const packages = await Promise.all(names.map((n) => meta(n, "latest")));
  const heads = Object.fromEntries(
    packages.map((p, i) => [`chainguard/${p.name}:latest`, i % 2 ? p.index_digest! : D("0")]),
  );
  const fake = fakeClient({ heads, delayMs: 5 });
  const checks = await checkUpdates(packages, {
    client: fake.client,
    registries: REGISTRIES,
    concurrency: 3,
  });
  assert.deepEqual(checks.map((c) => c.name), names);
  assert.deepEqual(checks.map((c) => c.rebuild), [true, false, true, false, true, false, true]);
  assert.ok(fake.maxInFlight() <= 3 && fake.maxInFlight() >= 2, `in flight: ${fake.maxInFlight()}`);
  assert.deepEqual(
    await checkUpdates([], { client: fake.client, registries: REGISTRIES, concurrency: 0 }),
    [],
  );
});
