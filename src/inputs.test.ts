import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_DEFAULTS, InputError, parseBoolean, readInputs } from './inputs.js';

const valid: Record<string, string> = {
  'pagerduty-token': 'u+abc_DEF-123',
  'schedule-ids': 'PABC123, PDEF456\nPABC123',
  resources: 'prod-postgres\nbastion-prod,',
  'sdm-admin-token': 'sdm-token',
  'github-token': 'ghs_token',
};

function read(overrides: Record<string, string> = {}, files: Record<string, string> = {}) {
  const values = { ...valid, ...overrides };
  return readInputs(
    (name) => values[name] ?? '',
    (file) => {
      if (!(file in files)) throw new Error('ENOENT: no such file');
      return files[file] as string;
    },
  );
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

describe('parseBoolean', () => {
  it('accepts the YAML spellings only', () => {
    expect(parseBoolean('TRUE')).toBe(true);
    expect(parseBoolean('False')).toBe(false);
    expect(parseBoolean('yes')).toBeUndefined();
    expect(parseBoolean('ture')).toBeUndefined();
  });
});

describe('readInputs', () => {
  it('applies defaults and normalises lists', () => {
    const inputs = read();
    expect(inputs).toMatchObject({
      pagerdutyApiUrl: 'https://api.pagerduty.com',
      rules: [
        {
          name: 'default',
          schedules: ['PABC123', 'PDEF456'],
          escalationPolicies: [],
          escalationLevels: [],
          resources: ['prod-postgres', 'bastion-prod'],
        },
      ],
      simpleMode: true,
      lookahead: '24h',
      lookaheadMs: 86_400_000,
      sdmVersion: 'latest',
      sdmSha256: '',
      sdmDownloadUrl: 'https://app.strongdm.com/releases/cli/linux',
      dryRun: false,
      concurrency: 4,
      failOn: 'error',
      leadMs: 0,
      graceMs: 0,
      maxGrantMs: 7 * 86_400_000,
      maxNewGrants: 50,
      revokeStale: false,
      state: { kind: 'github' },
      stateBranch: 'oncall-access-state',
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
    expect(problemsOf({ lookahead: '2y' })[0]).toMatch(/unit s, m, h, d or w/);
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

describe('state and buffers', () => {
  it('reads state, buffers, caps and levels', () => {
    expect(read({ state: 'file:.oncall/ledger.json' }).state).toEqual({
      kind: 'file',
      path: '.oncall/ledger.json',
    });
    expect(read({ state: 'none', 'github-token': '' }).state).toEqual({ kind: 'none' });
    expect(problemsOf({ state: 'github', 'github-token': '' })[0]).toMatch(/^github-token is required/);
    expect(problemsOf({ state: 's3' })[0]).toMatch(/^state: "s3" must be github, none, or file:<path>/);
    expect(problemsOf({ 'state-branch': '../x' })[0]).toMatch(/^state-branch/);
    const buffers = read({
      'lead-time': '15m',
      'grace-period': '1h',
      'max-grant-duration': '12h',
      'max-new-grants': '0',
    });
    expect(buffers).toMatchObject({
      leadMs: 900_000,
      graceMs: 3_600_000,
      maxGrantMs: 43_200_000,
      maxNewGrants: 0,
    });
    expect(problemsOf({ 'max-grant-duration': '0m' })[0]).toMatch(
      /^max-grant-duration must be longer than zero/,
    );
    expect(problemsOf({ 'revoke-stale': 'yes' })[0]).toMatch(/^revoke-stale/);
    expect(read({ 'escalation-levels': '1, 2' }).rules[0]?.escalationLevels).toEqual([1, 2]);
    expect(problemsOf({ 'escalation-levels': 'first' })[0]).toMatch(/^escalation-levels/);
  });
});

describe('input defaults', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const declared = (
    parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string }>;
    }
  ).inputs;
  /** The README's inputs table (from its "| input" header to the first line that is no table row): name → default. */
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  const tableStart = readme.findIndex((line) => /^\| input +\| default/.test(line));
  const tableLength = readme.slice(tableStart).findIndex((line) => !line.startsWith('|'));
  const documented = new Map(
    readme.slice(tableStart, tableStart + tableLength).flatMap((line) => {
      const match = /^\| `([a-z0-9-]+)` +\| ([^|]*)\|/.exec(line);
      if (!match) return [];
      const shown = /^`(.*)`$/.exec((match[2] as string).trim())?.[1] ?? '';
      return [[match[1] as string, shown] as const];
    }),
  );

  it('are the same in action.yml, the README and the code', () => {
    for (const [name, input] of Object.entries(declared)) {
      const yamlDefault = input.default === undefined ? '' : String(input.default);
      expect(documented.get(name), `README row for ${name}`).toBe(yamlDefault);
      if (name !== 'github-token')
        expect(INPUT_DEFAULTS[name] ?? '', `INPUT_DEFAULTS for ${name}`).toBe(yamlDefault);
    }
    for (const name of Object.keys(INPUT_DEFAULTS)) expect(declared, name).toHaveProperty([name]);
  });

  it('cover exactly the inputs the code reads', () => {
    const asked = new Set<string>();
    readInputs((name) => {
      asked.add(name);
      return valid[name] ?? '';
    });
    expect([...asked].sort()).toEqual(Object.keys(declared).sort());
  });
});
