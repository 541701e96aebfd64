import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/inputs.js';
import { backoffMs, Deadline } from '../../src/retry.js';
import { childEnvironment, describe as describeResult, isRateLimited } from '../../src/sdm.js';

const result = (exitCode: number, stderr: string) => ({ exitCode, stdout: '', stderr, timedOut: false });

describe('sdm command helpers', () => {
  it('gives sdm the environment without the inputs (which hold the tokens) or the runner credentials', () => {
    const env = childEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/runner',
      'INPUT_SDM-ADMIN-TOKEN': 'secret',
      'INPUT_PAGERDUTY-TOKEN': 'secret',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'secret',
      ACTIONS_RUNTIME_TOKEN: 'secret',
      GITHUB_TOKEN: 'secret',
      GITHUB_WORKSPACE: '/w',
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/runner', GITHUB_WORKSPACE: '/w' });
  });

  it('recognises only strongDM rate limiting as worth a retry', () => {
    expect(
      isRateLimited(result(1, "resource exhausted: Sorry! You've made too many requests, try again")),
    ).toBe(true);
    expect(isRateLimited(result(1, 'cannot grant: AlreadyExists'))).toBe(false);
    expect(isRateLimited(result(0, 'resource exhausted'))).toBe(false);
  });

  it('describes a failure in one short line', () => {
    expect(describeResult(result(1, 'line one\nline two'))).toBe('exit 1: line one line two');
    expect(describeResult({ ...result(-1, ''), timedOut: true })).toMatch(/sdm-timeout/);
    expect(describeResult({ ...result(-1, ''), cancelled: true })).toMatch(/cancelled/);
    expect(describeResult(result(2, 'x'.repeat(1000))).length).toBeLessThan(320);
  });
});

describe('retry helpers', () => {
  it('backs off exponentially with jitter, within bounds', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      const wait = backoffMs(attempt);
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
    }
  });

  it('tells whether a wait still fits the time budget', () => {
    const deadline = new Deadline(10_000, Date.now());
    expect(deadline.allows(5_000)).toBe(true);
    expect(deadline.allows(20_000)).toBe(false);
    expect(new Deadline(0).expired()).toBe(true);
  });

  it('formats durations in their largest whole unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(600_000)).toBe('10m');
    expect(formatDuration(6 * 3_600_000)).toBe('6h');
  });
});
