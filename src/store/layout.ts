/** Paths of the dz home. Pure: no I/O. */
import { join } from "../path.ts";

/** Every path dz writes below its home. */
export interface StoreLayout {
  readonly home: string;
  readonly bin: string;
  readonly packages: string;
  readonly cache: string;
  /** Content-addressed blob cache: cache/blobs/sha256/<hex>. */
  readonly blobs: string;
  /** Layer snapshot store: cache/layers/sha256-<hex>/ (see layer_store.ts). */
  readonly layers: string;
  readonly configDir: string;
  readonly configFile: string;
  /** What the last parse of config.yaml produced, bound to its bytes (see config_values.ts readConfig). */
  readonly parsedConfig: string;
  readonly authFile: string;
  /** Store-wide lock file for mutating commands. */
  readonly lockFile: string;
  /** Marker that proves a directory is a dz home (purge refuses anything else). */
  readonly marker: string;
}

/** The file whose presence marks a dz home. */
export const HOME_MARKER = ".dropzone-home";

/** Resolves the dz home: $DROPZONE_HOME, else ~/.dropzone. */
export function resolveHome(env: (name: string) => string | undefined, homeDir: string): string {
  const explicit = env("DROPZONE_HOME");
  return explicit && explicit.length > 0 ? explicit : join(homeDir, ".dropzone");
}

/** Builds the layout for a home directory. */
export function storeLayout(home: string): StoreLayout {
  return {
    home,
    bin: join(home, "bin"),
    packages: join(home, "packages"),
    cache: join(home, "cache"),
    blobs: join(home, "cache", "blobs", "sha256"),
    layers: join(home, "cache", "layers"),
    configDir: join(home, "config"),
    configFile: join(home, "config", "config.yaml"),
    parsedConfig: join(home, "cache", "config.parsed.json"),
    authFile: join(home, "auth.json"),
    lockFile: join(home, ".lock"),
    marker: join(home, HOME_MARKER),
  };
}
