import assert from "node:assert/strict";
import { DropzoneError } from "../../src/errors.ts";
import {
  isLoopbackHost,
  parseReference,
  type RegistryEntry,
  resolveReference,
  validatePackageName,
  validateRegistryName,
  validateRegistryUrl,
} from "../../src/oci/reference.ts";

const CHAINGUARD: RegistryEntry = {
  name: "chainguard",
  url: "docker.io/chainguard",
  cosign_policy: { issuer: "https://token.actions.githubusercontent.com", identity: "x" },
};
const CORP: RegistryEntry = { name: "corp", url: "registry.corp.example:8443/team", insecure: true };
const CORP_SUB: RegistryEntry = { name: "corpsub", url: "registry.corp.example:8443/team/sub" };
const LOCAL: RegistryEntry = { name: "local", url: "localhost:5000" };
const REGISTRIES = [CHAINGUARD, CORP, CORP_SUB, LOCAL];

Deno.test("parseReference() splits host, path, tag and digest", async (t) => {
  const D = "sha256:" + "a".repeat(64);
  const cases: [string, Record<string, string | undefined>][] = [
    ["jq", { path: "jq" }],
    ["jq:1.7.1", { path: "jq", tag: "1.7.1" }],
    [`jq@${D}`, { path: "jq", digest: D }],
    [`jq:1.7@${D}`, { path: "jq", tag: "1.7", digest: D }],
    ["chainguard/jq:latest", { path: "chainguard/jq", tag: "latest" }],
    ["corp/tools/nested/x", { path: "corp/tools/nested/x" }],
    ["ghcr.io/owner/repo:tag", { host: "ghcr.io", path: "owner/repo", tag: "tag" }],
    ["localhost:5000/x", { host: "localhost:5000", path: "x" }],
    ["localhost/x:1", { host: "localhost", path: "x", tag: "1" }],
    ["[::1]:5000/x:2", { host: "[::1]:5000", path: "x", tag: "2" }],
    ["index.docker.io/chainguard/jq", { host: "docker.io", path: "chainguard/jq" }],
    ["registry-1.docker.io/library/alpine", { host: "docker.io", path: "library/alpine" }],
    ["  jq  ", { path: "jq" }],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => {
      const got = parseReference(input);
      assert.deepEqual({ host: got.host, path: got.path, tag: got.tag, digest: got.digest }, {
        host: want.host,
        path: want.path,
        tag: want.tag,
        digest: want.digest,
      });
    });
  }
});

Deno.test("parseReference() rejects malformed input with INVALID_REFERENCE", async (t) => {
  const bad = [
    "",
    "   ",
    "JQ",
    "jq:",
    "jq@sha256:abc",
    "a//b",
    "jq:bad tag",
    "-jq",
    "jq@md5:" + "a".repeat(32),
    "x/../y",
  ];
  for (const input of bad) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(
        () => parseReference(input),
        (e) => e instanceof DropzoneError && e.code === "INVALID_REFERENCE",
      );
    });
  }
});

