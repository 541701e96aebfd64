import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './durations.js';

describe('parseDuration', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['24h', 24 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1d12h', 36 * 3_600_000],
    [' 1D 12H ', 36 * 3_600_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '24', 'h', '1y', '1.5h', '-1h', '24 hours'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats durations in their largest whole unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(600_000)).toBe('10m');
    expect(formatDuration(6 * 3_600_000)).toBe('6h');
  });
});
