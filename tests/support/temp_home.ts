/** Throwaway directories for tests: `await using home = await tempHome()`, `await using dir = await tempDir()`. */
import { HOME_MARKER, type StoreLayout, storeLayout } from "../../src/store/layout.ts";
import { removeTree } from "../../src/fs.ts";
import { join } from "node:path";

/** A temporary directory, removed (read-only trees included) on dispose. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Creates a temporary directory under the system temp dir. */
export async function tempDir(prefix = "dz-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await removeTree(path);
    },
  };
}

/** A temporary dz home, removed (read-only trees included) on dispose. */
export interface TempHome extends TempDir {
  readonly layout: StoreLayout;
}

/** Options for {@linkcode tempHome}. */
export interface TempHomeOptions {
  /** Write the dz home marker file. @default {true} */
  marker?: boolean;
}

/** Creates a temporary dz home under the system temp dir. */
export async function tempHome(options: TempHomeOptions = {}): Promise<TempHome> {
  const { marker = true } = options;
  const dir = await tempDir("dz-home-");
  if (marker) await Deno.writeTextFile(join(dir.path, HOME_MARKER), "");
  return { ...dir, layout: storeLayout(dir.path) };
}
