// Tests of the fake `sdm` CLI (sdm.mjs): it must refuse what strongDM's CLI refuses, record every invocation and
// apply injected faults, otherwise tests of the action against it prove nothing.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defaultSdmToken, readSdmState, updateSdmState, writeSdmState } from './sdm-state.mjs';
import {
  at,
  envFor,
  grantArgs,
  home,
  HOUR,
  RESOURCES,
  SDM,
  sdm,
  sdmAsync,
  statePath,
  tmp,
  useSeededSdmState,
  USERS,
} from './sdm-testing.js';

useSeededSdmState();

describe('fake sdm CLI: environment and authentication', () => {
  it('exits 70 when FAKE_SDM_STATE is absent', () => {
    const r = sdm(['--version'], { state: null });
    expect(r.code).toBe(70);
    expect(r.stderr).toContain('FAKE_SDM_STATE');
    expect(r.stdout).toBe('');
  });

  it('exits 70 when the state file does not exist', () => {
    const r = sdm(['--version'], { state: path.join(tmp, 'missing.json') });
    expect(r.code).toBe(70);
    expect(r.stderr).toContain('missing.json');
  });

  it('prints the version without a token (third field = version)', () => {
    writeSdmState(statePath, { version: '45.67.8' });
    const r = sdm(['--version'], { token: null });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split(/\s+/)[2]).toBe('45.67.8');
    expect(readSdmState(statePath).invocations).toEqual([
      expect.objectContaining({ argv: ['--version'], tokenFromEnv: false, tokenInArgv: false, exitCode: 0 }),
    ]);
  });

  it('refuses when SDM_ADMIN_TOKEN is missing', () => {
    const r = sdm(['admin', 'users', 'list', '--json'], { token: null });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not authenticated/i);
    expect(r.stdout).toBe('');
    expect(readSdmState(statePath).invocations[0]).toMatchObject({ tokenFromEnv: false, exitCode: 1 });
  });

  it('refuses a wrong token and never echoes tokens', () => {
    const r = sdm(['admin', 'users', 'list', '--json'], { token: 'wrong-token-123' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unauthenticated: invalid admin token/);
    expect(r.stderr + r.stdout).not.toContain('wrong-token-123');
    expect(r.stderr + r.stdout).not.toContain(defaultSdmToken);
    expect(readSdmState(statePath).invocations[0]).toMatchObject({ tokenFromEnv: true, exitCode: 1 });
  });

  it('refuses a grant without a token and records nothing but the invocation', () => {
    const r = sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR)), { token: null });
    expect(r.code).toBe(1);
    expect(readSdmState(statePath).grants).toEqual([]);
  });

  it('accepts the right token from the environment', () => {
    const r = sdm(['admin', 'users', 'list', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(USERS.length);
    expect(readSdmState(statePath).invocations[0]).toMatchObject({
      argv: ['admin', 'users', 'list', '--json'],
      tokenFromEnv: true,
      tokenInArgv: false,
      exitCode: 0,
    });
  });

  it('flags a token passed in argv (and refuses --admin-token as an unknown flag)', () => {
    const a = sdm(['--admin-token', defaultSdmToken, 'admin', 'users', 'list', '--json'], { token: null });
    const b = sdm(['admin', 'users', 'list', '--json', `--admin-token=${defaultSdmToken}`]);
    const c = sdm(['admin', 'users', 'list', '--json', '--filter', `email:${defaultSdmToken}`]);
    expect(a.code).not.toBe(0);
    expect(b.code).not.toBe(0);
    expect(c.code).toBe(0);
    for (const r of [a, b, c]) expect(r.stdout + r.stderr).not.toContain(defaultSdmToken);
    const inv = readSdmState(statePath).invocations;
    expect(inv.map((i) => i.tokenInArgv)).toEqual([true, true, true]);
    expect(inv.map((i) => i.tokenFromEnv)).toEqual([false, true, true]);
    expect(inv[0]?.argv).toEqual(['--admin-token', defaultSdmToken, 'admin', 'users', 'list', '--json']);
  });
});

