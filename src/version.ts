import meta from "../deno.json" with { type: "json" };

/** dz's version, read from deno.json at build time so the compiled binary carries it. */
export const VERSION: string = meta.version;

/** The User-Agent every registry request sends. */
export const USER_AGENT = `dz/${VERSION} (+https://github.com/dropzone/dz)`;
