/** The start-up fast path (main.ts → src/cli/fast_path.ts) answers exactly as the full command tree does. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HOME_MARKER, storeLayout } from "../../src/store/layout.ts";
import { writePin } from "../../src/store/pins.ts";
import { removeTree } from "../../src/fs.ts";
import { runDz, spawnDz } from "../support/cli_harness.ts";
import { installVersion } from "../support/store_fixtures.ts";

Deno.test("dz --version, __complete packages and list [--json] print the same through the fast path as through the full CLI", async () => {
  const home = await Deno.makeTempDir({ prefix: "dz-fast-" });
  try {
    await Deno.writeTextFile(`${home}/${HOME_MARKER}`, "");
    await runDz(["list"], { home }); // seed config.yaml like any first run
    for (const name of ["jq", "yq", "b-tool"]) await installVersion(storeLayout(home), name, "1");
    // Left out by both paths: a package whose current is dangling, one without current, a staging leftover.
    await Deno.mkdir(`${home}/packages/dangling`);
    await Deno.symlink(`sha256-${"0".repeat(64)}`, `${home}/packages/dangling/current`);
    await Deno.mkdir(`${home}/packages/nocurrent`);
    await Deno.mkdir(`${home}/packages/.staging-x`);
    for (const argv of [["--version"], ["-V"], ["__complete", "packages"], ["list"], ["list", "--json"]]) {
      const fast = await spawnDz(argv, { home });
      const full = await runDz(argv, { home });
      assert.deepEqual(fast, full, argv.join(" "));
      assert.notEqual(fast.stdout, "", argv.join(" "));
    }
  } finally {
    await removeTree(home);
  }
});

Deno.test("dz list through the fast path initialises a fresh home like the full CLI", async () => {
  const homes = [
    await Deno.makeTempDir({ prefix: "dz-fast-" }),
    await Deno.makeTempDir({ prefix: "dz-fast-" }),
  ];
  try {
    const fast = await spawnDz(["list"], { home: homes[0]! });
    const full = await runDz(["list"], { home: homes[1]! });
    assert.equal(fast.code, full.code);
    assert.equal(fast.stdout, full.stdout);
    assert.equal(fast.stderr.replaceAll(homes[0]!, "HOME"), full.stderr.replaceAll(homes[1]!, "HOME"));
    assert.match(fast.stderr, /initialised/);
    await Deno.lstat(`${homes[0]}/config/config.yaml`);
  } finally {
    for (const h of homes) await removeTree(h);
  }
});

/** Homes the fast path must answer for exactly as the full CLI does; `home` may not exist yet. */
const STORES: ReadonlyArray<{ name: string; build: (home: string) => Promise<void>; expect: RegExp }> = [
  {
    name: "damaged and pinned packages",
    build: async (home) => {
      const layout = storeLayout(home);
      await runDz(["list"], { home });
      const jq = await installVersion(layout, "jq", "1");
      await writePin(layout, "jq", jq.digest, new Date("2026-12-01T00:00:00Z"));
      const yq = await installVersion(layout, "yq", "1");
      await Deno.writeTextFile(join(yq.dir, "metadata.json"), "{");
      const gone = await installVersion(layout, "gone", "1");
      await removeTree(gone.rootfs);
      await Deno.mkdir(join(layout.packages, "dangling"));
      await Deno.symlink(`sha256-${"0".repeat(64)}`, join(layout.packages, "dangling", "current"));
      // A name with a terminal escape in it: both paths print it sanitised.
      await installVersion(layout, "esc\u001b]0;x", "1");
    },
    expect: /DAMAGED|"damaged"|^jq$/m,
  },
  {
    name: "an empty store",
    build: async (home) => void await runDz(["list"], { home }),
    expect: /No packages installed|^\[\]\n$|^$/,
  },
  { name: "a home that does not exist yet", build: async () => {}, expect: /initialised|^$/ },
  {
    name: "a broken config.yaml",
    build: async (home) => {
      await runDz(["list"], { home });
      await installVersion(storeLayout(home), "jq", "1");
      await Deno.writeTextFile(join(home, "config", "config.yaml"), "registries: [\n  - {{{\n");
    },
    expect: /jq/,
  },
  {
    name: "a directory dz did not create",
    build: async (home) => {
      await Deno.mkdir(home, { recursive: true });
      await Deno.writeTextFile(join(home, "notes.txt"), "mine\n");
    },
    expect: /^error: .*not created by dz|^$/,
  },
];

const ARGVS = [["list"], ["list", "--json"], ["ls"], ["ls", "--json"], ["__complete", "packages"]];

for (const store of STORES) {
  Deno.test(`the fast path prints what the full CLI prints (stdout, stderr, exit code) for ${store.name}`, async () => {
    const root = await Deno.makeTempDir({ prefix: "dz-fast-" });
    try {
      for (const [i, argv] of ARGVS.entries()) {
        // Two identical homes: the first run may initialise the home, so each path gets its own.
        const homes = [join(root, `${i}-fast`, "home"), join(root, `${i}-full`, "home")] as const;
        for (const home of homes) await store.build(home);
        const fast = await spawnDz(argv, { home: homes[0] });
        const full = await runDz(argv, { home: homes[1] });
        const label = `${argv.join(" ")} (${store.name})`;
        assert.equal(fast.code, full.code, label);
        assert.equal(
          fast.stdout.replaceAll(homes[0], "HOME"),
          full.stdout.replaceAll(homes[1], "HOME"),
          label,
        );
        assert.equal(
          fast.stderr.replaceAll(homes[0], "HOME"),
          full.stderr.replaceAll(homes[1], "HOME"),
          label,
        );
        assert.match(fast.stdout + fast.stderr, store.expect, label);
        assert.ok(
          !(fast.stdout + fast.stderr).includes("\u001b"),
          `${label}: an escape reached the terminal`,
        );
      }
    } finally {
      await removeTree(root);
    }
  });
}

Deno.test("the fast path loads no node: module: --version, completion and a healthy dz list stay off Deno's Node layer", async () => {
  // The first node: import of a process costs ~15 ms (README "Start-up"); this walks the modules the fast path
  // and plain `dz list` load (static imports, plus list's two dynamic ones), not the error path.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../../src/cli/fast_path.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(out.code, 0);
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { specifier: string; isDynamic?: boolean; code?: { specifier?: string } }[];
    }[];
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const root = new URL("../../src/cli/", import.meta.url).href;
  const pending = ["fast_path.ts", "context.ts", "commands/list.ts"].map((f) => root + f);
  const seen = new Set<string>();
  const nodeImports: string[] = [];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic) continue;
      if (dep.specifier.startsWith("node:")) {
        nodeImports.push(`${specifier.slice(root.length - 4)} → ${dep.specifier}`);
      } else if (dep.code?.specifier) pending.push(dep.code.specifier);
    }
  }
  assert.ok(seen.size > 10, "the walk found the modules");
  assert.deepEqual(nodeImports, []);
});
