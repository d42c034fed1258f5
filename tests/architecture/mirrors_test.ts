/**
 * Architecture guard for issue 10 item 7: every module with logic in the layers listed here has its mirrored test
 * (`src/X/Y.ts` -> `tests/X/Y_test.ts`). Types-only modules are exempt, and the exemption is checked too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

/** Every folder of src/ ("" is src/*.ts): each module with logic has its mirror. */
const MIRRORED_LAYERS: readonly string[] = [
  "",
  "oci",
  "host",
  "registry",
  "unpack",
  "shim",
  "verify",
  "store",
  "app",
  "cli",
  "cli/commands",
];

/** Modules that only declare types: nothing to run, so nothing to test. */
const TYPES_ONLY: ReadonlySet<string> = new Set([
  "registry/types.ts",
  "verify/types.ts",
  "app/store_access.ts",
]);

/** A runtime export: a function, class, value, or a re-export of values. */
const RUNTIME_EXPORT = /^export\s+(?:async\s+)?(?:function|class|const|let|var|enum)\b|^export\s+(?:\{|\*)/m;

async function modules(root: string, layer: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(root, "src", layer))) {
    if (entry.isFile && entry.name.endsWith(".ts")) out.push(layer ? `${layer}/${entry.name}` : entry.name);
  }
  return out.sort();
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Modules of `layers` in the checkout at `root` with logic and no `tests/X/Y_test.ts`. */
async function missingMirrors(layers: readonly string[], root = "."): Promise<string[]> {
  const missing: string[] = [];
  for (const layer of layers) {
    for (const module of await modules(root, layer)) {
      if (TYPES_ONLY.has(module)) continue;
      if (!await exists(join(root, "tests", module.replace(/\.ts$/, "_test.ts")))) {
        missing.push(`src/${module}`);
      }
    }
  }
  return missing;
}

Deno.test("every module with logic in the mirrored layers has tests/X/Y_test.ts", async () => {
  assert.deepStrictEqual(await missingMirrors(MIRRORED_LAYERS), []);
});

Deno.test("the mirrored layers are every folder of src/", async () => {
  const folders: string[] = [""];
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(join("src", rel))) {
      if (!entry.isDirectory) continue;
      const sub = rel ? `${rel}/${entry.name}` : entry.name;
      folders.push(sub);
      await walk(sub);
    }
  };
  await walk("");
  assert.deepStrictEqual([...MIRRORED_LAYERS].sort(), folders.sort());
});

Deno.test("the mirror guard reports a module without its test, in src/ and in a folder", async () => {
  const root = await Deno.makeTempDir({ prefix: "dz-mirrors-" });
  try {
    for (const dir of ["src/oci", "tests/oci"]) await Deno.mkdir(join(root, dir), { recursive: true });
    for (
      const file of [
        "src/a.ts",
        "src/b.ts",
        "src/oci/c.ts",
        "src/oci/d.ts",
        "tests/b_test.ts",
        "tests/oci/d_test.ts",
      ]
    ) {
      await Deno.writeTextFile(join(root, file), "export const x = 1;\n");
    }
    assert.deepStrictEqual(await missingMirrors(["", "oci"], root), ["src/a.ts", "src/oci/c.ts"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the modules exempt as types-only export no runtime value", async () => {
  for (const module of TYPES_ONLY) {
    const text = await Deno.readTextFile(join("src", module));
    assert.doesNotMatch(
      text,
      RUNTIME_EXPORT,
      `src/${module} exports a runtime value: give it a mirrored test`,
    );
  }
});

Deno.test("RUNTIME_EXPORT tells value exports from type exports", () => {
  for (
    const value of [
      "export function f() {}",
      "export async function f() {}",
      "export const X = 1;",
      "export class C {}",
      "export { a } from './a.ts';",
      "export * from './a.ts';",
    ]
  ) {
    assert.match(value, RUNTIME_EXPORT, value);
  }
  for (
    const type of ["export interface I {}", "export type T = string;", "export type { T } from './a.ts';"]
  ) {
    assert.doesNotMatch(type, RUNTIME_EXPORT, type);
  }
});
