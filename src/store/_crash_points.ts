/** Crash points for the store's multi-step operations; defined in src/crash_points.ts (bottom layer). */
export * from "../crash_points.ts";
