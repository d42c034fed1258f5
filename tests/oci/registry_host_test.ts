import assert from "node:assert/strict";
import {
  canonicalRegistryHost,
  isLoopbackHost,
  isPrivateAddress,
  normalizeRegistryHost,
  parseIpv6,
  sameRegistryHost,
} from "../../src/oci/registry_host.ts";

Deno.test("sameRegistryHost() treats every spelling of one registry as the same host", async (t) => {
  const same: [string, string][] = [
    ["docker.io", "registry.hub.docker.com"],
    ["docker.io", "index.docker.io"],
    ["docker.io", "registry-1.docker.io"],
    ["docker.io", "Registry.Hub.Docker.COM"],
    ["docker.io", "docker.io:443"],
    ["docker.io", "https://index.docker.io/v1/"],
    ["ghcr.io", "ghcr.io:443"],
    ["ghcr.io", "GHCR.IO"],
    ["ghcr.io", "ghcr.io."],
    ["ghcr.io", "https://ghcr.io:443"],
    ["registry.lan", "http://registry.lan:80"],
    ["127.0.0.1:5000", "localhost:5000"],
    ["127.0.0.1:5000", "[::1]:5000"],
    ["localhost:5000", "[0:0:0:0:0:0:0:1]:5000"],
    ["LOCALHOST:5000", "127.0.0.1:5000"],
    ["localhost", "127.0.0.1:80"],
    ["127.0.0.1:05000", "127.0.0.1:5000"],
  ];
  for (const [a, b] of same) {
    await t.step(`${a} = ${b}`, () => {
      assert.equal(sameRegistryHost(a, b), true);
      assert.equal(sameRegistryHost(b, a), true);
      assert.equal(canonicalRegistryHost(a), canonicalRegistryHost(b));
    });
  }
});

Deno.test("sameRegistryHost() keeps different registries apart", async (t) => {
  const different: [string, string][] = [
    ["docker.io", "docker.io:5000"],
    ["docker.io", "hub.docker.com"],
    ["docker.io", "docker.io.evil.example"],
    ["ghcr.io", "ghcr.io:8443"],
    ["ghcr.io", "ghcr.io.evil.example"],
    ["127.0.0.1:5000", "127.0.0.1:5001"],
    ["127.0.0.1:5000", "127.0.0.2:5000"],
    ["localhost:5000", "localhost"],
    ["localhost", "localhost:443"],
    ["registry.lan", "registry.lan:80"],
    ["evil.localhost:5000", "localhost:5000"],
  ];
  for (const [a, b] of different) {
    await t.step(`${a} ≠ ${b}`, () => {
      assert.equal(sameRegistryHost(a, b), false);
      assert.notEqual(canonicalRegistryHost(a), canonicalRegistryHost(b));
    });
  }
});

Deno.test("normalizeRegistryHost() keeps the spelling dz connects to, minus aliases and default ports", async (t) => {
  const cases: [string, string][] = [
    ["registry.hub.docker.com", "docker.io"],
    ["Index.Docker.IO", "docker.io"],
    ["ghcr.io:443", "ghcr.io"],
    ["https://ghcr.io:443/org/", "ghcr.io"],
    ["localhost:5000", "localhost:5000"],
    ["127.0.0.1:5000", "127.0.0.1:5000"],
    ["[0:0::1]:5000", "[::1]:5000"],
    ["localhost:80", "localhost"],
    ["localhost:443", "localhost:443"],
    ["registry.corp.example:8443", "registry.corp.example:8443"],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => assert.equal(normalizeRegistryHost(input), want));
  }
});

Deno.test("isPrivateAddress() covers IPv4-mapped IPv6, unspecified and metadata addresses", async (t) => {
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["localhost:8080", true],
    ["10.1.2.3", true],
    ["172.16.0.1", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["169.254.169.254", true],
    ["100.64.0.1", true],
    ["0.0.0.0", true],
    ["0.0.0.0:5000", true],
    ["[::]", true],
    ["[::]:443", true],
    ["[::1]", true],
    ["[::ffff:127.0.0.1]", true],
    ["[::ffff:169.254.169.254]", true],
    ["[::ffff:7f00:1]", true],
    ["[::ffff:a9fe:a9fe]:80", true],
    ["[::ffff:10.0.0.1]", true],
    ["[::127.0.0.1]", true],
    ["[64:ff9b::a9fe:a9fe]", true],
    ["[fd00::1]", true],
    ["[fe80::1]", true],
    ["[ff02::1]", true],
    ["[::ffff:8.8.8.8]", false],
    ["[2001:4860:4860::8888]", false],
    ["8.8.8.8", false],
    ["ghcr.io", false],
    ["0x7f.1", true],
  ];
  for (const [host, want] of cases) {
    await t.step(`${host} → ${want}`, () => assert.equal(isPrivateAddress(host), want));
  }
});

Deno.test("isLoopbackHost() is loopback only: not mapped, unspecified or look-alike names", async (t) => {
  const cases: [string, boolean][] = [
    ["localhost", true],
    ["app.localhost:3000", true],
    ["127.5.5.5", true],
    ["[::1]:5000", true],
    ["[0:0:0:0:0:0:0:1]", true],
    ["0.0.0.0", false],
    ["[::]", false],
    ["localhost.evil.example", false],
    ["128.0.0.1", false],
  ];
  for (const [host, want] of cases) {
    await t.step(`${host} → ${want}`, () => assert.equal(isLoopbackHost(host), want));
  }
});

Deno.test("parseIpv6() expands compressed and IPv4-suffixed forms and rejects malformed ones", () => {
  assert.deepEqual(parseIpv6("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  assert.deepEqual(parseIpv6("[1::8]"), [1, 0, 0, 0, 0, 0, 0, 8]);
  assert.deepEqual(parseIpv6("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::1.2.3", "1.2.3.4"]) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
});