describe('fake sdm CLI: lists', () => {
  it('lists users as camelCase JSON', () => {
    const r = sdm(['admin', 'users', 'list', '--json']);
    expect(r.code).toBe(0);
    const users = JSON.parse(r.stdout);
    expect(users[1]).toEqual({
      id: 'a-bob',
      firstName: 'Bob',
      lastName: 'Builder',
      email: 'bob@example.com',
      tags: { team: 'sre' },
      suspended: false,
    });
    expect(users.map((u: { id: string }) => u.id)).toEqual(USERS.map((u) => u.id));
  });

  it('filters users: case-insensitive, * wildcard, comma = AND', () => {
    const ids = (filter: string) => {
      const r = sdm(['admin', 'users', 'list', '--json', '--filter', filter]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout).map((u: { id: string }) => u.id);
    };
    expect(ids('email:ada@example.com')).toEqual(['a-ada']);
    expect(ids('EMAIL:ADA@EXAMPLE.COM')).toEqual(['a-ada']);
    expect(ids('email:ada')).toEqual([]); // whole-value match, not substring
    expect(ids('email:*@example.com,firstName:b*')).toEqual(['a-bob']);
    expect(ids('lastname:bob')).toEqual(['a-cy']);
    expect(ids('id:a-u*')).toHaveLength(8);
    expect(ids('firstName:nobody')).toEqual([]);
    expect(ids('email:a.a@example.com')).toEqual([]); // '.' is literal
    expect(ids('email:*')).toHaveLength(USERS.length);
  });

  it('refuses malformed filters', () => {
    expect(sdm(['admin', 'users', 'list', '--json', '--filter', 'nocolon']).code).toBe(1);
    expect(sdm(['admin', 'users', 'list', '--json', '--filter', 'shoesize:9']).code).toBe(1);
    expect(sdm(['admin', 'users', 'list', '--json', '--filter']).code).toBe(1);
  });

  it('prints a header table without --json', () => {
    const r = sdm(['admin', 'users', 'list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USER ID\s+FIRST NAME\s+LAST NAME\s+EMAIL/);
    expect(lines).toHaveLength(USERS.length + 1);
    expect(() => JSON.parse(r.stdout)).toThrow();
    expect(lines[0]!.indexOf('EMAIL')).toBe(lines[1]!.indexOf('Ada@Example.com'));
  });

  it('lists datasources, servers and clusters by kind', () => {
    const names = (noun: string) => {
      const r = sdm(['admin', noun, 'list', '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout).map((x: { id: string; name: string }) => `${x.id}:${x.name}`);
    };
    expect(names('datasources')).toEqual(['rs-pg:prod-postgres', 'rs-my:staging-mysql']);
    expect(names('servers')).toEqual(['rs-web:web-01']);
    expect(names('clusters')).toEqual(['rs-k8s:prod-eks']);
    const ds = JSON.parse(
      sdm(['admin', 'datasources', 'list', '--json', '--filter', 'name:staging-*']).stdout,
    );
    expect(ds).toEqual([expect.objectContaining({ id: 'rs-my', name: 'staging-mysql', type: 'mysql' })]);
    expect(ds[0]).not.toHaveProperty('kind');
    expect(sdm(['admin', 'servers', 'list']).stdout).toMatch(/^RESOURCE ID\s+NAME/);
  });

  it('does not implement the merely inferred `admin resources list` (urfave/cli: no such subcommand, exit 3)', () => {
    const r = sdm(['admin', 'resources', 'list', '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("No help topic for 'resources'\n");
    expect(r.stdout).toBe('');
  });
});

describe('fake sdm CLI: grant-temporary', () => {
  it('grants, persists the grant and confirms on stdout', () => {
    const from = at(-60_000);
    const until = at(2 * HOUR);
    const r = sdm(grantArgs('prod-postgres', 'bob@example.com', from, until));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('prod-postgres');
    expect(r.stderr).toBe('');
    const s = readSdmState(statePath);
    expect(s.grants).toEqual([
      {
        id: expect.stringMatching(/^ag-/),
        accountId: 'a-bob',
        email: 'bob@example.com',
        resourceId: 'rs-pg',
        resourceName: 'prod-postgres',
        startFrom: from,
        validUntil: until,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      },
    ]);
    expect(s.invocations[0]).toMatchObject({
      exitCode: 0,
      argv: grantArgs('prod-postgres', 'bob@example.com', from, until),
    });
  });

  it('accepts flags in either order, --flag=value, offsets and fractions (normalised to UTC)', () => {
    const r1 = sdm([
      'admin',
      'users',
      'grant-temporary',
      '--until',
      '2999-01-01T02:00:00+02:00',
      '--from',
      '2998-12-31T21:30:00.5-01:00',
      'web-01',
      'bob@example.com',
    ]);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const r2 = sdm([
      'admin',
      'users',
      'grant-temporary',
      '--from=2999-02-01T00:00:00Z',
      '--until=2999-02-02T00:00:00Z',
      'web-01',
      'bob@example.com',
    ]);
    expect(r2.code).toBe(0);
    const g = readSdmState(statePath).grants;
    expect(g[0]).toMatchObject({ startFrom: '2998-12-31T22:30:00.500Z', validUntil: '2999-01-01T00:00:00Z' });
    expect(g[1]).toMatchObject({ startFrom: '2999-02-01T00:00:00Z', validUntil: '2999-02-02T00:00:00Z' });
  });

  it.each([
    ['space instead of T', '2030-01-02 15:04:05Z'],
    ['no seconds', '2030-01-02T15:04Z'],
    ['no zone', '2030-01-02T15:04:05'],
    ['month 13', '2030-13-01T00:00:00Z'],
    ['30 February', '2030-02-30T00:00:00Z'],
    ['hour 24', '2030-01-01T24:00:00Z'],
    ['offset without colon', '2030-01-01T00:00:00+0200'],
    ['lower-case z', '2030-01-01T00:00:00z'],
    ['epoch seconds', '1900000000'],
    ['words', 'tomorrow'],
    ['empty', ''],
  ])('refuses a bad --from or --until (%s)', (_label, bad) => {
    const a = sdm(grantArgs('prod-postgres', 'bob@example.com', bad, '2031-01-01T00:00:00Z'));
    const b = sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), bad));
    expect(a.code).toBe(1);
    expect(b.code).toBe(1);
    expect(a.stderr).toMatch(/--from/);
    expect(b.stderr).toMatch(/--until/);
    expect(readSdmState(statePath).grants).toEqual([]);
  });

  it('refuses --until not after --from, and --until in the past', () => {
    const t = at(HOUR);
    for (const [from, until] of [
      [at(2 * HOUR), at(HOUR)],
      [t, t],
      [at(-3 * HOUR), at(-HOUR)],
    ] as const) {
      const r = sdm(grantArgs('prod-postgres', 'bob@example.com', from, until));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/until/);
    }
    expect(readSdmState(statePath).grants).toEqual([]);
  });

  it('refuses an unknown resource (exact name match)', () => {
    for (const name of ['prod-pg', 'Prod-Postgres', 'prod-postgres ', 'rs-pg']) {
      const r = sdm(grantArgs(name, 'bob@example.com', at(0), at(HOUR)));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot find datasource or server named "${name}"`);
    }
    expect(readSdmState(statePath).grants).toEqual([]);
  });

  it('grants servers and clusters too', () => {
    expect(sdm(grantArgs('web-01', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
    expect(sdm(grantArgs('prod-eks', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
    expect(readSdmState(statePath).grants.map((g) => g.resourceId)).toEqual(['rs-web', 'rs-k8s']);
  });

  it('refuses an unknown email', () => {
    const r = sdm(grantArgs('prod-postgres', 'nobody@example.com', at(0), at(HOUR)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot find user with email "nobody@example.com"');
    expect(readSdmState(statePath).grants).toEqual([]);
  });

  it('matches the email case-insensitively and stores the canonical one', () => {
    const r = sdm(grantArgs('prod-postgres', 'aDA@example.COM', at(0), at(HOUR)));
    expect(r.code).toBe(0);
    expect(readSdmState(statePath).grants[0]).toMatchObject({ accountId: 'a-ada', email: 'Ada@Example.com' });
  });

  it('default mode: refuses an overlapping window, accepts adjacent and later ones, ignores expired grants', () => {
    updateSdmState(statePath, (s) => {
      s.grants.push({
        id: 'ag-old',
        accountId: 'a-bob',
        email: 'bob@example.com',
        resourceId: 'rs-pg',
        resourceName: 'prod-postgres',
        startFrom: at(-5 * HOUR),
        validUntil: at(-HOUR),
        createdAt: at(-6 * HOUR),
      });
    });
    const grant = (a: number, b: number, email = 'bob@example.com', res = 'prod-postgres') =>
      sdm(grantArgs(res, email, at(a * HOUR), at(b * HOUR)));
    expect(grant(-2, 1).code).toBe(0); // overlaps only the expired grant
    expect(grant(2, 3).code).toBe(0);
    const dup = grant(2.5, 4);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/AlreadyExists/);
    expect(grant(0.5, 0.75).code).toBe(1); // inside an existing window
    expect(grant(3, 4).code).toBe(0); // adjacent: [2,3) then [3,4)
    expect(grant(10, 12).code).toBe(0);
    expect(grant(2.5, 4, 'ada@example.com').code).toBe(0); // other user
    expect(grant(2.5, 4, 'bob@example.com', 'web-01').code).toBe(0); // other resource
    const s = readSdmState(statePath);
    expect(s.grants).toHaveLength(7);
    expect(s.invocations.map((i) => i.exitCode)).toEqual([0, 0, 1, 1, 0, 0, 0, 0]);
  });

  it('strict mode: refuses any second unexpired grant for the pair, overlapping or not', () => {
    writeSdmState(statePath, {
      strict: true,
      users: USERS,
      resources: RESOURCES,
      grants: [
        {
          id: 'ag-expired',
          accountId: 'a-ada',
          email: 'Ada@Example.com',
          resourceId: 'rs-pg',
          resourceName: 'prod-postgres',
          startFrom: at(-3 * HOUR),
          validUntil: at(-2 * HOUR),
          createdAt: at(-4 * HOUR),
        },
      ],
    });
    expect(sdm(grantArgs('prod-postgres', 'ada@example.com', at(HOUR), at(2 * HOUR))).code).toBe(0);
    const overlapping = sdm(grantArgs('prod-postgres', 'ada@example.com', at(1.5 * HOUR), at(3 * HOUR)));
    const later = sdm(grantArgs('prod-postgres', 'ada@example.com', at(5 * HOUR), at(6 * HOUR)));
    expect(overlapping.code).toBe(1);
    expect(later.code).toBe(1);
    expect(later.stderr).toMatch(/AlreadyExists/);
    expect(sdm(grantArgs('web-01', 'ada@example.com', at(5 * HOUR), at(6 * HOUR))).code).toBe(0);
    expect(readSdmState(statePath).grants).toHaveLength(3);
  });

  it('the same later window is accepted in default mode (control for the strict test)', () => {
    expect(sdm(grantArgs('prod-postgres', 'ada@example.com', at(HOUR), at(2 * HOUR))).code).toBe(0);
    expect(sdm(grantArgs('prod-postgres', 'ada@example.com', at(5 * HOUR), at(6 * HOUR))).code).toBe(0);
  });

  it.each([
    ['email before resource', ['--from', 'F', '--until', 'U', 'bob@example.com', 'prod-postgres']],
    ['flags after the positionals', ['prod-postgres', 'bob@example.com', '--from', 'F', '--until', 'U']],
    ['one flag after the positionals', ['--from', 'F', 'prod-postgres', 'bob@example.com', '--until', 'U']],
    ['missing email', ['--from', 'F', '--until', 'U', 'prod-postgres']],
    ['extra positional', ['--from', 'F', '--until', 'U', 'prod-postgres', 'bob@example.com', 'x']],
    ['missing --from', ['--until', 'U', 'prod-postgres', 'bob@example.com']],
    ['missing --until', ['--from', 'F', 'prod-postgres', 'bob@example.com']],
    ['flag without value', ['--until', 'U', 'prod-postgres', 'bob@example.com', '--from']],
    ['trailing flag without value', ['prod-postgres', 'bob@example.com', '--from', 'F', '--until']],
    ['duplicate flag', ['--from', 'F', '--from', 'F', '--until', 'U', 'prod-postgres', 'bob@example.com']],
    [
      'unknown flag',
      ['--from', 'F', '--until', 'U', '--reason', 'oncall', 'prod-postgres', 'bob@example.com'],
    ],
    ['unknown bool flag', ['--from', 'F', '--until', 'U', '--yes', 'prod-postgres', 'bob@example.com']],
  ])('refuses a wrong command line: %s', (_label, tail) => {
    const from = at(0);
    const until = at(HOUR);
    const args = [
      'admin',
      'users',
      'grant-temporary',
      ...tail.map((a) => (a === 'F' ? from : a === 'U' ? until : a)),
    ];
    const r = sdm(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.length).toBeGreaterThan(0);
    expect(readSdmState(statePath).grants).toEqual([]);
    expect(readSdmState(statePath).invocations[0]).toMatchObject({ argv: args, exitCode: 1 });
  });

  it.each([
    [[]],
    [['login']],
    [['admin']],
    [['admin', 'users']],
    [['admin', 'users', 'delete', 'bob@example.com']],
    [['admin', 'roles', 'list', '--json']],
    [['admin', 'users', 'list', '--json', 'extra']],
    [['admin', 'users', 'list', '--format', 'json']],
    [['admin', 'users', 'list', '--jsn']],
    [['--verbose', 'admin', 'users', 'list', '--json']],
    [['--version', 'extra']],
  ])('refuses unknown commands and flags: %j', (args) => {
    const r = sdm(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Incorrect Usage/);
    expect(r.stdout).toBe('');
  });
});

describe('fake sdm CLI: concurrency', () => {
  it('8 concurrent grants for different users are all recorded', async () => {
    const from = at(0);
    const until = at(HOUR);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        sdmAsync(grantArgs('prod-postgres', `u${i}@example.com`, from, until)),
      ),
    );
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(0));
    const s = readSdmState(statePath);
    expect(s.grants.map((g) => g.accountId).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `a-u${i}`));
    expect(s.invocations).toHaveLength(8);
    expect(new Set(s.invocations.map((i) => i.pid)).size).toBe(8);
    const left = fs.readdirSync(tmp).filter((f) => f !== 'sdm-state.json');
    expect(left).toEqual(['sdm-state.json.invocations.jsonl']); // no lock or temp left
  });

  it('8 concurrent identical grants: exactly one wins, none lost', async () => {
    const from = at(0);
    const until = at(HOUR);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => sdmAsync(grantArgs('prod-postgres', 'bob@example.com', from, until))),
    );
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    expect(results.filter((r) => r.code === 1 && /AlreadyExists/.test(r.stderr))).toHaveLength(7);
    const s = readSdmState(statePath);
    expect(s.grants).toHaveLength(1);
    expect(s.invocations).toHaveLength(8);
  });
});

describe('fake sdm CLI: fault injection', () => {
  it('fail: only for the matching email, once, with the given stderr', () => {
    updateSdmState(statePath, (s) => {
      s.faults.push({
        command: 'grant-temporary',
        email: 'ADA@example.com',
        action: 'fail',
        times: 1,
        stderr: 'boom',
      });
    });
    const bob = sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR)));
    expect(bob.code).toBe(0);
    const ada1 = sdm(grantArgs('prod-postgres', 'ada@example.com', at(0), at(HOUR)));
    expect(ada1.code).toBe(1);
    expect(ada1.stderr.trim()).toBe('boom');
    expect(readSdmState(statePath).faults).toEqual([]);
    const ada2 = sdm(grantArgs('prod-postgres', 'ada@example.com', at(0), at(HOUR)));
    expect(ada2.code).toBe(0);
    expect(readSdmState(statePath).grants.map((g) => g.accountId)).toEqual(['a-bob', 'a-ada']);
  });

  it('fail: matches on resource and defaults to "internal error"; list faults too', () => {
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'grant-temporary', resource: 'web-01', action: 'fail' });
      s.faults.push({ command: 'users list', action: 'fail', times: 1 });
    });
    expect(sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
    const web = sdm(grantArgs('web-01', 'bob@example.com', at(0), at(HOUR)));
    expect(web.code).toBe(1);
    expect(web.stderr).toMatch(/internal error/);
    expect(sdm(['admin', 'servers', 'list', '--json']).code).toBe(0);
    const users = sdm(['admin', 'users', 'list', '--json']);
    expect(users.code).toBe(1);
    expect(users.stdout).toBe('');
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(0);
  });

  it('exhausted (times 2): two rate-limit refusals, then success', () => {
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'grant-temporary', action: 'exhausted', times: 2 });
    });
    const args = grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR));
    const r1 = sdm(args);
    expect(r1.code).toBe(1);
    expect(r1.stderr.trim()).toBe("resource exhausted: Sorry! You've made too many requests, try again");
    expect(readSdmState(statePath).faults).toEqual([expect.objectContaining({ times: 1 })]);
    expect(sdm(args).code).toBe(1);
    expect(readSdmState(statePath).faults).toEqual([]);
    expect(sdm(args).code).toBe(0);
    expect(readSdmState(statePath).grants).toHaveLength(1);
  });

  it('faults are not consumed by unauthenticated calls', () => {
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'users list', action: 'exhausted' });
    });
    expect(sdm(['admin', 'users', 'list', '--json'], { token: 'nope-nope' }).stderr).toMatch(
      /invalid admin token/,
    );
    expect(readSdmState(statePath).faults).toHaveLength(1);
  });

  it('hang: runs until killed, invocation recorded with exitCode null, fault consumed', async () => {
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'grant-temporary', action: 'hang', times: 1 });
    });
    const child = spawn(
      process.execPath,
      [SDM, ...grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR))],
      {
        env: envFor({}),
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, sig) => resolve(sig)),
    );
    const deadline = Date.now() + 10_000;
    while (readSdmState(statePath).invocations.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    const s = readSdmState(statePath);
    expect(s.invocations).toEqual([expect.objectContaining({ exitCode: null, hung: true })]);
    expect(s.faults).toEqual([]);
    expect(s.grants).toEqual([]);
    expect(sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
  });
});

/** The command names a group's help lists under COMMANDS (read by word, as the action must). */
function commandsOf(help: string): string[] {
  const section = /\nCOMMANDS:\n([\s\S]*?)\n\n/.exec(help)?.[1] ?? '';
  return section.split('\n').map((line) => line.trim().split(/[\s,]+/)[0] ?? '');
}

/** The flag names a help lists under OPTIONS / GLOBAL OPTIONS. */
function flagsOf(help: string): string[] {
  const section = /\n(?:GLOBAL )?OPTIONS:\n([\s\S]*)$/.exec(help)?.[1] ?? '';
  return section
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/[\s,]+/)[0] ?? '');
}

const USERS_HELP = `NAME:
   sdm admin users - manage users

USAGE:
   sdm admin users command [command options] [arguments...]

COMMANDS:
   list             list users
   add              add a user
   update           update a user
   delete           delete a user
   suspend          suspend a user
   unsuspend        unsuspend a user
   grant-temporary  temporarily grant a user access to a resource
   revoke           revoke a user's temporary access to a resource
   help, h          Shows a list of commands or help for one command

OPTIONS:
   --help, -h  show help
`;

const GRANT_HELP = `NAME:
   sdm admin users grant-temporary - temporarily grant a user access to a resource

USAGE:
   sdm admin users grant-temporary [command options] <resource name> <user email>

OPTIONS:
   --from value   start of the grant (RFC3339, e.g. 2024-01-02T15:04:05Z)
   --until value  end of the grant (RFC3339)
   --help, -h     show help
`;

describe('fake sdm CLI: help (urfave/cli layout)', () => {
  it.each([
    [['--help'], 'sdm', true],
    [['-h'], 'sdm', true],
    [['help'], 'sdm', true],
    [['h'], 'sdm', true],
    [['admin', '--help'], 'sdm admin', true],
    [['admin', '-h'], 'sdm admin', true],
    [['help', 'admin'], 'sdm admin', true],
    [['admin', 'users', '--help'], 'sdm admin users', true],
    [['admin', 'users', 'help'], 'sdm admin users', true],
    [['admin', '--help', 'users'], 'sdm admin', true],
    [['admin', 'users', 'list', '--help'], 'sdm admin users list', false],
    [['admin', 'users', 'list', '--json', '-h'], 'sdm admin users list', false],
    [['admin', 'users', 'help', 'list'], 'sdm admin users list', false],
    [['admin', 'users', 'grant-temporary', '--help'], 'sdm admin users grant-temporary', false],
    [['admin', 'users', 'grant-temporary', '--from', 'x', '-help'], 'sdm admin users grant-temporary', false],
    [['admin', 'users', 'revoke', '--help'], 'sdm admin users revoke', false],
    [['admin', 'users', 'suspend', '--help'], 'sdm admin users suspend', false],
    [['admin', 'datasources', '--help'], 'sdm admin datasources', true],
    [['admin', 'servers', '--help'], 'sdm admin servers', true],
    [['admin', 'clusters', '-h'], 'sdm admin clusters', true],
    [['admin', 'datasources', 'list', '--help'], 'sdm admin datasources list', false],
    [['admin', 'servers', 'list', '--help'], 'sdm admin servers list', false],
    [['admin', 'clusters', 'list', '-h'], 'sdm admin clusters list', false],
  ])('%j prints the help of `%s` with exit 0, without a token or a home', (args, helpName, group) => {
    const r = sdm(args, { token: null, home: null });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^NAME:\\n   ${helpName} - \\S`));
    expect(r.stdout).toContain('\n\nUSAGE:\n   ' + helpName + ' ');
    expect(r.stdout).toMatch(/\n\n(GLOBAL )?OPTIONS:\n/);
    expect(flagsOf(r.stdout)).toContain('--help');
    expect(r.stdout.includes('\nCOMMANDS:\n')).toBe(group);
    if (group) expect(commandsOf(r.stdout).at(-1)).toBe('help');
    expect(readSdmState(statePath).invocations).toEqual([
      expect.objectContaining({ argv: args, exitCode: 0, tokenFromEnv: false, home: null }),
    ]);
  });

  it('`sdm admin users --help` and `… grant-temporary --help`, exactly', () => {
    expect(sdm(['admin', 'users', '--help']).stdout).toBe(USERS_HELP);
    expect(sdm(['admin', 'users', 'grant-temporary', '--help']).stdout).toBe(GRANT_HELP);
  });

  it('lists commands by word at each level, among some the fake does not model', () => {
    expect(commandsOf(sdm(['--help']).stdout)).toEqual(
      expect.arrayContaining(['admin', 'login', 'status', 'help']),
    );
    expect(commandsOf(sdm(['admin', '--help']).stdout)).toEqual([
      'clusters',
      'datasources',
      'roles',
      'servers',
      'users',
      'help',
    ]);
    expect(commandsOf(sdm(['admin', 'users', '--help']).stdout)).toEqual([
      'list',
      'add',
      'update',
      'delete',
      'suspend',
      'unsuspend',
      'grant-temporary',
      'revoke',
      'help',
    ]);
    expect(commandsOf(sdm(['admin', 'servers', '--help']).stdout)).toContain('list');
    expect(flagsOf(sdm(['admin', 'users', 'list', '--help']).stdout)).toEqual([
      '--json',
      '--filter',
      '--help',
    ]);
    expect(flagsOf(sdm(['--help']).stdout)).toEqual(['--help', '--version']);
  });

  it('the top-level help shows the version', () => {
    writeSdmState(statePath, { version: '45.1.2' });
    expect(sdm(['--help']).stdout).toContain('\nVERSION:\n   45.1.2\n');
  });

  it('listed commands the fake does not model answer a usage error when run', () => {
    for (const args of [
      ['admin', 'users', 'suspend', 'bob@example.com'],
      ['admin', 'users', 'add'],
      ['admin', 'roles', 'list'],
      ['login'],
    ]) {
      const r = sdm(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^Incorrect Usage: /);
      expect(r.stdout).toBe('');
    }
  });

  it.each([
    [['version'], 'version'],
    [['admin', 'nope'], 'nope'],
    [['admin', 'resources', '--help'], 'resources'],
    [['admin', 'users', 'nope', '--json'], 'nope'],
    [['admin', 'users', 'Grant-Temporary'], 'Grant-Temporary'],
    [['admin', 'datasources', 'grant-temporary'], 'grant-temporary'],
    [['admin', 'users', 'help', 'nope'], 'nope'],
    [['help', 'nope'], 'nope'],
  ])('%j: unknown subcommand -> "No help topic", exit 3, without a token', (args, word) => {
    const r = sdm(args, { token: null });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`No help topic for '${word}'\n`);
    expect(r.stdout).toBe('');
    expect(readSdmState(statePath).invocations).toEqual([
      expect.objectContaining({ argv: args, exitCode: 3 }),
    ]);
    expect(fs.existsSync(path.join(home, '.sdm'))).toBe(false);
  });
});

