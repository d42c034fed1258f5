/** Writes a dz.lock document (the format is described in app/lockfile.ts, which parses it). */
import { stringify } from "yaml";
import type { Lockfile } from "../app/lockfile.ts";

/** Renders a lockfile. Pure; stable order (by name), so `dz lock` twice writes the same bytes. */
export function renderLockfile(lock: Lockfile): string {
  const sorted = { version: 1, packages: [...lock.packages].sort((a, b) => a.name.localeCompare(b.name)) };
  return "# dz.lock: written by `dz lock`; install with `dz install --locked`. Do not edit by hand.\n" +
    stringify(sorted, { lineWidth: 0 });
}
