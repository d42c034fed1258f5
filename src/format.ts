/** Human-readable figures for messages and tables: the one `formatBytes`. */

const UNITS = ["KiB", "MiB", "GiB", "TiB"] as const;

/** "20 bytes", "4 MiB", "1.5 GiB": binary units, one decimal unless the value is whole. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(Number.isInteger(value) ? 0 : 1)} ${UNITS[unit]}`;
}
