import assert from "node:assert/strict";
import { DropzoneError } from "../../src/errors.ts";
import {
  addRegistryToDoc,
  CHAINGUARD_POLICY,
  loadConfig,
  parseConfigText,
  removeRegistryFromDoc,
  revalidate,
  saveConfig,
  seedConfigText,
  setDefaultRegistryInDoc,
} from "../../src/store/config.ts";

Deno.test("seedConfigText() seeds chainguard with the exact Chainguard identity", () => {
  const { config } = parseConfigText(seedConfigText(), "config.yaml");
  assert.equal(config.default_registry, "chainguard");
  assert.equal(config.always_allow_unsigned, false);
  assert.deepEqual(config.registries, [{
    name: "chainguard",
    url: "docker.io/chainguard",
    cosign_policy: {
      issuer: "https://token.actions.githubusercontent.com",
      identity: "https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main",
    },
  }]);
  assert.deepEqual(config.registries[0]!.cosign_policy, CHAINGUARD_POLICY);
});

Deno.test("parseConfigText() names the bad field", async (t) => {
  const cases: [string, RegExp][] = [
    ["version: 1\nregistries: {}\n", /registries must be a list/],
    ["registries:\n  - name: a\n", /registries\[0\]\.url is required/],
    ["registries:\n  - name: a.b\n    url: x.io\n", /registries\[0\]\.name may hold only/],
    [
      "registries:\n  - name: a\n    url: x.io\n  - name: a\n    url: y.io\n",
      /registries\[1\]\.name "a" is used twice/,
    ],
    [
      "registries:\n  - name: a\n    url: x.io\n    cosign_policy:\n      issuer: https://i\n",
      /cosign_policy\.identity is required/,
    ],
    [
      "registries:\n  - name: a\n    url: x.io\n    cosign_policy:\n      issuer: i\n      identity_regex: '('\n",
      /identity_regex is not a valid regular expression/,
    ],
    ["default_registry: nope\nregistries: []\n", /default_registry names "nope"/],
    ["always_allow_unsigned: yes please\n", /always_allow_unsigned must be true or false/],
    ["colour: blue\n", /colour is not a known setting/],
    ["keep_versions: -1\n", /keep_versions must be an integer/],
    ["registries:\n  - just-a-name\n", /registries\[0\] must be a mapping/],
    [
      "registries:\n  - name: a\n    url: x.io\n    colour: blue\n",
      /registries\[0\]\.colour is not a known setting/,
    ],
    [
      "registries:\n  - name: a\n    url: x.io\n    cosign_policy:\n      public_key: k\n      colour: blue\n",
      /registries\[0\]\.cosign_policy\.colour is not a known setting/,
    ],
    [
      "registries:\n  - name: a\n    url: x.io\n    min_release_age: soon\n",
      /registries\[0\]\.min_release_age must look like/,
    ],
    ["min_release_age: 3 days\n", /^Invalid config config\.yaml: min_release_age must look like/],
    ["mirrors: docker.io\n", /mirrors must be a list/],
    ["mirrors:\n  - docker.io\n", /mirrors\[0\] must be a mapping/],
    [
      "mirrors:\n  - prefix: docker.io\n    locations: [m.example]\n    colour: x\n",
      /mirrors\[0\]\.colour is not a known setting/,
    ],
    ["registries: [\n", /Invalid config/],
    ...["[]", "[signature, cosign]", "signature", "[provenance, provenance]"].map((
      accept,
    ): [string, RegExp] => [
      `registries:\n  - name: a\n    url: x.io\n    cosign_policy:\n      issuer: https://i\n      identity: x\n` +
      `      accept: ${accept}\n`,
      /cosign_policy\.accept must be a list of signature and\/or provenance/,
    ]),
  ];
  for (const [text, re] of cases) {
    await t.step(re.source, () => {
      assert.throws(() => parseConfigText(text, "config.yaml"), (e) => {
        return e instanceof DropzoneError && e.code === "CONFIG_INVALID" && re.test(e.message) && !!e.hint;
      });
    });
  }
});

