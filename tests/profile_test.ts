import assert from "node:assert/strict";

/** Runs spans and marks in a fresh process (profile.ts reads DZ_PROFILE once per process). */
async function run(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const script = `
    import { mark, span } from "${import.meta.resolve("../src/profile.ts")}";
    const end = span("install jq");
    await new Promise((r) => setTimeout(r, 20));
    end();
    mark("ready");
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("DZ_PROFILE=1 prints one profile line per span and mark on stderr", async () => {
  const { code, stderr } = await run({ DZ_PROFILE: "1" });
  assert.equal(code, 0, stderr);
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 2, stderr);
  const ms = Number(/^profile: install jq (\d+\.\d) ms$/.exec(lines[0]!)?.[1]);
  assert.ok(ms >= 15, `the span measured ${ms} ms for a 20 ms wait: ${lines[0]}`);
  assert.match(lines[1]!, /^profile: ready at \d+\.\d ms$/);
});

Deno.test("profiling is silent unless DZ_PROFILE is exactly 1", async (t) => {
  for (const value of ["", "0", "true", "yes"]) {
    await t.step(JSON.stringify(value), async () => {
      const { code, stderr } = await run({ DZ_PROFILE: value });
      assert.equal(code, 0, stderr);
      assert.equal(stderr, "");
    });
  }
});
