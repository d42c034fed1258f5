import assert from "node:assert/strict";
import { table, truncate } from "../../src/cli/render.ts";
import { spawnDz } from "../support/cli_harness.ts";
import { runInPty } from "../support/pty.ts";

const HEADERS = ["NAME", "TAG", "DIGEST", "SOURCE", "SIGNED"];
const ROWS = [
  ["jq", "1.7.1", "sha256:0123456789ab", "chainguard:chainguard/jq-with-a-very-long-repository-name", "yes"],
  ["python", "latest", "sha256:ba9876543210", "corp:team/tools/python", "no (allowed)"],
];

Deno.test("table() fits a width by truncating the shrinkable columns first, never wrapping", () => {
  const full = table(HEADERS, ROWS);
  assert.ok(full.includes("jq-with-a-very-long-repository-name"), "no width: every cell in full");
  for (const width of [100, 60, 40, 12]) {
    const text = table(HEADERS, ROWS, { width, shrink: [3, 2, 1] });
    const lines = text.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    for (const l of lines) assert.ok([...l].length < width, `${width}: ${JSON.stringify(l)}`);
  }
  const at60 = table(HEADERS, ROWS, { width: 60, shrink: [3, 2, 1] }).split("\n");
  assert.match(at60[1]!, /^jq {6}1\.7\.1 {3}sha256:0123456789ab {2}chaingu… {2}yes$/);
  assert.equal(truncate("abcdef", 4), "abc…");
  assert.equal(truncate("abc", 4), "abc");
});

Deno.test("dz list registries fits a 60-column terminal; piped it prints every field in full", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-table-" });
  try {
    const identity =
      "https://github.com/example-org/some-long-repository/.github/workflows/release.yml@refs/heads/main";
    const add = await spawnDz([
      "add",
      "registry",
      "corp",
      "registry.example.com/a-fairly-long/namespace",
      "--issuer",
      "https://token.actions.githubusercontent.com",
      "--identity",
      identity,
    ], { home });
    assert.equal(add.code, 0, add.stderr);
    const tty = await runInPty(["list", "registries"], { home, columns: 60 });
    assert.equal(tty.code, 0, tty.output);
    const lines = tty.output.split("\r\n").filter((l) => l !== "");
    assert.match(lines[0]!, /^NAME\s+URL\s+DEFAULT\s+ISSUER\s+IDENTITY$/);
    for (const l of lines) assert.ok([...l].length < 60, JSON.stringify(l));
    assert.ok(lines.some((l) => /^corp\s+registry\.exa.*…/.test(l)), tty.output);
    const piped = await spawnDz(["list", "registries"], { home });
    assert.ok(piped.stdout.includes(identity), "piped output is not truncated");
    assert.ok(piped.stdout.includes("registry.example.com/a-fairly-long/namespace"));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