describe('fake sdm CLI: configurable commands', () => {
  const grant = () => ({
    id: 'ag-1',
    accountId: 'a-bob',
    email: 'bob@example.com',
    resourceId: 'rs-pg',
    resourceName: 'prod-postgres',
    startFrom: at(-HOUR),
    validUntil: at(HOUR),
    createdAt: at(-HOUR),
  });

  it('revokeCommand (default true): revoke is listed and works', () => {
    writeSdmState(statePath, { users: USERS, resources: RESOURCES, grants: [grant()] });
    expect(commandsOf(sdm(['admin', 'users', '--help']).stdout)).toContain('revoke');
    const r = sdm(['admin', 'users', 'revoke', 'prod-postgres', 'bob@example.com']);
    expect(r.code).toBe(0);
    expect(readSdmState(statePath).grants).toEqual([]);
  });

  it('revokeCommand false: revoke is not listed and answers like an unknown subcommand, changing nothing', () => {
    writeSdmState(statePath, { revokeCommand: false, users: USERS, resources: RESOURCES, grants: [grant()] });
    const help = sdm(['admin', 'users', '--help'], { token: null }).stdout;
    expect(commandsOf(help)).not.toContain('revoke');
    expect(help).not.toMatch(/revoke/);
    expect(commandsOf(help)).toContain('grant-temporary');
    for (const args of [
      ['admin', 'users', 'revoke', 'prod-postgres', 'bob@example.com'],
      ['admin', 'users', 'revoke', '--help'],
      ['admin', 'users', 'help', 'revoke'],
    ]) {
      const r = sdm(args);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe("No help topic for 'revoke'\n");
      expect(r.stdout).toBe('');
    }
    const s = readSdmState(statePath);
    expect(s.grants).toEqual([
      expect.objectContaining({ id: 'ag-1', accountId: 'a-bob', resourceId: 'rs-pg' }),
    ]);
    expect(s.revoked).toBeUndefined();
    expect(fs.existsSync(path.join(home, '.sdm'))).toBe(false);
    expect(sdm(grantArgs('web-01', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
  });

  it("grantFlags ['--until']: --from is not listed and refused as an unknown flag; a grant starts now", () => {
    writeSdmState(statePath, { grantFlags: ['--until'], users: USERS, resources: RESOURCES });
    const help = sdm(['admin', 'users', 'grant-temporary', '--help']).stdout;
    expect(flagsOf(help)).toEqual(['--until', '--help']);
    expect(help).not.toContain('--from');
    const until = at(HOUR);
    for (const args of [
      grantArgs('prod-postgres', 'bob@example.com', at(0), until),
      [
        'admin',
        'users',
        'grant-temporary',
        `--from=${at(0)}`,
        '--until',
        until,
        'prod-postgres',
        'bob@example.com',
      ],
      [
        'admin',
        'users',
        'grant-temporary',
        '--until',
        until,
        '-from',
        at(0),
        'prod-postgres',
        'bob@example.com',
      ],
    ]) {
      const r = sdm(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^Incorrect Usage: flag provided but not defined: -from\n/);
      expect(r.stdout).toBe('');
    }
    expect(readSdmState(statePath).grants).toEqual([]);
    const missing = sdm(['admin', 'users', 'grant-temporary', 'prod-postgres', 'bob@example.com']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required flag "until" not set/);
    const before = Date.now();
    const r = sdm([
      'admin',
      'users',
      'grant-temporary',
      '--until',
      until,
      'prod-postgres',
      'bob@example.com',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const g = readSdmState(statePath).grants;
    expect(g).toEqual([
      expect.objectContaining({ accountId: 'a-bob', resourceId: 'rs-pg', validUntil: until }),
    ]);
    const start = Date.parse(g[0]!.startFrom);
    expect(start).toBeGreaterThanOrEqual(before - 1000);
    expect(start).toBeLessThanOrEqual(Date.now());
  });

  it("grantFlags ['--from']: --until is refused, and a grant without an end is refused", () => {
    writeSdmState(statePath, { grantFlags: ['--from'], users: USERS, resources: RESOURCES });
    expect(flagsOf(sdm(['admin', 'users', 'grant-temporary', '--help']).stdout)).toEqual([
      '--from',
      '--help',
    ]);
    const a = sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR)));
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/flag provided but not defined: -until/);
    const b = sdm(['admin', 'users', 'grant-temporary', '--from', at(0), 'prod-postgres', 'bob@example.com']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/BadRequest/);
    expect(readSdmState(statePath).grants).toEqual([]);
  });
});

describe('fake sdm CLI: state kept in HOME', () => {
  const stateLines = (dir: string) =>
    fs
      .readFileSync(path.join(dir, 'state'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { at: string; command: string; pid: number });

  it('admin commands write $HOME/.sdm/state (folder 0700, file 0600), one line each', () => {
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(0);
    const dir = path.join(home, '.sdm');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'state')).mode & 0o777).toBe(0o600);
    expect(stateLines(dir)).toEqual([
      {
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        command: 'admin users list',
        pid: expect.any(Number),
      },
    ]);
    expect(sdm(['admin', 'servers', 'list', '--json']).code).toBe(0);
    expect(sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR))).code).toBe(0);
    expect(sdm(['admin', 'users', 'revoke', 'prod-postgres', 'bob@example.com']).code).toBe(0);
    expect(stateLines(dir).map((l) => l.command)).toEqual([
      'admin users list',
      'admin servers list',
      'admin users grant-temporary',
      'admin users revoke',
    ]);
    expect(fs.readFileSync(path.join(dir, 'state'), 'utf8')).not.toContain(defaultSdmToken);
  });

  it('SDM_HOME, when set, is the folder itself (created 0700, parents too); HOME is then left alone', () => {
    const sdmHome = path.join(tmp, 'deep', 'sdm-home');
    expect(sdm(['admin', 'users', 'list', '--json'], { sdmHome }).code).toBe(0);
    expect(fs.statSync(sdmHome).mode & 0o777).toBe(0o700);
    expect(stateLines(sdmHome).map((l) => l.command)).toEqual(['admin users list']);
    expect(fs.existsSync(home)).toBe(false);
    expect(sdm(['admin', 'clusters', 'list', '--json'], { sdmHome, home: null }).code).toBe(0);
    expect(stateLines(sdmHome)).toHaveLength(2);
  });

  it('writes its state even when strongDM then refuses the token', () => {
    expect(sdm(['admin', 'users', 'list', '--json'], { token: 'wrong-token-123' }).code).toBe(1);
    expect(sdm(['admin', 'users', 'list', '--json'], { token: null }).code).toBe(1);
    expect(stateLines(path.join(home, '.sdm'))).toHaveLength(2);
  });

  it('--help, --version, usage errors and unknown subcommands write nothing', () => {
    expect(sdm(['--version']).code).toBe(0);
    expect(sdm(['admin', 'users', 'list', '--help']).code).toBe(0);
    expect(sdm(['admin', 'users', 'list', '--jsn']).code).toBe(1);
    expect(sdm(['admin', 'users', 'nope']).code).toBe(3);
    expect(fs.existsSync(home)).toBe(false);
  });

  it('refuses admin commands when neither SDM_HOME nor HOME is set (empty counts as unset)', () => {
    for (const opts of [{ home: null }, { home: '' }, { home: null, sdmHome: '' }]) {
      const list = sdm(['admin', 'users', 'list', '--json'], opts);
      expect(list.code).toBe(1);
      expect(list.stderr).toMatch(/home/i);
      expect(list.stdout).toBe('');
      const g = sdm(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR)), opts);
      expect(g.code).toBe(1);
      expect(g.stderr).toMatch(/SDM_HOME nor HOME/);
    }
    expect(readSdmState(statePath).grants).toEqual([]);
    expect(sdm(['--version'], { home: null }).code).toBe(0);
  });

  it('refuses when its home cannot be written', () => {
    fs.writeFileSync(path.join(tmp, 'a-file'), '');
    const r = sdm(['admin', 'users', 'list', '--json'], { sdmHome: path.join(tmp, 'a-file') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write the sdm state/);
  });

  it('faults still apply after the home is written', () => {
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'users list', action: 'fail' });
    });
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(1);
    expect(stateLines(path.join(home, '.sdm'))).toHaveLength(1);
  });
});

