import { describe, expect, it } from 'vitest';
import { childEnvironment, failureReason, isRateLimited } from './sdm.js';

const result = (exitCode: number, stderr: string) => ({ exitCode, stdout: '', stderr, timedOut: false });

describe('sdm command helpers', () => {
  it('gives sdm the environment without the inputs (which hold the tokens), the runner credentials or SDM_* settings', () => {
    const env = childEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/runner',
      'INPUT_SDM-ADMIN-TOKEN': 'secret',
      'INPUT_PAGERDUTY-TOKEN': 'secret',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'secret',
      ACTIONS_RUNTIME_TOKEN: 'secret',
      GITHUB_TOKEN: 'secret',
      GITHUB_WORKSPACE: '/w',
      SDM_ADMIN_TOKEN: 'left by an earlier step',
      SDM_HOME: '/home/runner/.sdm',
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
    expect(failureReason(result(1, 'line one\nline two'))).toBe('exit 1: line one line two');
    expect(failureReason({ ...result(-1, ''), timedOut: true })).toMatch(/sdm-timeout/);
    expect(failureReason({ ...result(-1, ''), cancelled: true })).toMatch(/cancelled/);
    expect(failureReason(result(2, 'x'.repeat(1000))).length).toBeLessThan(320);
  });
});
