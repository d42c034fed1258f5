/** dz's version and User-Agent, read from deno.json at build time so the compiled binary carries them. */
import meta from "../deno.json" with { type: "json" };

/** dz's version (deno.json "version"). */
export const VERSION: string = meta.version;

/** The User-Agent every registry request sends. */
export const USER_AGENT = `dz/${VERSION} (+https://github.com/dropzone/dz)`;