describe('fake sdm CLI: environment recorded per invocation', () => {
  it('records HOME, SDM_HOME and the names (not values) of SDM_* variables', () => {
    const sdmHome = path.join(tmp, 'sdm-home');
    sdm(['admin', 'users', 'list', '--json'], {
      sdmHome,
      env: { SDM_APP_DOMAIN: 'app.uk.strongdm.com', NOT_SDM: 'x', SDMX: 'y' },
    });
    sdm(['--version'], { token: null, home: null });
    const [a, b] = readSdmState(statePath).invocations;
    expect(a).toMatchObject({
      home,
      sdmHome,
      sdmEnv: ['SDM_ADMIN_TOKEN', 'SDM_APP_DOMAIN', 'SDM_HOME'],
      tokenFromEnv: true,
      tokenInArgv: false,
      exitCode: 0,
    });
    expect(JSON.stringify(a)).not.toContain(defaultSdmToken);
    expect(JSON.stringify(a)).not.toContain('app.uk.strongdm.com');
    expect(b).toMatchObject({ home: null, sdmHome: null, sdmEnv: [], tokenFromEnv: false });
  });
});

describe('fake sdm CLI: permission levels', () => {
  const seed = [
    { id: 'a-adm', email: 'adm@example.com', permissionLevel: 'admin' },
    { id: 'a-usr', email: 'usr@example.com', permissionLevel: 'user' },
    { id: 'a-lvl', email: 'lvl@example.com', permissionLevel: 'suspended' },
    { id: 'a-both', email: 'both@example.com', permissionLevel: 'suspended', suspended: true },
    { id: 'a-flag', email: 'flag@example.com', suspended: true },
    { id: 'a-none', email: 'none@example.com' },
  ];

  it('lists permissionLevel when seeded, and suspended exactly as seeded', () => {
    writeSdmState(statePath, { users: seed, resources: RESOURCES });
    const users = JSON.parse(sdm(['admin', 'users', 'list', '--json']).stdout) as Array<
      Record<string, unknown>
    >;
    const by = Object.fromEntries(users.map((u) => [u.id, u]));
    expect(by['a-adm']).toMatchObject({ permissionLevel: 'admin', suspended: false });
    expect(by['a-usr']).toMatchObject({ permissionLevel: 'user', suspended: false });
    expect(by['a-lvl']).toMatchObject({ permissionLevel: 'suspended', suspended: false });
    expect(by['a-both']).toMatchObject({ permissionLevel: 'suspended', suspended: true });
    expect(by['a-flag']).toMatchObject({ suspended: true });
    expect(by['a-flag']).not.toHaveProperty('permissionLevel');
    expect(by['a-none']).not.toHaveProperty('permissionLevel');
    const filtered = JSON.parse(
      sdm(['admin', 'users', 'list', '--json', '--filter', 'permissionLevel:SUSPENDED']).stdout,
    ) as Array<{ id: string }>;
    expect(filtered.map((u) => u.id)).toEqual(['a-lvl', 'a-both']);
  });

  it("a permission level 'suspended' is treated like suspended: true (the fake refuses neither's grants)", () => {
    writeSdmState(statePath, { users: seed, resources: RESOURCES });
    const codes = ['lvl@example.com', 'flag@example.com', 'none@example.com'].map(
      (email) => sdm(grantArgs('prod-postgres', email, at(0), at(HOUR))).code,
    );
    expect(codes).toEqual([0, 0, 0]);
  });
});