Deno.test("parseConfigText() refuses a newer schema version with an upgrade hint", () => {
  assert.throws(
    () => parseConfigText("version: 2\n", "c.yaml"),
    (e) => e instanceof DropzoneError && e.code === "CONFIG_VERSION" && /Upgrade dz/.test(e.hint ?? ""),
  );
});

Deno.test("addRegistryToDoc() keeps the user's comments and ordering", () => {
  const text = "# my notes\nversion: 1 # inline\ndefault_registry: chainguard\n" +
    "registries:\n  # the main one\n  - name: chainguard\n    url: docker.io/chainguard\n" +
    "    cosign_policy:\n      issuer: https://token.actions.githubusercontent.com\n      identity: x\n";
  const { doc } = parseConfigText(text, "c.yaml");
  addRegistryToDoc(doc, {
    name: "corp",
    url: "ghcr.io/corp",
    cosign_policy: { issuer: "i", identity_regex: "^a$" },
  });
  setDefaultRegistryInDoc(doc, "corp");
  const out = String(doc);
  assert.match(out, /^# my notes\n/);
  assert.match(out, /version: 1 # inline/);
  assert.match(out, /# the main one\n {2}- name: chainguard/);
  assert.ok(out.indexOf("name: chainguard") < out.indexOf("name: corp"));
  const config = revalidate(doc, "c.yaml");
  assert.equal(config.default_registry, "corp");
  assert.equal(config.registries[1]!.cosign_policy!.identity_regex, "^a$");
});

Deno.test("removeRegistryFromDoc() clears the default and the last registry stays removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config.yaml`;
    const first = await loadConfig(path);
    assert.equal(first.seeded, true);
    assert.equal(removeRegistryFromDoc(first.doc, "chainguard"), true);
    assert.equal(removeRegistryFromDoc(first.doc, "chainguard"), false);
    await saveConfig(first);
    const again = await loadConfig(path);
    assert.equal(again.seeded, false);
    assert.deepEqual(again.config.registries, []);
    assert.equal(again.config.default_registry, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseConfigText() reads cosign_policy.accept (signature, provenance or both)", () => {
  const text = (accept: string) =>
    `registries:\n  - name: a\n    url: x.io\n    cosign_policy:\n      issuer: https://i\n      identity: x\n` +
    accept;
  assert.equal(parseConfigText(text(""), "c.yaml").config.registries[0]!.cosign_policy!.accept, undefined);
  for (
    const [yaml, want] of [["[provenance]", ["provenance"]], ["[signature, provenance]", [
      "signature",
      "provenance",
    ]]]
  ) {
    const policy = parseConfigText(text(`      accept: ${yaml}\n`), "c.yaml").config.registries[0]!
      .cosign_policy!;
    assert.deepEqual(policy.accept, want);
  }
});

Deno.test("relative public_key and trusted_root paths resolve against the config directory, never the cwd", () => {
  const text = [
    "version: 1",
    "registries:",
    "  - name: corp",
    "    url: ghcr.io/corp",
    "    cosign_policy:",
    "      public_key: cosign.pub",
    "      trusted_root: ../roots/root.json",
    "  - name: abs",
    "    url: ghcr.io/abs",
    "    cosign_policy:",
    "      public_key: /etc/keys/abs.pub",
    "",
  ].join("\n");
  const { config } = parseConfigText(text, "/home/u/.dropzone/config/config.yaml");
  assert.equal(config.registries[0]!.cosign_policy!.public_key, "/home/u/.dropzone/config/cosign.pub");
  assert.equal(config.registries[0]!.cosign_policy!.trusted_root, "/home/u/.dropzone/roots/root.json");
  assert.equal(config.registries[1]!.cosign_policy!.public_key, "/etc/keys/abs.pub");
});
