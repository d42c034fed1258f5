import assert from "node:assert/strict";
import { join } from "node:path";
import type { ShimPlan } from "../../src/shim/plan.ts";
import { isDzWrapper, renderWrapper, shellQuote, WRAPPER_MARKER } from "../../src/shim/wrapper.ts";
import { writeWrapper } from "../../src/shim/write.ts";
import { run } from "../support/shim_fixtures.ts";

/** Every character the Go predecessor left unquoted, plus quotes, expansions and a newline. */
const NASTY = `a b'c"d$HOME \`id\` ;|&()<>*?[]{}~# $(x) \\ é\nline2`;

/** A program (a host sh script) that prints its argv and a few variables, NUL-separated. */
const PRINTER = `#!/bin/sh
printf '%s\\0' "$0" "$@"
printf 'FOO=%s\\0' "\${FOO-<unset>}"
printf 'LANG=%s\\0' "\${LANG-<unset>}"
printf 'ROOT=%s\\0' "\${ROOT-<unset>}"
printf 'DYLD=%s\\0' "\${DYLD_FALLBACK_LIBRARY_PATH-<unset>}"
`;

function staticPlan(overrides: Partial<ShimPlan> = {}): ShimPlan {
  return {
    name: "tool",
    entrypoint: {
      argv: ["/opt/p r;o|g/print"],
      path: `/opt/${NASTY}/print`,
      resolved: `/opt/${NASTY}/print`,
    },
    kind: "elf-static",
    exec: `/opt/${NASTY}/print`,
    argv0: { kind: "invoked" },
    libraryPath: [],
    argv0Supported: false,
    inhibitCache: false,
    bakedArgs: [NASTY, "", "-x"],
    defaultArgs: [],
    env: [
      {
        name: "FOO",
        value: [{ kind: "root", path: `/etc/${NASTY}` }, { kind: "text", text: ":/x'y" }],
        mode: "set",
        source: "image",
      },
      { name: "LANG", value: [{ kind: "text", text: "C.UTF-8" }], mode: "default", source: "image" },
    ],
    extraBins: [],
    ...overrides,
  };
}

async function setup(plan: ShimPlan, name = NASTY) {
  const base = await Deno.makeTempDir({ prefix: "dz-wrap-" });
  const packagesDir = join(base, `pk ${NASTY}`);
  const root = join(packagesDir, name, "current", "rootfs");
  await Deno.mkdir(join(root, "opt", NASTY), { recursive: true });
  await Deno.writeTextFile(join(root, plan.exec), PRINTER);
  await Deno.chmod(join(root, plan.exec), 0o755);
  const text = renderWrapper(plan, { packagesDir, name, digest: "sha256:" + "a".repeat(64) });
  const binDir = join(base, "bin");
  const wrapperName = name.replaceAll("\n", "_").replaceAll("/", "_");
  await writeWrapper(binDir, wrapperName, text);
  return { base, root, text, wrapper: join(binDir, wrapperName) };
}

function parse(stdout: string): string[] {
  return stdout.split("\0").slice(0, -1);
}

Deno.test("shellQuote() round-trips through sh", async () => {
  for (const value of [NASTY, "", "'", "''", "\\'"]) {
    const out = await run("sh", ["-c", `printf '%s' ${shellQuote(value)}`]);
    assert.equal(out.stdout, value);
  }
});

Deno.test("renderWrapper() starts with the shebang and marker and escapes the metadata line", () => {
  const text = renderWrapper(staticPlan({ name: "x\ny" }), {
    packagesDir: "/p",
    name: "x\ny",
    digest: "sha256:1",
  });
  const lines = text.split("\n");
  assert.equal(lines[0], "#!/bin/sh");
  assert.equal(lines[1], WRAPPER_MARKER);
  assert.equal(lines[2], `# name="x\\ny" package="x\\ny" digest="sha256:1"`);
  assert.ok(isDzWrapper(text));
});

