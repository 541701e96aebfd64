import { afterEach, describe, expect, it, vi } from 'vitest';
import { planOutput, warnPeople } from './report.js';
import {
  HOSTILE_INCIDENT_TEXT,
  incidentRef,
  incidentRow,
  notOnCallSource,
  reportRow as row,
} from '../test/samples.js';
import type { PlanRow } from './types.js';

const context = { runUrl: 'https://github.com/acme/ops/actions/runs/7' };

describe('planOutput', () => {
  it('has the contract keys with UTC RFC3339 times', () => {
    expect(planOutput([row()], context.runUrl)).toEqual([
      {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        pagerdutyUserId: 'PADA001',
        scheduleId: 'PSCHED1',
        scheduleName: 'Platform Primary',
        escalationPolicyId: 'PEP0001',
        escalationLevel: 1,
        rule: 'default',
        resource: 'prod-postgres',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'granted',
        reason: '',
        runUrl: 'https://github.com/acme/ops/actions/runs/7',
        incident: null,
      },
    ]);
  });

  it('names the incident of an incident grant, as PagerDuty has it (JSON escapes it)', () => {
    const title = HOSTILE_INCIDENT_TEXT.join(' ');
    // A ledger entry's incident may carry more than the contract's keys: the output has those only.
    const recorded = { ...incidentRef({ title }), assignees: ['PADA001'] };
    const rows = [incidentRow({ source: notOnCallSource(recorded) })];
    const [output] = planOutput(rows, context.runUrl);
    expect(output).toMatchObject({
      scheduleId: null,
      scheduleName: '',
      escalationLevel: 0,
      rule: 'incident-db-write',
      resource: 'prod-db-write',
      incident: {
        id: 'Q1INCIDENT',
        number: 123,
        title,
        url: 'https://acme.pagerduty.com/incidents/Q1INCIDENT',
        serviceId: 'PSVC123',
        serviceName: 'Payments API',
      },
    });
    // Exactly the contract's keys, and the output stays one line of JSON that reads back the same.
    expect(Object.keys((output as { incident: object }).incident)).toEqual([
      'id',
      'number',
      'title',
      'url',
      'serviceId',
      'serviceName',
    ]);
    const json = JSON.stringify(planOutput(rows, context.runUrl));
    expect(json).not.toContain('\n::');
    expect(JSON.parse(json)).toEqual(planOutput(rows, context.runUrl));
  });
});

describe('warnPeople', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The workflow commands (::warning::…) that warnPeople writes to stdout. */
  function warnings(rows: PlanRow[]): string[] {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    warnPeople(rows);
    vi.restoreAllMocks();
    return written.join('').split('\n').filter(Boolean);
  }

  const stale = (overrides: Partial<PlanRow>) =>
    incidentRow({ status: 'stale', ...overrides } as never) as PlanRow;

  it('says of a stale incident grant that its incident is resolved or no longer matches, not that on-call changed', () => {
    const [line, ...rest] = warnings([
      stale({ reason: 'incident #123 is resolved', unbacked: true } as never),
      stale({
        name: 'Bob',
        pagerdutyUserId: 'PBOB',
        reason: 'whatever plan.ts says',
        unbacked: true,
      } as never),
    ]);
    expect(line).toBe(
      '::warning::Stale grant: Ada Lovelace <ada@example.com> holds prod-db-write until 2026-11-26T11:00:00Z: ' +
        'incident #123 is resolved or no longer matches (set revoke-stale: true to revoke it).',
    );
    expect(rest).toEqual([line?.replace('Ada Lovelace <ada', 'Bob <ada')]);
    const [shift] = warnings([
      {
        ...row({ status: 'stale' } as never),
        reason: 'PagerDuty no longer has this person on call',
        unbacked: true,
      } as PlanRow,
    ]);
    expect(shift).toMatch(/until 2026-11-26T17:00:00Z, which PagerDuty no longer backs \(set revoke-stale/);
  });

  it('warns only about grants marked as no longer backed (not by their reason), never with the title', () => {
    expect(
      warnings([
        stale({ reason: 'strongDM has no active user with this email any more', accountGone: true } as never),
        stale({ reason: 'revoked together with a stale grant of the same user and resource' }),
        stale({ reason: 'PagerDuty no longer has this person on call (but not marked unbacked)' }),
      ]),
    ).toEqual([]);
    const hostile = incidentRef({ title: 'x\n::add-mask::y <script>', serviceName: '::stop-commands::z' });
    const lines = warnings([
      incidentRow({ status: 'skipped', reason: 'no strongDM user has this email' }, hostile) as PlanRow,
      stale({
        status: 'pending-revoke',
        reason: 'incident #123 is resolved',
        source: notOnCallSource(hostile),
        unbacked: true,
      } as never),
    ]);
    expect(lines).toEqual([
      '::warning::Ada Lovelace <ada@example.com> is assigned incident #123 but gets no access: no strongDM user has this email',
      '::warning::Stale grant: Ada Lovelace <ada@example.com> holds prod-db-write until 2026-11-26T11:00:00Z: incident #123 is resolved or no longer matches.',
    ]);
  });
});
