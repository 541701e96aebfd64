// Durations as the inputs and rules spell them: `30s`, `30m`, `24h`, `7d`, `2w`, `1d12h`.

const DURATION_UNITS_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses durations such as `30s`, `30m`, `24h`, `7d`, `2w` or `1d12h` into milliseconds; undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim().toLowerCase();
  if (!/^(\d+\s*[smhdw]\s*)+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+)\s*([smhdw])/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number);
  }
  return total;
}

/** The largest whole unit: 90000 → "90s", 600000 → "10m". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(DURATION_UNITS_MS).reverse()) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