Deno.test("renderWrapper() quotes every path, argument and env value: sh -n passes and argv arrives intact", async () => {
  const plan = staticPlan();
  const { base, root, text, wrapper } = await setup(plan);
  try {
    for (const shell of ["sh", "bash", "dash"]) {
      const check = await run(shell, ["-n", wrapper]).catch(() => null);
      if (check) assert.equal(check.code, 0, `${shell} -n: ${check.stderr}`);
    }
    assert.ok(text.includes(`"$ROOT"'/opt/`), 'path suffixes are single-quoted after "$ROOT"');
    const out = await run(wrapper, [NASTY, "*", "$HOME"], { env: { ROOT: "user's root" } });
    assert.equal(out.code, 0, out.stderr);
    const realRoot = await Deno.realPath(root);
    const got = parse(out.stdout);
    assert.equal(await Deno.realPath(got[0]!), await Deno.realPath(join(root, plan.exec)));
    assert.ok(got[0]!.startsWith(root) || got[0]!.startsWith(realRoot));
    assert.deepEqual(got.slice(1, 7), [NASTY, "", "-x", NASTY, "*", "$HOME"]);
    assert.equal(got[7], `FOO=${root}/etc/${NASTY}:/x'y`);
    assert.equal(got[9], "ROOT=user's root", "a ROOT exported by the user is restored before exec");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("renderWrapper() leaves ROOT unset, applies defaults only when unset, and uses Cmd only without arguments", async () => {
  const plan = staticPlan({ bakedArgs: ["--baked"], defaultArgs: ["--default", NASTY] });
  const { base, wrapper } = await setup(plan, "plain");
  try {
    const clean = parse((await run(wrapper, [], { env: { LANG: "" }, clearEnv: true })).stdout);
    assert.deepEqual(clean.slice(1, 4), ["--baked", "--default", NASTY]);
    assert.equal(clean[5], "LANG=", "an empty but set LANG is the user's choice");
    assert.equal(clean[6], "ROOT=<unset>");
    const unset = parse((await run(wrapper, ["given"], { clearEnv: true })).stdout);
    assert.deepEqual(unset.slice(1, 3), ["--baked", "given"]);
    assert.equal(unset[4], "LANG=C.UTF-8");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("renderWrapper() for macOS keeps dyld's default fallback dirs or the user's value, with no trailing colon", async () => {
  const plan = staticPlan({ kind: "macho", libraryPath: ["/usr/lib", "/lib"], env: [] });
  const { base, root, wrapper } = await setup(plan, "mac");
  try {
    const unset = parse((await run(wrapper, [], { clearEnv: true })).stdout);
    assert.equal(unset.at(-1), `DYLD=${root}/usr/lib:${root}/lib:/usr/local/lib:/usr/lib`);
    const user = parse((await run(wrapper, [], { env: { DYLD_FALLBACK_LIBRARY_PATH: "/mine" } })).stdout);
    assert.equal(user.at(-1), `DYLD=${root}/usr/lib:${root}/lib:/mine`);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("renderWrapper() for a dynamic ELF passes loader options before the program", () => {
  const text = renderWrapper(
    staticPlan({
      kind: "elf-dynamic",
      loader: "/lib/ld-linux-x86-64.so.2",
      libraryPath: ["/usr/lib/x86_64-linux-gnu", "/usr/lib"],
      argv0Supported: true,
      inhibitCache: true,
      exec: "/usr/bin/tool",
      bakedArgs: [],
      env: [],
    }),
    { packagesDir: "/p", name: "tool", digest: "sha256:1" },
  );
  assert.ok(
    text.includes(
      `set -- "$ROOT"'/lib/ld-linux-x86-64.so.2' \\\n  --inhibit-cache \\\n  --library-path "$ROOT"'/usr/lib/x86_64-linux-gnu:'"$ROOT"'/usr/lib' \\\n  --argv0 "$0" \\\n  "$ROOT"'/usr/bin/tool' \\\n  "$@"`,
    ),
    text,
  );
  assert.ok(!text.includes("LD_LIBRARY_PATH"));
  assert.ok(text.includes(`ROOT='/p/tool/current/rootfs'`));
});

Deno.test("renderWrapper() refuses a dynamic wrapper whose ROOT contains a loader list separator", () => {
  assert.throws(
    () =>
      renderWrapper(staticPlan({ kind: "elf-dynamic", loader: "/ld", libraryPath: ["/lib"] }), {
        packagesDir: "/a:b",
        name: "t",
        digest: "sha256:1",
      }),
    /contains ":" or ";"/,
  );
});

Deno.test("isDzWrapper() looks for the marker in the first 3 lines only", () => {
  assert.ok(isDzWrapper(`#!/bin/sh\n${WRAPPER_MARKER}\n`));
  assert.ok(isDzWrapper(`#!/bin/sh\r\n${WRAPPER_MARKER}\r\n`));
  assert.ok(!isDzWrapper(`#!/bin/sh\n\n\n${WRAPPER_MARKER}\n`));
  assert.ok(!isDzWrapper("#!/bin/sh\n# dropzone-wrapper jq sha256:1\n"));
  assert.ok(!isDzWrapper(""));
});
