import { describe, expect, it } from 'vitest';
import { authorizationHeader, errorDetail, parseOnCall, PagerDutyError, retryWaitMs } from './pagerduty.js';

describe('authorizationHeader', () => {
  it('uses the REST API key form and keeps an explicit Bearer or Token form', () => {
    expect(authorizationHeader('u+abc_DEF-1')).toBe('Token token=u+abc_DEF-1');
    expect(authorizationHeader('Bearer pdus+xyz')).toBe('Bearer pdus+xyz');
    expect(authorizationHeader('Token token=abc')).toBe('Token token=abc');
  });
});

describe('errorDetail', () => {
  it('reads errors as array, string or object, and plain-text bodies', () => {
    expect(
      errorDetail(
        '{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Schedule not found"]}}',
      ),
    ).toBe('Invalid Input Provided, code 2001, Schedule not found');
    expect(errorDetail('{"error":{"message":"Bad","errors":"just one"}}')).toBe('Bad, just one');
    expect(errorDetail('{"error":{"message":"Bad","errors":{"since":"is invalid"}}}')).toBe(
      'Bad, since: is invalid',
    );
    expect(errorDetail('Unauthorized\n')).toBe('Unauthorized');
    expect(errorDetail('{"error":"nope"}')).toBe('nope');
    expect(errorDetail('null')).toBe('');
  });

  it('scrubs the whole text before cutting it, so no part of a secret echoed near the cut is left', () => {
    const key = 'u+pdSECRETkey_0123456789';
    const scrub = (text: string) => text.split(key).join('***');
    for (let at = 270; at <= 300; at++) {
      const body = `${'x'.repeat(at)}${key} and more`;
      for (const text of [body, JSON.stringify({ error: { message: body } })]) {
        const detail = errorDetail(text, scrub);
        expect(detail.length).toBeLessThanOrEqual(300);
        for (let i = 0; i + 8 <= key.length; i++) expect(detail).not.toContain(key.slice(i, i + 8));
      }
    }
  });

  it('neutralizes workflow commands and control characters in a body', () => {
    expect(errorDetail('down\n::set-output name=granted::999')).toBe('down ::set-output name=granted::999');
    expect(errorDetail('##[set-output name=granted;]999')).toBe('##\u2060[set-output name=granted;]999');
    expect(errorDetail('{"error":"::add-mask::x"}')).toBe(':\u2060:add-mask::x');
  });
});

describe('retryWaitMs', () => {
  it('honours Retry-After, then ratelimit-reset (seconds), then backs off', () => {
    expect(retryWaitMs(429, { 'retry-after': '3', 'ratelimit-reset': '9' }, 1)).toBe(3000);
    expect(retryWaitMs(429, { 'ratelimit-reset': '9' }, 1)).toBe(9000);
    const backoff = retryWaitMs(503, { 'ratelimit-reset': '9' }, 3);
    expect(backoff).toBeGreaterThanOrEqual(2000);
    expect(backoff).toBeLessThanOrEqual(4000);
  });
});

describe('parseOnCall', () => {
  const item = {
    escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference', summary: 'Ops' },
    escalation_level: 2,
    schedule: { id: 'PSCHED1', type: 'schedule_v3_reference', summary: 'Primary' },
    user: { id: 'PUSER01', type: 'user', name: 'Ada', email: 'ada@example.com' },
    start: '2026-11-26T09:00:00-05:00',
    end: '2026-11-27T09:00:00-05:00',
  };

  it('reads a full row, converting offsets to instants', () => {
    const row = parseOnCall(item);
    expect(row).toMatchObject({
      user: { id: 'PUSER01', name: 'Ada', email: 'ada@example.com' },
      schedule: { id: 'PSCHED1', name: 'Primary' },
      escalationPolicy: { id: 'PEP0001', name: 'Ops' },
      escalationLevel: 2,
    });
    expect(row.start?.toISOString()).toBe('2026-11-26T14:00:00.000Z');
  });

  it('reads a direct target with no schedule and no times', () => {
    const row = parseOnCall({
      ...item,
      schedule: null,
      start: null,
      end: null,
      user: { id: 'PUSER02', type: 'user_reference', summary: 'Bob' },
    });
    expect(row).toMatchObject({
      schedule: null,
      start: null,
      end: null,
      user: { id: 'PUSER02', name: 'Bob' },
    });
    expect(row.user.email).toBeUndefined();
  });

  it('refuses malformed rows instead of dropping them', () => {
    expect(() => parseOnCall({ ...item, start: 'yesterday' })).toThrow(PagerDutyError);
    expect(() => parseOnCall({ ...item, user: null })).toThrow(/user/);
    expect(() => parseOnCall({ ...item, escalation_level: '1' })).toThrow(/level/);
  });
});