describe('fake sdm CLI: latency', () => {
  /** Runs `args` and returns when it exited (test clock) and its exit code. */
  const timedRun = async (args: string[]) => {
    const r = await sdmAsync(args);
    return { ...r, closedAt: Date.now() };
  };

  it('answers latencyMs after processing, without holding the lock: two concurrent calls overlap', async () => {
    updateSdmState(statePath, (s) => {
      s.latencyMs = 300;
    });
    const [list, grantRun] = await Promise.all([
      timedRun(['admin', 'users', 'list', '--json']),
      timedRun(grantArgs('prod-postgres', 'bob@example.com', at(0), at(HOUR))),
    ]);
    expect([list.code, grantRun.code]).toEqual([0, 0]);
    const s = readSdmState(statePath);
    expect(s.grants).toHaveLength(1);
    const processedAt = (verb: string) => Date.parse(s.invocations.find((i) => i.argv[2] === verb)?.at ?? '');
    const [listAt, grantAt] = [processedAt('list'), processedAt('grant-temporary')];
    // each answered latencyMs after it was processed...
    expect(list.closedAt - listAt).toBeGreaterThanOrEqual(290);
    expect(grantRun.closedAt - grantAt).toBeGreaterThanOrEqual(290);
    // ...and the two waits overlapped: both answered well before 2 x latencyMs after the first was processed
    expect(Math.max(list.closedAt, grantRun.closedAt) - Math.min(listAt, grantAt)).toBeLessThan(550);
  });

  it('help and version do not wait; refusals do', async () => {
    updateSdmState(statePath, (s) => {
      s.latencyMs = 1500;
    });
    const version = await timedRun(['--version']);
    const help = await timedRun(['admin', 'users', '--help']);
    const refused = await timedRun(['admin', 'users', 'list', '--json', '--nope']);
    const processed = readSdmState(statePath).invocations.map((i) => Date.parse(i.at));
    expect(version.closedAt - (processed[0] ?? 0)).toBeLessThan(1000);
    expect(help.closedAt - (processed[1] ?? 0)).toBeLessThan(1000);
    expect(refused.code).toBe(1);
    expect(refused.closedAt - (processed[2] ?? 0)).toBeGreaterThanOrEqual(1490);
  });
});

