import { describe, expect, it } from 'vitest';
import { Checklist, countChecks } from './checklist.js';

describe('Checklist', () => {
  it('keeps one line per check in order, with the fix only where one is given', () => {
    const checklist = new Checklist();
    checklist.pass('PagerDuty', 'accepted');
    checklist.warn('schedule P1', 'nobody on call', 'check the policy');
    checklist.fail('revoke command', 'not offered', 'set revoke-stale: false');
    expect(checklist.checks).toEqual([
      { check: 'PagerDuty', status: 'pass', detail: 'accepted' },
      { check: 'schedule P1', status: 'warn', detail: 'nobody on call', fix: 'check the policy' },
      { check: 'revoke command', status: 'fail', detail: 'not offered', fix: 'set revoke-stale: false' },
    ]);
    expect(checklist.counts()).toBe('1 passed, 1 warning, 1 failed');
  });

  it('verify() records what a step found, or its error before passing it on', async () => {
    const checklist = new Checklist();
    await expect(
      checklist.verify(
        'users',
        async () => ['a', 'b'],
        (found) => `${found.length} users`,
      ),
    ).resolves.toEqual(['a', 'b']);
    await expect(
      checklist.verify(
        'servers',
        () => Promise.reject(new Error('permission denied')),
        () => 'never',
      ),
    ).rejects.toThrow('permission denied');
    expect(checklist.checks).toEqual([
      { check: 'users', status: 'pass', detail: '2 users' },
      { check: 'servers', status: 'fail', detail: 'permission denied' },
    ]);
  });

  it('counts only what is there', () => {
    expect(countChecks([])).toBe('0 passed');
    expect(
      countChecks([
        { check: 'a', status: 'warn', detail: '' },
        { check: 'b', status: 'warn', detail: '' },
      ]),
    ).toBe('0 passed, 2 warnings');
  });
});
