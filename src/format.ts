/** Human-readable figures for messages, tables and progress: the one place byte counts are formatted. */

const UNITS = ["KiB", "MiB", "GiB", "TiB"] as const;

/** Scales `n` bytes (≥ 1024) to its binary unit. */
function scale(n: number): { value: number; unit: (typeof UNITS)[number] } {
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return { value, unit: UNITS[unit]! };
}

/** "20 bytes", "4 MiB", "1.5 GiB": binary units, one decimal unless the value is whole (messages, tables). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const { value, unit } = scale(n);
  return `${value.toFixed(Number.isInteger(value) ? 0 : 1)} ${unit}`;
}

/**
 * "0 B", "4.0 MiB": always one decimal from KiB up, for figures that change in place (progress lines), so the
 * line does not jump between "4.9 MiB", "5 MiB" and "5.1 MiB".
 */
export function formatBytesFixed(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const { value, unit } = scale(n);
  return `${value.toFixed(1)} ${unit}`;
}