describe('fake sdm CLI: write limit (strongDM: 500 writes per minute per token)', () => {
  const EXHAUSTED = "resource exhausted: Sorry! You've made too many requests, try again";
  const grantFor = (email: string) => grantArgs('prod-postgres', email, at(0), at(HOUR));
  const setLimit = (max: number, windowMs: number, writeTimes?: number[]) =>
    updateSdmState(statePath, (s) => {
      s.writeLimit = { max, windowMs };
      if (writeTimes) s.writeTimes = writeTimes;
    });

  it('is on by default: a full window refuses grant and revoke, but not lists', () => {
    const now = Date.now();
    expect(readSdmState(statePath).writeLimit).toEqual({ max: 500, windowMs: 60_000 });
    updateSdmState(statePath, (s) => {
      s.writeTimes = Array.from({ length: 500 }, (_, i) => now - 50_000 + i);
    });
    const g = sdm(grantFor('bob@example.com'));
    expect([g.code, g.stderr.trim()]).toEqual([1, EXHAUSTED]);
    const r = sdm(['admin', 'users', 'revoke', 'prod-postgres', 'bob@example.com']);
    expect([r.code, r.stderr.trim()]).toEqual([1, EXHAUSTED]);
    expect(sdm(['admin', 'users', 'list', '--json']).code).toBe(0);
    const s = readSdmState(statePath);
    expect(s.grants).toEqual([]);
    expect(s.invocations.map((i) => i.rateLimited)).toEqual([true, true, undefined]);
    expect(s.writeTimes).toHaveLength(502);
  });

  it('max 3 per 2 s: 3 of 4 grants pass, the 4th is refused and changes nothing; after the window, one passes', async () => {
    setLimit(3, 2000);
    const results = await Promise.all(
      ['u0', 'u1', 'u2', 'u3'].map((u) => sdmAsync(grantFor(`${u}@example.com`))),
    );
    expect(results.filter((r) => r.code === 0)).toHaveLength(3);
    const refused = results.filter((r) => r.code !== 0);
    expect(refused.map((r) => [r.code, r.stderr.trim(), r.stdout])).toEqual([[1, EXHAUSTED, '']]);
    let s = readSdmState(statePath);
    expect(s.grants).toHaveLength(3);
    expect(s.invocations.filter((i) => i.rateLimited)).toEqual([
      expect.objectContaining({ exitCode: 1, rateLimited: true }),
    ]);
    expect(s.writeTimes).toHaveLength(4);
    await new Promise((r) => setTimeout(r, Math.max(...s.writeTimes) + 2050 - Date.now()));
    expect(sdm(grantFor('u4@example.com')).code).toBe(0);
    s = readSdmState(statePath);
    expect(s.grants).toHaveLength(4);
    expect(s.writeTimes).toHaveLength(1); // pruned to the window
  });

  it('a refused attempt counts toward the window, and so does a write strongDM refuses', () => {
    setLimit(1, 60_000);
    expect(sdm(grantFor('nobody@example.com')).code).toBe(1); // unknown user: counted all the same
    expect(sdm(grantFor('bob@example.com')).stderr.trim()).toBe(EXHAUSTED);
    // the first write ages out of the window; the refused one is still in it
    updateSdmState(statePath, (s) => {
      s.writeTimes = [Date.now() - 120_000, ...s.writeTimes.slice(1)];
    });
    expect(sdm(grantFor('bob@example.com')).stderr.trim()).toBe(EXHAUSTED);
    setLimit(1, 60_000, [Date.now() - 120_000]);
    expect(sdm(grantFor('bob@example.com')).code).toBe(0);
    expect(readSdmState(statePath).invocations.map((i) => i.rateLimited ?? false)).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('does not count calls refused before strongDM (token, usage), nor let a refused write consume a fault', () => {
    setLimit(1, 60_000);
    updateSdmState(statePath, (s) => {
      s.faults.push({ command: 'grant-temporary', action: 'fail', stderr: 'boom' });
    });
    expect(sdm(grantFor('bob@example.com'), { token: 'wrong-token-1' }).code).toBe(1);
    expect(sdm([...grantFor('bob@example.com'), 'extra']).code).toBe(1);
    expect(readSdmState(statePath).writeTimes).toEqual([]);
    expect(sdm(grantFor('bob@example.com')).stderr.trim()).toBe('boom'); // counted, then the fault
    expect(sdm(grantFor('bob@example.com')).stderr.trim()).toBe(EXHAUSTED);
    expect(readSdmState(statePath).faults).toEqual([]);
  });

  it('writeLimit null lifts the limit (kinder than strongDM: for a benchmark setup only)', () => {
    const now = Date.now();
    updateSdmState(statePath, (s) => {
      s.writeLimit = null;
      s.writeTimes = Array.from({ length: 1000 }, () => now);
    });
    for (const u of ['u0', 'u1', 'u2']) expect(sdm(grantFor(`${u}@example.com`)).code).toBe(0);
    expect(readSdmState(statePath).grants).toHaveLength(3);
  });
});
