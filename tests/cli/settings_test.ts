import assert from "node:assert/strict";
import { readSettings } from "../../src/cli/settings.ts";

Deno.test("readSettings parses the environment once, with defaults for absent or bad values", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.deepEqual(readSettings(env({})), {
    offline: false,
    noTuf: false,
    httpTimeoutMs: 30_000,
    lockTimeoutMs: 60_000,
    dockerHubApi: undefined,
    noColor: false,
    dumbTerminal: false,
    columns: undefined,
  });
  assert.deepEqual(
    readSettings(env({
      DZ_OFFLINE: "1",
      DZ_NO_TUF: "1",
      DZ_HTTP_TIMEOUT_MS: "2000",
      DZ_LOCK_TIMEOUT_MS: "0",
      DZ_DOCKER_HUB_API: "http://127.0.0.1:1",
      NO_COLOR: "1",
      TERM: "dumb",
      COLUMNS: "60",
    })),
    {
      offline: true,
      noTuf: true,
      httpTimeoutMs: 2000,
      lockTimeoutMs: 0,
      dockerHubApi: "http://127.0.0.1:1",
      noColor: true,
      dumbTerminal: true,
      columns: 60,
    },
  );
  const bad = readSettings(
    env({ DZ_HTTP_TIMEOUT_MS: "0", DZ_LOCK_TIMEOUT_MS: "soon", COLUMNS: "-3", NO_COLOR: "" }),
  );
  assert.deepEqual([bad.httpTimeoutMs, bad.lockTimeoutMs, bad.columns, bad.noColor], [
    30_000,
    60_000,
    undefined,
    false,
  ]);
});