Deno.test("resolveReference() resolves every form against configured registries", async (t) => {
  const D = "sha256:" + "b".repeat(64);
  const cases: [string, Partial<Record<string, unknown>>][] = [
    ["jq", {
      registryName: "chainguard",
      host: "docker.io",
      repository: "chainguard/jq",
      tag: "latest",
      adHoc: false,
    }],
    ["jq:1.7", { registryName: "chainguard", repository: "chainguard/jq", tag: "1.7" }],
    [`jq@${D}`, { registryName: "chainguard", tag: undefined, digest: D }],
    ["chainguard/python:latest", {
      registryName: "chainguard",
      repository: "chainguard/python",
      image: "python",
    }],
    ["corp/tools/x:1", {
      registryName: "corp",
      host: "registry.corp.example:8443",
      repository: "team/tools/x",
    }],
    // The Go tool's policy bypass: a host-qualified ref under a configured URL must use that registry.
    ["docker.io/chainguard/jq", { registryName: "chainguard", adHoc: false, image: "jq" }],
    ["index.docker.io/chainguard/jq:1", { registryName: "chainguard", adHoc: false, tag: "1" }],
    // Longest prefix wins.
    ["registry.corp.example:8443/team/sub/y", { registryName: "corpsub", image: "y" }],
    ["registry.corp.example:8443/team/z", { registryName: "corp", image: "z", insecure: true }],
    ["localhost:5000/a/b", { registryName: "local", repository: "a/b", packageName: "b" }],
    ["ghcr.io/owner/repo:tag", {
      registryName: "ghcr.io",
      adHoc: true,
      repository: "owner/repo",
      policy: undefined,
    }],
    ["docker.io/alpine", { registryName: "docker.io", adHoc: true, repository: "library/alpine" }],
    ["docker.io/chainguardx/jq", { adHoc: true }],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => {
      const got = resolveReference(input, {
        registries: REGISTRIES,
        defaultRegistry: "chainguard",
      }) as unknown as Record<
        string,
        unknown
      >;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${input}: ${k}`);
    });
  }
});

Deno.test("resolveReference() carries the matched registry's policy", () => {
  const r = resolveReference("docker.io/chainguard/jq", {
    registries: REGISTRIES,
    defaultRegistry: "chainguard",
  });
  assert.deepEqual(r.policy, CHAINGUARD.cosign_policy);
});

Deno.test("resolveReference() gives a registry's policy to every alias spelling of its host", async (t) => {
  const GHCR: RegistryEntry = {
    name: "gh",
    url: "ghcr.io/acme",
    cosign_policy: { issuer: "https://token.actions.githubusercontent.com", identity: "gh" },
  };
  const LOOP_V4: RegistryEntry = {
    name: "loop4",
    url: "127.0.0.1:5123",
    cosign_policy: { issuer: "https://issuer.example", identity: "loop4" },
  };
  const LOOP_NAME: RegistryEntry = {
    name: "loopname",
    url: "localhost:5124",
    cosign_policy: { issuer: "https://issuer.example", identity: "loopname" },
  };
  const registries = [CHAINGUARD, GHCR, LOOP_V4, LOOP_NAME];
  const cases: [string, RegistryEntry, string][] = [
    ["registry.hub.docker.com/chainguard/jq", CHAINGUARD, "docker.io"],
    ["Registry.Hub.Docker.com/chainguard/jq:1", CHAINGUARD, "docker.io"],
    ["docker.io:443/chainguard/jq", CHAINGUARD, "docker.io"],
    ["registry-1.docker.io/chainguard/jq", CHAINGUARD, "docker.io"],
    ["ghcr.io:443/acme/tool", GHCR, "ghcr.io"],
    ["GHCR.io/acme/tool", GHCR, "ghcr.io"],
    ["localhost:5123/app", LOOP_V4, "127.0.0.1:5123"],
    ["[::1]:5123/app", LOOP_V4, "127.0.0.1:5123"],
    ["127.0.0.1:5124/app", LOOP_NAME, "localhost:5124"],
    ["[::1]:5124/app", LOOP_NAME, "localhost:5124"],
  ];
  for (const [input, entry, host] of cases) {
    await t.step(`${input} → ${entry.name}`, () => {
      const got = resolveReference(input, { registries });
      assert.equal(got.registryName, entry.name);
      assert.equal(got.adHoc, false);
      assert.deepEqual(got.policy, entry.cosign_policy);
      // The configured spelling is what dz connects to and records.
      assert.equal(got.host, host);
    });
  }
  for (const input of ["localhost:5125/app", "ghcr.io:8443/acme/tool", "ghcr.io/other/tool"]) {
    await t.step(
      `${input} stays ad hoc`,
      () => assert.equal(resolveReference(input, { registries }).adHoc, true),
    );
  }
});

Deno.test("resolveReference() explains unknown registries and a missing default", () => {
  assert.throws(
    () => resolveReference("nope/jq", { registries: REGISTRIES, defaultRegistry: "chainguard" }),
    (e) =>
      e instanceof DropzoneError && e.code === "REGISTRY_NOT_FOUND" &&
      /dz add registry nope/.test(e.hint ?? ""),
  );
  assert.throws(
    () => resolveReference("jq", { registries: [] }),
    (e) => e instanceof DropzoneError && e.code === "REGISTRY_NOT_FOUND",
  );
});

Deno.test("validatePackageName() accepts safe names and refuses path tricks", async (t) => {
  for (const ok of ["jq", "python3", "a.b", "a_b-c", "0x"]) {
    await t.step(ok, () => assert.equal(validatePackageName(ok), ok));
  }
  for (const bad of ["", "..", ".", "A", "-x", "a/b", "a b", "x".repeat(65), ".hidden"]) {
    await t.step(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => validatePackageName(bad)));
  }
});

Deno.test("validateRegistryName() refuses names that look like hosts", async (t) => {
  for (const ok of ["chainguard", "my-corp", "r2"]) {
    await t.step(ok, () => assert.equal(validateRegistryName(ok), ok));
  }
  for (const bad of ["ghcr.io", "a/b", "host:5000", "", "Upper"]) {
    await t.step(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => validateRegistryName(bad)));
  }
});

Deno.test("validateRegistryUrl() normalises and rejects bad URLs", () => {
  assert.equal(validateRegistryUrl("https://ghcr.io/org/"), "ghcr.io/org");
  assert.equal(validateRegistryUrl("index.docker.io/chainguard"), "docker.io/chainguard");
  assert.equal(validateRegistryUrl("localhost:5000"), "localhost:5000");
  assert.throws(() => validateRegistryUrl("http://ghcr.io"));
  assert.throws(() => validateRegistryUrl("ghcr.io/Bad Org"));
});

Deno.test("isLoopbackHost() allows plain HTTP only for loopback", () => {
  for (const h of ["localhost:5000", "127.0.0.1:1", "127.8.9.10", "[::1]:5000", "localhost"]) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of ["ghcr.io", "10.0.0.1:5000", "localhost.evil.com", "[::2]:1"]) {
    assert.equal(isLoopbackHost(h), false, h);
  }
});
