import { describe, expect, it } from 'vitest';
import {
  InputError,
  parseBoolean,
  parseDuration,
  parseList,
  readInputs,
  unsafeArgumentReason,
} from '../../src/inputs.js';

const valid: Record<string, string> = {
  'pagerduty-token': 'u+abc_DEF-123',
  'schedule-ids': 'PABC123, PDEF456\nPABC123',
  resources: 'prod-postgres\nbastion-prod,',
  'sdm-admin-token': 'sdm-token',
};

function read(overrides: Record<string, string> = {}) {
  const values = { ...valid, ...overrides };
  return readInputs((name) => values[name] ?? '');
}

function problemsOf(overrides: Record<string, string>): string[] {
  try {
    read(overrides);
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('parseList', () => {
  it('splits on commas and newlines, trims, drops empties and repeats', () => {
    expect(parseList(' A, B\n\nC,,A \r\n')).toEqual(['A', 'B', 'C']);
    expect(parseList('')).toEqual([]);
  });
});

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
});

describe('parseBoolean', () => {
  it('accepts the YAML spellings only', () => {
    expect(parseBoolean('TRUE')).toBe(true);
    expect(parseBoolean('False')).toBe(false);
    expect(parseBoolean('yes')).toBeUndefined();
    expect(parseBoolean('ture')).toBeUndefined();
  });
});

describe('unsafeArgumentReason', () => {
  it('refuses flags, whitespace and control characters', () => {
    expect(unsafeArgumentReason('prod-postgres')).toBeUndefined();
    expect(unsafeArgumentReason('--admin-token=x')).toMatch(/flag/);
    expect(unsafeArgumentReason('a b@c.d')).toMatch(/whitespace/);
    expect(unsafeArgumentReason('a\u0000b')).toMatch(/control/);
    expect(unsafeArgumentReason('a\u200bb')).toMatch(/control/);
    expect(unsafeArgumentReason('')).toMatch(/empty/);
  });
});

describe('readInputs', () => {
  it('applies defaults and normalises lists', () => {
    const inputs = read();
    expect(inputs).toMatchObject({
      pagerdutyApiUrl: 'https://api.pagerduty.com',
      scheduleIds: ['PABC123', 'PDEF456'],
      resources: ['prod-postgres', 'bastion-prod'],
      lookahead: '24h',
      lookaheadMs: 86_400_000,
      sdmVersion: 'latest',
      sdmSha256: '',
      sdmDownloadUrl: 'https://app.strongdm.com/releases/cli/linux',
      dryRun: false,
      concurrency: 4,
      failOn: 'error',
    });
  });

  it('keeps tokens exactly as given (real keys contain + _ -)', () => {
    expect(read().pagerdutyToken).toBe('u+abc_DEF-123');
  });

  it('reports every problem at once, each naming its input', () => {
    const problems = problemsOf({
      'pagerduty-token': '',
      'schedule-ids': 'PABC123,bad id',
      resources: '-rf',
      lookahead: '91d',
      'dry-run': 'yes',
      concurrency: '0',
      'fail-on': 'sometimes',
      'sdm-version': 'v46',
      'sdm-sha256': 'abc',
      'pagerduty-api-url': 'http://pagerduty.example.com',
    });
    const names = [
      'pagerduty-token',
      'schedule-ids',
      'resources',
      'lookahead',
      'dry-run',
      'concurrency',
      'fail-on',
      'sdm-version',
      'sdm-sha256',
      'pagerduty-api-url',
    ];
    for (const name of names) expect(problems.some((p) => p.startsWith(name))).toBe(true);
    expect(problems).toHaveLength(names.length);
  });

  it('requires the admin token unless dry-run', () => {
    expect(problemsOf({ 'sdm-admin-token': '' })).toEqual([
      expect.stringMatching(/^sdm-admin-token is required/),
    ]);
    expect(read({ 'sdm-admin-token': '', 'dry-run': 'true' }).dryRun).toBe(true);
  });

  it('accepts plain http only for loopback', () => {
    expect(read({ 'pagerduty-api-url': 'http://127.0.0.1:8080/' }).pagerdutyApiUrl).toBe(
      'http://127.0.0.1:8080',
    );
    expect(problemsOf({ 'sdm-download-url': 'http://10.0.0.1/sdm.zip' })[0]).toMatch(
      /^sdm-download-url: .* https/,
    );
    expect(problemsOf({ 'sdm-download-url': 'not a url' })[0]).toMatch(/not a URL/);
    expect(problemsOf({ 'pagerduty-api-url': 'http://127.evil.example' })[0]).toMatch(
      /^pagerduty-api-url: .* https/,
    );
    expect(problemsOf({ 'pagerduty-api-url': 'http://u:secret@example.com' })[0]).not.toContain('secret');
  });

  it('bounds lookahead and concurrency', () => {
    expect(read({ lookahead: '90d' }).lookaheadMs).toBe(90 * 86_400_000);
    expect(problemsOf({ lookahead: '0m' })[0]).toMatch(/^lookahead must be longer than zero/);
    expect(problemsOf({ lookahead: '2y' })[0]).toMatch(/unit m, h, d or w/);
    expect(read({ concurrency: '16' }).concurrency).toBe(16);
    expect(problemsOf({ concurrency: '17' })[0]).toMatch(/^concurrency/);
    expect(problemsOf({ concurrency: '2.5' })[0]).toMatch(/^concurrency/);
  });

  it('lower-cases a pinned sha256', () => {
    expect(read({ 'sdm-sha256': 'AB'.repeat(32) }).sdmSha256).toBe('ab'.repeat(32));
  });

  it('keeps control characters out of its messages', () => {
    const [problem] = problemsOf({ 'schedule-ids': 'P1\u0007X' });
    expect(problem?.includes('\u0007')).toBe(false);
  });
});

describe('schedule-ids', () => {
  it("accepts PagerDuty's literal null for direct targets, but not other words with spaces", () => {
    expect(read({ 'schedule-ids': 'PABC123,null' }).scheduleIds).toEqual(['PABC123', 'null']);
    expect(problemsOf({ 'schedule-ids': 'null schedule' })[0]).toMatch(/^schedule-ids/);
  });
});
