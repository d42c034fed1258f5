/** `dz info NAME` shows every installed version (issue 11 item 5): digest, tag, times, signer, current, step. */
import assert from "node:assert/strict";
import { IDENTITY, startE2E } from "../support/e2e.ts";

Deno.test("dz info shows the version history with the current marker and rollback steps, also as JSON", async () => {
  await using env = await startE2E();
  const v1 = await env.publish("tool", "latest", "v1\n");
  assert.equal((await env.dz(["install", "lab/tool"])).code, 0);
  const v2 = await env.publish("tool", "latest", "v2\n");
  assert.equal((await env.dz(["update", "tool", "--yes"])).code, 0);
  const v3 = await env.publish("tool", "latest", "v3\n");
  assert.equal((await env.dz(["update", "tool", "--yes"])).code, 0);

  const info = JSON.parse((await env.dz(["info", "tool", "--json"])).stdout);
  assert.equal(info.digest, v3.digest, "the metadata fields stay");
  assert.deepEqual(
    info.versions.map((v: { digest: string; current: boolean; rollback_step: number | null }) => [
      v.digest,
      v.current,
      v.rollback_step,
    ]),
    [[v3.digest, true, null], [v2.digest, false, 1], [v1.digest, false, 2]],
  );
  for (const v of info.versions) {
    assert.equal(v.tag, "latest");
    assert.equal(v.signer, IDENTITY);
    assert.equal(v.state, "ok");
    assert.match(v.installed_at, /^\d{4}-\d\d-\d\dT/);
    assert.match(v.verified_at, /^\d{4}-\d\d-\d\dT/);
  }

  const text = (await env.dz(["info", "tool"])).stdout;
  assert.match(text, /History \(newest first; "\*" is current, roll back with "dz rollback tool --to N"\):/);
  const short = (d: string) => d.slice(0, 19);
  assert.match(text, new RegExp(`^\\*\\s+-\\s+${short(v3.digest)}\\s+latest\\s+\\d{4}-`, "m"));
  assert.match(
    text,
    new RegExp(`^\\s+1\\s+${short(v2.digest)}\\s+latest .* ${IDENTITY.replace(/[.]/g, "\\.")}$`, "m"),
  );
  assert.match(text, new RegExp(`^\\s+2\\s+${short(v1.digest)}\\s`, "m"));

  // The step shown is the step rollback takes.
  assert.equal((await env.dz(["rollback", "tool", "--to", "2"])).code, 0);
  assert.equal(JSON.parse((await env.dz(["info", "tool", "--json"])).stdout).digest, v1.digest);
});
