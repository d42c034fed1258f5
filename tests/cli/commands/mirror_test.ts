/** `dz add mirror`, `dz list mirrors`, `dz remove mirror`, the `mirrors:` config and doctor's mirror check. */
import assert from "node:assert/strict";
import { runDz } from "../../support/cli_harness.ts";
import { startFakeRegistry } from "../../support/fake_registry.ts";
import { tempHome } from "../../support/temp_home.ts";

Deno.test("dz add mirror appends locations per prefix, keeps the file's comments, and dz list mirrors shows one row per location", async () => {
  await using home = await tempHome();
  const dz = (argv: string[]) => runDz(argv, { home: home.path });
  assert.equal((await dz(["list", "mirrors", "--json"])).stdout, "[]\n");
  const config = home.layout.configFile;
  await Deno.writeTextFile(config, (await Deno.readTextFile(config)) + "# fleet mirrors below, keep me\n");

  const first = await dz([
    "add",
    "mirror",
    "Index.Docker.IO/chainguard",
    "mirror.corp.example/hub-chainguard",
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /verified against the upstream's policy/);
  assert.equal((await dz(["add", "mirror", "docker.io/chainguard", "127.0.0.1:5000/chainguard"])).code, 0);
  const dup = await dz(["add", "mirror", "docker.io/chainguard", "127.0.0.1:5000/chainguard"]);
  assert.equal(dup.code, 0);
  assert.match(dup.stderr, /already a mirror/);
  assert.equal(
    (await dz(["add", "mirror", "ghcr.io", "ghcr-cache.corp.example", "--digest-only", "--insecure"])).code,
    0,
  );

  const rows = JSON.parse((await dz(["list", "mirrors", "--json"])).stdout);
  assert.deepEqual(rows, [
    {
      prefix: "docker.io/chainguard",
      location: "mirror.corp.example/hub-chainguard",
      pull_from_mirror: "all",
      insecure: false,
    },
    {
      prefix: "docker.io/chainguard",
      location: "127.0.0.1:5000/chainguard",
      pull_from_mirror: "all",
      insecure: false,
    },
    {
      prefix: "ghcr.io",
      location: "ghcr-cache.corp.example",
      pull_from_mirror: "digest-only",
      insecure: true,
    },
  ]);
  const text = await Deno.readTextFile(config);
  assert.match(text, /# fleet mirrors below, keep me/);
  assert.match(text, /# Refuse unsigned images unless/, "the seed's comments survive");
  const table = (await dz(["list", "mirrors"])).stdout;
  assert.match(table, /^PREFIX +LOCATION +PULL +INSECURE$/m);
  assert.match(table, /^ghcr\.io +ghcr-cache\.corp\.example +digest-only +yes$/m);

  assert.equal(
    (await dz(["remove", "mirror", "docker.io/chainguard", "mirror.corp.example/hub-chainguard"])).code,
    0,
  );
  assert.deepEqual(
    JSON.parse((await dz(["list", "mirrors", "--json"])).stdout).map((r: { location: string }) => r.location),
    ["127.0.0.1:5000/chainguard", "ghcr-cache.corp.example"],
  );
  assert.equal((await dz(["remove", "mirror", "ghcr.io"])).code, 0);
  assert.equal((await dz(["remove", "mirror", "docker.io/chainguard", "127.0.0.1:5000/chainguard"])).code, 0);
  assert.equal(
    (await dz(["list", "mirrors", "--json"])).stdout,
    "[]\n",
    "the last location takes its prefix",
  );
  assert.match(await Deno.readTextFile(config), /# fleet mirrors below, keep me/);

  // A hand-written spelling (loopback alias, upper case) is the same prefix and location for dz's edits.
  const handWritten = (await Deno.readTextFile(config)).replace(
    /^mirrors:.*$/m,
    "mirrors:\n  - prefix: LOCALHOST:5000/team\n    locations: [Mirror.Example/x]",
  );
  assert.match(handWritten, /LOCALHOST/);
  await Deno.writeTextFile(config, handWritten);
  assert.equal(
    (await dz(["add", "mirror", "127.0.0.1:5000/team", "mirror.example/x"])).stderr.includes("already"),
    true,
  );
  assert.equal((await dz(["remove", "mirror", "127.0.0.1:5000/team", "mirror.example/x"])).code, 0);
  assert.equal((await dz(["list", "mirrors", "--json"])).stdout, "[]\n");

  const missing = await dz(["remove", "mirror", "quay.io"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: No mirrors for quay\.io$/m);
  const bad = await dz(["add", "mirror", "docker.io", "http://plain.example"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Invalid mirror location "http:\/\/plain\.example"$/m);
  assert.equal((await dz(["add", "mirror", "docker.io", "docker.io"])).code, 2);
});

Deno.test("config.yaml mirrors: and cross_check: are validated, errors naming the field", async (t) => {
  const cases: { name: string; yaml: string; field: RegExp }[] = [
    { name: "not a list", yaml: "mirrors: docker.io\n", field: /mirrors must be a list/ },
    {
      name: "unknown key",
      yaml: "mirrors:\n  - prefix: docker.io\n    locations: [m.example]\n    mode: all\n",
      field: /mirrors\[0\]\.mode is not a known setting/,
    },
    {
      name: "bad mode",
      yaml: "mirrors:\n  - prefix: docker.io\n    locations: [m.example]\n    pull_from_mirror: tags\n",
      field: /mirrors\[0\]\.pull_from_mirror must be all or digest-only/,
    },
    {
      name: "no locations",
      yaml: "mirrors:\n  - prefix: docker.io\n    locations: []\n",
      field: /mirrors\[0\]\.locations must list at least one location/,
    },
    {
      name: "bad location",
      yaml: 'mirrors:\n  - prefix: docker.io\n    locations: ["m example"]\n',
      field: /mirrors\[0\]\.locations\[0\] must be a host/,
    },
    {
      name: "duplicate prefix (aliases are one host)",
      yaml: "mirrors:\n  - prefix: docker.io\n    locations: [a.example]\n  - prefix: index.docker.io\n" +
        "    locations: [b.example]\n",
      field: /mirrors\[1\]\.prefix "docker\.io" is used twice/,
    },
    {
      name: "insecure not a boolean",
      yaml: "mirrors:\n  - prefix: docker.io\n    locations: [a.example]\n    insecure: yes please\n",
      field: /mirrors\[0\]\.insecure must be true or false/,
    },
    {
      name: "cross_check on a registry with a policy",
      yaml: "registries:\n  - name: corp\n    url: ghcr.io/corp\n    cross_check: [mirror.example]\n" +
        "    cosign_policy: { public_key: /k.pub }\n",
      field: /registries\[0\]\.cross_check is only for registries without a cosign_policy/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using home = await tempHome();
      await Deno.mkdir(home.layout.configDir, { recursive: true });
      await Deno.writeTextFile(home.layout.configFile, `version: 1\n${c.yaml}`);
      const r = await runDz(["list", "mirrors"], { home: home.path });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, c.field);
    });
  }
});

Deno.test("dz doctor reports each mirror location that cannot be reached as mirror-unreachable, subject the location", async () => {
  await using live = await startFakeRegistry();
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadHost = `127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
  dead.close();
  await using home = await tempHome();
  const dz = (argv: string[]) =>
    runDz(argv, { home: home.path, env: { DZ_NO_TUF: "1", DZ_HTTP_TIMEOUT_MS: "2000" } });
  assert.equal((await dz(["add", "mirror", "docker.io/chainguard", `${live.host}/cg`])).code, 0);
  assert.equal((await dz(["add", "mirror", "docker.io/chainguard", `${deadHost}/cg`])).code, 0);
  const r = await dz(["doctor", "--json"]);
  const report = JSON.parse(r.stdout);
  const mirrors = report.findings.filter((f: { kind: string }) => f.kind === "mirror-unreachable");
  assert.equal(mirrors.length, 1, r.stdout);
  assert.equal(mirrors[0].subject, `${deadHost}/cg`);
  assert.equal(mirrors[0].severity, "warning");
  assert.match(mirrors[0].message, /falls back to the next location or the upstream/);
  assert.equal(r.code, 1);
  const text = await dz(["doctor"]);
  assert.match(
    text.stdout,
    new RegExp(`^Mirrors:\\n  warning mirror ${deadHost}/cg \\(for docker\\.io/chainguard\\)`, "m"),
  );
});

Deno.test("dz list mirrors without mirrors: a hint on stderr, nothing on stdout; add and remove say what changed", async () => {
  await using home = await tempHome();
  const dz = (argv: string[]) => runDz(argv, { home: home.path });
  const none = await dz(["list", "mirrors"]);
  assert.deepEqual([none.code, none.stdout], [0, ""]);
  assert.match(none.stderr, /No mirrors configured\. Add one with "dz add mirror <prefix> <location>"\./);
  const digestOnly = await dz(["add", "mirror", "docker.io", "127.0.0.1:5000", "--digest-only"]);
  assert.equal(digestOnly.stdout, "");
  assert.match(
    digestOnly.stderr,
    /^Added mirror 127\.0\.0\.1:5000 for docker\.io \(digest-only: tags still resolve upstream\)$/m,
  );
  const wrong = await dz(["remove", "mirror", "docker.io", "10.0.0.1:5000"]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^error: No mirror 10\.0\.0\.1:5000 for docker\.io$/m);
  assert.match(wrong.stderr, /^hint: Run "dz list mirrors"/m);
  const one = await dz(["remove", "mirror", "docker.io", "127.0.0.1:5000"]);
  assert.match(one.stderr, /^Removed mirror 127\.0\.0\.1:5000 for docker\.io$/m);
  assert.equal((await dz(["add", "mirror", "docker.io", "127.0.0.1:5000"])).code, 0);
  assert.match((await dz(["remove", "mirror", "docker.io"])).stderr, /^Removed the mirrors for docker\.io$/m);
  const self = await dz(["add", "mirror", "ghcr.io/x", "GHCR.io/x"]);
  assert.equal(self.code, 2);
  assert.match(self.stderr, /is the prefix itself/);
  assert.equal((await dz(["add", "mirror", "docker.io"])).code, 2, "a location is required");
});
