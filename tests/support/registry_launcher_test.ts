import assert from "node:assert/strict";
import { launchRegistry } from "./registry_launcher.ts";
import { encodeJson, pushBlob, pushManifest } from "./oci_push.ts";

Deno.test("launchRegistry() serves /v2/ and accepts pushes, with and without htpasswd", async () => {
  await using open = await launchRegistry();
  const digest = await pushBlob(open, "t/x", new TextEncoder().encode("{}"));
  const manifest = encodeJson({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: 2 },
    layers: [],
  });
  await pushManifest(open, "t/x", "v1", manifest, "application/vnd.oci.image.manifest.v1+json");
  const tags = await (await fetch(`${open.url}/v2/t/x/tags/list`)).json();
  assert.deepEqual(tags.tags, ["v1"]);

  await using locked = await launchRegistry({ auth: { username: "u", password: "p" } });
  const anon = await fetch(`${locked.url}/v2/`);
  await anon.body?.cancel();
  assert.equal(anon.status, 401);
  await pushBlob({ url: locked.url, auth: locked.credentials! }, "t/y", new TextEncoder().encode("{}"));
});
