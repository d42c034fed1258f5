import assert from "node:assert/strict";
import {
  apiHost,
  type HostResolver,
  resolvesPrivate,
  resolveWithDns,
  schemeFor,
} from "../../src/registry/hosts.ts";

Deno.test("apiHost() maps Docker Hub to registry-1.docker.io and lower-cases other hosts", async (t) => {
  const cases: [string, string][] = [
    ["docker.io", "registry-1.docker.io"],
    ["index.docker.io", "registry-1.docker.io"],
    ["ghcr.io", "ghcr.io"],
    ["GHCR.io", "ghcr.io"],
    ["localhost:5000", "localhost:5000"],
  ];
  for (const [input, expected] of cases) await t.step(input, () => assert.equal(apiHost(input), expected));
});

Deno.test("schemeFor() uses http only for loopback and hosts marked insecure", async (t) => {
  const insecure = (host: string) => host === "lan.test:5000";
  const cases: [string, "http:" | "https:"][] = [
    ["localhost:5000", "http:"],
    ["127.0.0.1:5000", "http:"],
    ["[::1]:5000", "http:"],
    ["lan.test:5000", "http:"],
    ["lan.test:5001", "https:"],
    ["ghcr.io", "https:"],
    ["localhost.evil.test", "https:"],
  ];
  for (const [host, expected] of cases) {
    await t.step(host, () => assert.equal(schemeFor(host, insecure), expected));
  }
  assert.equal(schemeFor("lan.test:5000"), "https:", "without the insecure list it is https");
});

Deno.test("resolvesPrivate() checks literals without resolving and names by every address", async (t) => {
  const asked: string[] = [];
  const table: Record<string, readonly string[]> = {
    "public.test": ["93.184.216.34", "2606:2800:220:1::1"],
    "rebind.test": ["93.184.216.34", "10.0.0.5"],
    "v6private.test": ["fd00::1"],
    "metadata.test": ["169.254.169.254"],
    "nowhere.test": [],
  };
  const resolve: HostResolver = (name) => {
    asked.push(name);
    return Promise.resolve(table[name] ?? []);
  };
  const cases: [string, boolean][] = [
    ["10.1.2.3", true],
    ["192.168.0.1:5000", true],
    ["8.8.8.8", false],
    ["public.test", false],
    ["public.test:443", false],
    ["rebind.test", true],
    ["v6private.test", true],
    ["metadata.test", true],
    ["nowhere.test", false],
  ];
  for (const [host, expected] of cases) {
    await t.step(host, async () => assert.equal(await resolvesPrivate(host, resolve), expected));
  }
  assert.ok(!asked.some((n) => /^\d/.test(n)), `IP literals are never resolved: ${asked.join(", ")}`);
  assert.ok(asked.includes("public.test") && !asked.some((n) => n.includes(":")), "the port is not resolved");
});

Deno.test("resolveWithDns() gives no addresses for a name that does not resolve", async () => {
  assert.deepEqual(await resolveWithDns("does-not-exist.invalid"), []);
});
