/** Doctor's mirror reachability check, with a scripted ping. */
import assert from "node:assert/strict";
import { mirrorFindings } from "../../src/app/doctor_mirrors.ts";
import { RegistryError } from "../../src/registry/registry_error.ts";

Deno.test("mirrorFindings() warns once per location that cannot be used, subject the location as configured", async () => {
  const pinged: string[] = [];
  const client = {
    ping(host: string) {
      pinged.push(host);
      if (host === "down.example:5000") {
        return Promise.reject(new RegistryError("REGISTRY_UNREACHABLE", `Cannot reach registry "${host}"`));
      }
      if (host === "auth.example") {
        return Promise.reject(new RegistryError("REGISTRY_AUTH", "needs login", { status: 401 }));
      }
      return Promise.resolve();
    },
  };
  const findings = await mirrorFindings(client, [
    {
      prefix: "docker.io",
      locations: ["up.example/hub", "down.example:5000/hub"],
      pull_from_mirror: "all",
      insecure: false,
    },
    { prefix: "ghcr.io", locations: ["auth.example"], pull_from_mirror: "digest-only", insecure: false },
  ]);
  assert.deepEqual(pinged.sort(), ["auth.example", "down.example:5000", "up.example"]);
  assert.deepEqual(findings.map((f) => [f.kind, f.severity, f.subject]).sort(), [
    ["mirror-unreachable", "warning", "auth.example"],
    ["mirror-unreachable", "warning", "down.example:5000/hub"],
  ]);
  assert.match(
    findings.find((f) => f.subject === "down.example:5000/hub")!.message,
    /^mirror down\.example:5000\/hub \(for docker\.io\) cannot be used: Cannot reach registry/,
  );
  assert.deepEqual(await mirrorFindings(client, []), []);
});
