/**
 * Architecture guard: imports in src/ only point down the layer order README's Development section documents
 * (main.ts > cli > app > store > verify > registry > shim | unpack > oci | host > src/*.ts), and every product
 * module opens with a doc comment saying what it is for.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

/** Rank per top-level folder of src/; a module may import its own folder, a peer of equal rank, or lower ranks. */
const RANK: Readonly<Record<string, number>> = {
  cli: 7,
  app: 6,
  store: 5,
  verify: 4,
  registry: 3,
  shim: 2,
  unpack: 2,
  oci: 1,
  host: 1,
  "": 0, // src/*.ts
};

/**
 * Relative specifiers of static imports and re-exports (`import x from`, `import type`, `export * from`, the bare
 * side-effect form `import "./x.ts"`) and of dynamic `import("./x.ts")`. `[^;"']*?` keeps a match inside one
 * statement; a false positive fails loudly, which is the safe side for a guard.
 */
const IMPORT =
  /^\s*(?:import|export)\s+(?:type\s+)?(?:[^;"']*?\bfrom\s*)?["'](\.{1,2}\/[^"']+)["']|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/gm;

function layerOf(srcRelative: string): string {
  const parts = srcRelative.split("/");
  return parts.length === 1 ? "" : parts[0]!;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

/** Every import from `srcDir` that points at a higher layer (or out to main.ts), as "from -> to". */
async function upwardImports(srcDir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const file of walk(srcDir)) {
    const text = await Deno.readTextFile(file);
    const from = relative(srcDir, file);
    const fromLayer = layerOf(from);
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      const target = relative(srcDir, normalize(join(dirname(file), spec)));
      if (target === join("..", "main.ts")) {
        found.push(`${from} -> main.ts`); // the entry point is the top layer
        continue;
      }
      if (target.startsWith("..")) continue; // outside src/ (deno.json): not a layer
      const toLayer = layerOf(target);
      if (toLayer === fromLayer) continue;
      const rankFrom = RANK[fromLayer];
      const rankTo = RANK[toLayer];
      if (rankFrom === undefined || rankTo === undefined) {
        found.push(`${from} -> ${target} (unknown layer: add it to RANK and README)`);
      } else if (rankTo >= rankFrom) {
        found.push(`${from} -> ${target}`);
      }
    }
  }
  return found.sort();
}

Deno.test("no module in src/ imports from a layer above it", async () => {
  assert.deepStrictEqual(await upwardImports("src"), []);
});

Deno.test("the layer guard detects upward imports in every import form", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const layer of ["oci", "verify", "store", "registry", "shim", "mystery"]) {
      await Deno.mkdir(join(dir, layer));
    }
    const files: Record<string, string> = {
      "verify/types.ts": "export type X = 1;\n",
      "store/a.ts": "export const a = 1;\n",
      "oci/ref.ts": 'import type { X } from "../verify/types.ts";\n',
      "oci/multi.ts": 'import {\n  a,\n  type B,\n} from "../store/a.ts";\n',
      "oci/side.ts": 'import "../verify/types.ts";\n',
      "oci/reexport.ts": 'export * from "../store/a.ts";\n',
      "oci/dynamic.ts": 'const m = await import("../store/a.ts");\n',
      "shim/peer.ts": 'import "../registry/x.ts";\n',
      "registry/peer.ts": 'import "../shim/x.ts";\nimport "../oci/ref.ts";\n',
      "verify/ok.ts":
        'import "../oci/ref.ts";\nimport { x } from "./types.ts";\nimport { y } from "../util.ts";\n',
      "mystery/m.ts": 'import "../oci/ref.ts";\n',
      "util.ts": 'import "../main.ts";\nimport meta from "../deno.json" with { type: "json" };\n',
    };
    for (const [path, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, path), text);
    assert.deepStrictEqual(await upwardImports(dir), [
      "mystery/m.ts -> oci/ref.ts (unknown layer: add it to RANK and README)",
      "oci/dynamic.ts -> store/a.ts",
      "oci/multi.ts -> store/a.ts",
      "oci/reexport.ts -> store/a.ts",
      "oci/ref.ts -> verify/types.ts",
      "oci/side.ts -> verify/types.ts",
      "shim/peer.ts -> registry/x.ts",
      "util.ts -> main.ts",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every product module starts with a doc comment saying what it is for", async () => {
  const files = ["main.ts"];
  for (const dir of ["src", "scripts"]) for await (const file of walk(dir)) files.push(file);
  const missing: string[] = [];
  for (const file of files) {
    const head = (await Deno.readTextFile(file)).trimStart();
    // "/**" then at least a few words on the first line(s), not an empty or lint-only comment.
    if (!/^\/\*\*\s*(?:\*\s*)?\S[^\n]{8,}/.test(head)) missing.push(file);
  }
  assert.deepStrictEqual(missing.sort(), []);
});
