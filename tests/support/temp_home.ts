/** A throwaway dz home for tests: `await using home = await tempHome()`. */
import { HOME_MARKER, type StoreLayout, storeLayout } from "../../src/store/layout.ts";
import { removeTree } from "../../src/fs.ts";
import { join } from "node:path";

/** A temporary dz home, removed (read-only trees included) on dispose. */
export interface TempHome extends AsyncDisposable {
  readonly path: string;
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
  const path = await Deno.makeTempDir({ prefix: "dz-home-" });
  if (marker) await Deno.writeTextFile(join(path, HOME_MARKER), "");
  return {
    path,
    layout: storeLayout(path),
    async [Symbol.asyncDispose]() {
      await removeTree(path);
    },
  };
}
