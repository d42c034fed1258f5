/**
 * dz's environment settings, parsed once per invocation into one typed object (the README's Environment table).
 * Nothing else reads DZ_* variables (except DZ_PROFILE, see profile.ts); bad numbers fall back to the defaults.
 */

/** The settings that come from the environment. */
export interface Settings {
  /** DZ_OFFLINE=1: answer from the cache only. */
  readonly offline: boolean;
  /** DZ_NO_TUF=1: never contact the Sigstore TUF mirror. */
  readonly noTuf: boolean;
  /** DZ_HTTP_TIMEOUT_MS: registry request timeout. @default {30000} */
  readonly httpTimeoutMs: number;
  /** DZ_LOCK_TIMEOUT_MS: how long a mutating command waits for another dz. @default {60000} */
  readonly lockTimeoutMs: number;
  /** DZ_DOCKER_HUB_API: Docker Hub's web API for `dz search` (tests point it at a loopback server). */
  readonly dockerHubApi: string | undefined;
  /** NO_COLOR (any non-empty value): no colour. */
  readonly noColor: boolean;
  /** TERM=dumb: no redrawn lines, no colour. */
  readonly dumbTerminal: boolean;
  /** COLUMNS: the width when the terminal does not report one. */
  readonly columns: number | undefined;
}

function integer(text: string | undefined, min: number, fallback: number | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && text.trim() !== "" && Number.isInteger(n) && n >= min ? n : fallback;
}

/** Parses the settings from `env`. Pure. */
export function readSettings(env: (name: string) => string | undefined): Settings {
  return {
    offline: env("DZ_OFFLINE") === "1",
    noTuf: env("DZ_NO_TUF") === "1",
    httpTimeoutMs: integer(env("DZ_HTTP_TIMEOUT_MS"), 1, 30_000)!,
    // 0 is allowed: fail at once when another dz holds the lock.
    lockTimeoutMs: integer(env("DZ_LOCK_TIMEOUT_MS"), 0, 60_000)!,
    dockerHubApi: env("DZ_DOCKER_HUB_API") || undefined,
    noColor: (env("NO_COLOR") ?? "") !== "",
    dumbTerminal: env("TERM") === "dumb",
    columns: integer(env("COLUMNS"), 1, undefined),
  };
}
