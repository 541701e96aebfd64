import { describe, expect, it } from 'vitest';
import type { OnCallRow } from '../../src/pagerduty.js';
import { matchAccounts, planGrantWindows, rfc3339 } from '../../src/plan.js';

const now = new Date('2026-11-26T08:30:00.750Z');
const H = 3_600_000;
const at = (iso: string) => new Date(iso);

function oncall(
  overrides: Partial<OnCallRow> & { userId?: string; level?: number; scheduleId?: string | null },
): OnCallRow {
  const { userId = 'PUSER01', level = 1, scheduleId = 'PSCHED1', ...rest } = overrides;
  return {
    user: { id: userId, name: `Name of ${userId}`, email: `${userId.toLowerCase()}@example.com` },
    schedule: scheduleId === null ? null : { id: scheduleId, name: `Schedule ${scheduleId}` },
    escalationPolicy: { id: 'PEP0001', name: 'Ops' },
    escalationLevel: level,
    start: at('2026-11-26T09:00:00Z'),
    end: at('2026-11-26T17:00:00Z'),
    ...rest,
  };
}

const plan = (oncalls: OnCallRow[], resources = ['db'], lookaheadMs = 24 * H) =>
  planGrantWindows({ oncalls, resources, now, lookaheadMs }).map((w) => ({
    user: w.pagerdutyUserId,
    resource: w.resource,
    from: rfc3339(w.from),
    until: rfc3339(w.until),
    level: w.source.escalationLevel,
  }));

describe('planGrantWindows', () => {
  it('keeps a future shift as it is, once per resource', () => {
    expect(plan([oncall({})], ['db', 'bastion'])).toEqual([
      {
        user: 'PUSER01',
        resource: 'bastion',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        level: 1,
      },
      {
        user: 'PUSER01',
        resource: 'db',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        level: 1,
      },
    ]);
  });

  it('clamps a shift that began earlier to now (whole seconds)', () => {
    const [window] = plan([oncall({ start: at('2026-11-20T09:00:00Z') })]);
    expect(window?.from).toBe('2026-11-26T08:30:00Z');
  });

  it('bounds permanent and never-ending on-calls to now + lookahead', () => {
    const rows = plan(
      [
        oncall({ userId: 'PPERM01', scheduleId: null, start: null, end: null }),
        oncall({ userId: 'PEND001', start: at('2026-11-26T10:00:00Z'), end: null }),
      ],
      ['db'],
      6 * H,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        user: 'PPERM01',
        from: '2026-11-26T08:30:00Z',
        until: '2026-11-26T14:30:00Z',
      }),
      expect.objectContaining({
        user: 'PEND001',
        from: '2026-11-26T10:00:00Z',
        until: '2026-11-26T14:30:00Z',
      }),
    ]);
  });

  it('makes one grant of a shift reached through two policies and levels, keeping the lowest level', () => {
    const rows = plan([
      oncall({ level: 2 }),
      oncall({ level: 1, escalationPolicy: { id: 'PEP0002', name: 'DB' } }),
    ]);
    expect(rows).toEqual([expect.objectContaining({ level: 1, until: '2026-11-26T17:00:00Z' })]);
  });

  it('merges overlapping and touching windows but not separate ones', () => {
    const rows = plan([
      oncall({ start: at('2026-11-26T09:00:00Z'), end: at('2026-11-26T12:00:00Z') }),
      oncall({ start: at('2026-11-26T11:00:00Z'), end: at('2026-11-26T13:00:00Z') }),
      oncall({ start: at('2026-11-26T13:00:00Z'), end: at('2026-11-26T14:00:00Z') }),
      oncall({ start: at('2026-11-26T20:00:00Z'), end: at('2026-11-26T22:00:00Z') }),
    ]);
    expect(rows.map((r) => [r.from, r.until])).toEqual([
      ['2026-11-26T09:00:00Z', '2026-11-26T14:00:00Z'],
      ['2026-11-26T20:00:00Z', '2026-11-26T22:00:00Z'],
    ]);
  });

  it('never merges different people', () => {
    const rows = plan([oncall({ userId: 'PUSER01' }), oncall({ userId: 'PUSER02' })]);
    expect(rows.map((r) => r.user).sort()).toEqual(['PUSER01', 'PUSER02']);
  });

  it('drops shifts that are already over', () => {
    expect(plan([oncall({ start: at('2026-11-25T09:00:00Z'), end: at('2026-11-26T08:00:00Z') })])).toEqual(
      [],
    );
  });

  it('sorts by start time', () => {
    const rows = plan([
      oncall({ userId: 'PLATE01', start: at('2026-11-26T20:00:00Z'), end: at('2026-11-26T21:00:00Z') }),
      oncall({ userId: 'PEARLY1', start: at('2026-11-26T10:00:00Z'), end: at('2026-11-26T11:00:00Z') }),
    ]);
    expect(rows.map((r) => r.user)).toEqual(['PEARLY1', 'PLATE01']);
  });
});

describe('matchAccounts', () => {
  const windows = planGrantWindows({
    oncalls: [
      oncall({ userId: 'PADA001', user: { id: 'PADA001', name: 'Ada', email: 'Ada@Example.com' } }),
      oncall({ userId: 'PBOB001', user: { id: 'PBOB001', name: 'Bob', email: 'bob@example.com' } }),
      oncall({ userId: 'PEVE001', user: { id: 'PEVE001', name: 'Eve', email: '--admin-token=x' } }),
      oncall({ userId: 'PNOE001', user: { id: 'PNOE001', name: 'No email' } }),
    ],
    resources: ['db'],
    now,
    lookaheadMs: 24 * H,
  });

  it('matches emails case-insensitively and uses the strongDM spelling', () => {
    const rows = matchAccounts(windows, ['ada@example.COM']);
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName.Ada).toMatchObject({ status: 'pending', sdmEmail: 'ada@example.COM', missingUser: false });
    expect(byName.Bob).toMatchObject({
      status: 'skipped',
      missingUser: true,
      reason: 'no strongDM user has this email',
    });
    expect(byName.Eve).toMatchObject({ status: 'skipped', missingUser: false });
    expect(byName.Eve?.reason).toMatch(/flag/);
    expect(byName['No email']).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/no email/),
    });
  });

  it('leaves usable rows pending when accounts were not checked', () => {
    const rows = matchAccounts(windows, undefined);
    expect(
      rows
        .filter((r) => r.status === 'pending')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['Ada', 'Bob']);
  });
});
