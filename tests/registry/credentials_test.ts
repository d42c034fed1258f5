import assert from "node:assert/strict";
import {
  createCredentialLookup,
  normalizeRegistryKey,
  parseAuthConfig,
  removeCredential,
  saveCredential,
  selectCredential,
} from "../../src/registry/credentials.ts";
import type { Credential } from "../../src/registry/types.ts";
import { isDropzoneError } from "../../src/errors.ts";

const b64 = (s: string) => btoa(s);

Deno.test("normalizeRegistryKey() strips scheme, slashes and /v1/ and unifies Docker Hub aliases", async (t) => {
  const cases: [string, string][] = [
    ["https://index.docker.io/v1/", "docker.io"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["HTTPS://GHCR.io/", "ghcr.io"],
    ["http://localhost:5000/v2/", "localhost:5000"],
    ["registry.example/Team/", "registry.example/Team"],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assert.equal(normalizeRegistryKey(input), expected));
  }
});

Deno.test("parseAuthConfig() reads auth, username/password and identity tokens, skipping placeholders", () => {
  const config = parseAuthConfig(JSON.stringify({
    auths: {
      "https://index.docker.io/v1/": { auth: b64("hub:pw:with:colons") },
      "ghcr.io": { username: "gh", password: "tok" },
      "quay.io": { identitytoken: "refresh" },
      "placeholder.io": {},
      "broken.io": { auth: "%%%" },
    },
    credsStore: "desktop",
    credHelpers: { "https://gcr.io": "gcloud" },
  }));
  assert.deepEqual(config.auths.get("docker.io"), { username: "hub", password: "pw:with:colons" });
  assert.deepEqual(config.auths.get("ghcr.io"), { username: "gh", password: "tok" });
  assert.deepEqual(config.auths.get("quay.io"), { identitytoken: "refresh" });
  assert.equal(config.auths.has("placeholder.io"), false);
  assert.equal(config.auths.has("broken.io"), false);
  assert.equal(config.credsStore, "desktop");
  assert.equal(config.credHelpers.get("gcr.io"), "gcloud");
});

Deno.test("parseAuthConfig() errors without echoing the file's secrets", () => {
  assert.throws(
    () => parseAuthConfig('{"auths": {"x": {"auth": "c2VjcmV0OnNlY3JldA=="}', "test file"),
    (err) => isDropzoneError(err, "CREDENTIALS") && !err.message.includes("c2Vj") && err.cause === undefined,
  );
});

Deno.test("selectCredential() prefers exact hosts and the longest namespace prefix", async (t) => {
  const c = (name: string): Credential => ({ username: name, password: "p" });
  const auths = new Map<string, Credential>([
    ["registry.example", c("host")],
    ["registry.example/team", c("team")],
    ["registry.example/team/sub", c("sub")],
    ["docker.io", c("hub")],
    ["localhost:5000", c("loop")],
    ["ghcr.io", c("gh")],
  ]);
  const cases: [string, string | undefined, string | undefined][] = [
    ["registry.example", undefined, "host"],
    ["registry.example", "team/app", "team"],
    ["registry.example", "team/sub/app", "sub"],
    ["registry.example", "teams/app", "host"],
    ["index.docker.io", "library/alpine", "hub"],
    ["other.example", "x", undefined],
    // One registry identity: aliases, default ports and loopback spellings find the same entry.
    ["registry.hub.docker.com", "library/alpine", "hub"],
    ["ghcr.io:443", "o/r", "gh"],
    ["127.0.0.1:5000", "x", "loop"],
    ["[::1]:5000", "x", "loop"],
    ["127.0.0.1:5001", "x", undefined],
  ];
  for (const [host, repo, expected] of cases) {
    await t.step(`${host} ${repo ?? ""}`, () => {
      const got = selectCredential(auths, host, repo);
      assert.equal(got && "username" in got ? got.username : undefined, expected);
    });
  }
});

Deno.test("createCredentialLookup() searches dz, Docker (helpers, auths, store) then containers auth", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/docker`);
    await Deno.mkdir(`${dir}/run/containers`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/dz.json`,
      JSON.stringify({ auths: { "docker.io": { auth: b64("dz:1") } } }),
    );
    await Deno.writeTextFile(
      `${dir}/docker/config.json`,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("docker:2") },
          "ghcr.io": { auth: b64("gh:3") },
          "quay.io": {},
        },
        credHelpers: { "gcr.io": "gcloud" },
        credsStore: "desktop",
      }),
    );
    await Deno.writeTextFile(
      `${dir}/run/containers/auth.json`,
      JSON.stringify({ auths: { "podman.example": { auth: b64("podman:4") } } }),
    );
    const helperCalls: string[] = [];
    const lookup = createCredentialLookup({
      authFile: `${dir}/dz.json`,
      homeDir: "/nonexistent",
      env: (name) =>
        ({ DOCKER_CONFIG: `${dir}/docker`, XDG_RUNTIME_DIR: `${dir}/run` } as Record<string, string>)[name],
      runHelper: (helper, server) => {
        helperCalls.push(`${helper} ${server}`);
        if (helper === "gcloud") return Promise.resolve({ username: "oauth2", password: "g" });
        if (helper === "desktop" && server === "quay.io") return Promise.resolve({ identitytoken: "q" });
        return Promise.resolve(undefined);
      },
    });
    assert.deepEqual(await lookup("registry-1.docker.io"), { username: "dz", password: "1" });
    assert.deepEqual(await lookup("ghcr.io", "a/b"), { username: "gh", password: "3" });
    assert.deepEqual(await lookup("gcr.io"), { username: "oauth2", password: "g" });
    assert.deepEqual(await lookup("quay.io"), { identitytoken: "q" });
    assert.deepEqual(await lookup("podman.example"), { username: "podman", password: "4" });
    assert.equal(await lookup("nothing.example"), undefined);
    assert.ok(helperCalls.includes("gcloud gcr.io"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveCredential() writes atomically with mode 0600 and flags a permissive file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/sub/auth.json`;
    assert.deepEqual(await saveCredential(file, "https://index.docker.io/v1/", "u", "p"), {
      wasPermissive: false,
    });
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const doc = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(Object.keys(doc.auths), ["docker.io"]);
    assert.equal(atob(doc.auths["docker.io"].auth), "u:p");

    await Deno.chmod(file, 0o644);
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        auths: { "index.docker.io": { auth: b64("old:x") }, "ghcr.io": { auth: b64("g:h") } },
        other: 1,
      }),
    );
    assert.deepEqual(await saveCredential(file, "docker.io", "new", "y"), { wasPermissive: true });
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const after = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(Object.keys(after.auths).sort(), ["docker.io", "ghcr.io"]);
    assert.equal(after.other, 1);
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["auth.json"]);

    assert.equal(await removeCredential(file, "registry-1.docker.io"), true);
    assert.equal(await removeCredential(file, "docker.io"), false);
    assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(file)).auths), ["ghcr.io"]);
    assert.equal(await removeCredential(`${dir}/missing.json`, "x"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
