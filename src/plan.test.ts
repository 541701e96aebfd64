import { describe, expect, it } from 'vitest';
import type { OnCallRow } from './pagerduty.js';
import {
  reconcile,
  resolveAccount,
  rfc3339,
  strongDmEmails,
  subtract,
  type Account,
  type ReconcileInput,
} from './plan.js';
import type { LedgerEntry, PlanRow } from './types.js';
import { incidentRef, onCallRow as oncall, rule } from '../test/samples.js';
import { desiredWindows, type DesiredWindow } from './windows.js';
import type { Rule } from './rules.js';

const now = new Date('2026-11-26T08:30:00.750Z');
const H = 3_600_000;
const at = (iso: string) => new Date(iso);
const iso = (hoursFromNow: number) =>
  rfc3339(new Date(Math.floor(now.getTime() / 1000) * 1000 + hoursFromNow * H));

const windowsOf = (oncalls: OnCallRow[], rules = [rule()], leadMs = 0, graceMs = 0) =>
  desiredWindows({ oncalls, rules, now, leadMs, graceMs });

/** reconcile() with this file's defaults: no ledger, 24h lookahead, 7d cap, no revoking, no fail-safe. */
const reconcileWith = (input: Partial<ReconcileInput>) =>
  reconcile({
    windows: [],
    accounts: new Map(),
    ledger: [],
    now,
    lookaheadMs: 24 * H,
    maxGrantMs: 7 * 24 * H,
    revokeStale: false,
    failSafe: false,
    ...input,
  });

/** Plans with everyone having an account under their PagerDuty email. */
function plan(oncalls: OnCallRow[], options: Partial<ReconcileInput> & { rules?: Rule[] } = {}) {
  const { rules, ...input } = options;
  const windows = windowsOf(oncalls, rules);
  const accounts = new Map<string, Account>(
    windows.map((w) => [w.pagerdutyUserId, { sdmEmail: w.email, missingUser: false }]),
  );
  return reconcileWith({ windows, accounts, ...input });
}

const brief = (rows: PlanRow[]) =>
  rows.map((r) => ({
    who: r.pagerdutyUserId,
    resource: r.resource,
    from: rfc3339(r.from),
    until: rfc3339(r.until),
    status: r.status,
  }));

function entry(email: string, from: string, until: string, resource = 'db'): LedgerEntry {
  return {
    id: `${email}-${from}`,
    email,
    resource,
    from,
    until,
    grantedAt: from,
    runId: '1',
    runUrl: 'https://github.com/acme/ops/actions/runs/1',
    name: email,
    pagerdutyUserId: email.split('@')[0]?.toUpperCase() ?? '',
    rule: 'default',
    source: {
      scheduleId: 'PSCHED1',
      scheduleName: 'S',
      escalationPolicyId: 'PEP0001',
      escalationPolicyName: 'Ops',
      escalationLevel: 1,
    },
  };
}

describe('resolveAccount', () => {
  const person = { pagerdutyUserId: 'PADA001', name: 'Ada', email: 'Ada@Example.com' };
  it('matches case-insensitively, with user-map by user ID or email first', () => {
    expect(resolveAccount(person, new Map(), strongDmEmails(['ada@example.COM']))).toEqual({
      sdmEmail: 'ada@example.COM',
      missingUser: false,
    });
    const byId = new Map([['pada001', 'ada.l@corp.example']]);
    expect(resolveAccount(person, byId, strongDmEmails(['ada.l@corp.example'])).sdmEmail).toBe(
      'ada.l@corp.example',
    );
    const byEmail = new Map([['ada@example.com', 'ada.l@corp.example']]);
    expect(resolveAccount(person, byEmail, strongDmEmails(['ada.l@corp.example'])).sdmEmail).toBe(
      'ada.l@corp.example',
    );
  });

  it('skips people without an account, a usable email, or any email', () => {
    expect(resolveAccount(person, new Map(), strongDmEmails(['bob@example.com']))).toMatchObject({
      missingUser: true,
      skipReason: expect.stringMatching(/no strongDM user/),
    });
    expect(resolveAccount({ ...person, email: '--admin-token=x' }, new Map(), undefined).skipReason).toMatch(
      /flag/,
    );
    expect(resolveAccount({ ...person, email: 'a b@c.d' }, new Map(), undefined).skipReason).toMatch(
      /whitespace/,
    );
    expect(resolveAccount({ ...person, email: undefined }, new Map(), undefined).skipReason).toMatch(
      /no email/,
    );
    expect(resolveAccount(person, new Map(), undefined)).toEqual({
      sdmEmail: 'Ada@Example.com',
      missingUser: false,
    });
  });

  it('compares emails in ASCII case only and skips non-ASCII PagerDuty emails', () => {
    const kelvin = { pagerdutyUserId: 'PKATE01', name: 'Kate?', email: '\u212Aate@example.com' };
    expect('\u212Aate@example.com'.toLowerCase()).toBe('kate@example.com'); // the look-alike this guards against
    expect(resolveAccount(kelvin, new Map(), strongDmEmails(['kate@example.com']))).toEqual({
      skipReason: 'the email has non-ASCII characters; map it in user-map',
      missingUser: false,
    });
    expect(resolveAccount(kelvin, new Map(), undefined).skipReason).toMatch(/non-ASCII/);
    // Nor does a look-alike pick up another person's user-map entry.
    const kateMap = new Map([['kate@example.com', 'kate@corp.example']]);
    expect(resolveAccount(kelvin, kateMap, strongDmEmails(['kate@corp.example'])).skipReason).toMatch(
      /non-ASCII/,
    );
    // user-map (written by an admin) may name a non-ASCII account; it is compared exactly but for ASCII case.
    const mapped = new Map([['pkate01', 'KÄTE@example.com']]);
    expect(resolveAccount(kelvin, mapped, strongDmEmails(['käte@example.com'])).missingUser).toBe(true); // Ä is not ä here
    expect(resolveAccount(kelvin, mapped, strongDmEmails(['kÄte@example.com'])).sdmEmail).toBe(
      'kÄte@example.com',
    );
  });
});

describe('strongDmEmails', () => {
  it('finds an email by its ASCII lower case, in strongDM spelling, the first of two spellings winning', () => {
    const emails = strongDmEmails([
      'Grace.Hopper@Example.com',
      'grace.hopper@example.com',
      'ada@example.com',
    ]);
    expect(emails.get('grace.hopper@example.com')).toBe('Grace.Hopper@Example.com');
    expect(emails.get('ada@example.com')).toBe('ada@example.com');
    expect(emails.size).toBe(2);
  });

  it('folds no non-ASCII letter: the Kelvin sign is not a k', () => {
    expect(strongDmEmails(['\u212Aate@example.com']).get('kate@example.com')).toBeUndefined();
  });
});

describe('reconcile', () => {
  it('grants every window on a first run, once per resource', () => {
    expect(brief(plan([oncall({})], { rules: [rule({ resources: ['db', 'bastion'] })] }))).toEqual([
      {
        who: 'PUSER01',
        resource: 'bastion',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'pending',
      },
      {
        who: 'PUSER01',
        resource: 'db',
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'pending',
      },
    ]);
  });

  it('makes no grant for a window the ledger already covers', () => {
    const ledger = [entry('puser01@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z')];
    expect(brief(plan([oncall({})], { ledger })).map((r) => r.status)).toEqual(['unchanged']);
  });

  it('grants exactly the uncovered part, never overlapping a grant already made', () => {
    const ledger = [entry('puser01@example.com', '2026-11-26T09:00:00Z', '2026-11-26T12:00:00Z')];
    expect(brief(plan([oncall({})], { ledger }))).toEqual([
      expect.objectContaining({
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T12:00:00Z',
        status: 'unchanged',
      }),
      expect.objectContaining({
        from: '2026-11-26T12:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'pending',
      }),
    ]);
  });

  it('keeps a stale grant, saying why, when sdm cannot revoke', () => {
    const ledger = [entry('puser01@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z')];
    const oncalls = [oncall({ end: at('2026-11-26T13:00:00Z') })];
    const rows = plan(oncalls, {
      ledger,
      revokeStale: false,
      revokeUnavailable: 'sdm offers no revoke command',
    });
    expect(rows.map((row) => [row.status, row.reason])).toEqual([
      ['stale', expect.stringMatching(/^PagerDuty no longer .*; sdm offers no revoke command$/)],
    ]);
  });

  it('marks a grant PagerDuty no longer backs as stale, and with revoke-stale revokes the pair and grants again', () => {
    const ledger = [
      entry('puser01@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z'),
      entry('puser02@example.com', '2026-11-26T18:00:00Z', '2026-11-26T20:00:00Z'), // override gave it away
    ];
    // PagerDuty now: PUSER01 until 13:00 only.
    const oncalls = [oncall({ end: at('2026-11-26T13:00:00Z') })];
    expect(brief(plan(oncalls, { ledger })).map((r) => [r.who, r.status])).toEqual([
      ['PUSER01', 'stale'],
      ['PUSER02', 'stale'],
    ]);
    const revoking = brief(plan(oncalls, { ledger, revokeStale: true }));
    expect(revoking).toHaveLength(3);
    expect(revoking).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ who: 'PUSER01', status: 'pending-revoke', until: '2026-11-26T17:00:00Z' }),
        expect.objectContaining({
          who: 'PUSER01',
          status: 'pending',
          from: '2026-11-26T09:00:00Z',
          until: '2026-11-26T13:00:00Z',
        }),
        expect.objectContaining({ who: 'PUSER02', status: 'pending-revoke' }),
      ]),
    );
  });

  it('counts time a grant holds beyond the shift (e.g. a shorter lead time) as stale', () => {
    const ledger = [entry('puser01@example.com', '2026-11-26T08:00:00Z', '2026-11-26T17:00:00Z')];
    expect(brief(plan([oncall({})], { ledger })).map((r) => r.status)).toEqual(['stale']);
  });

  it('does not revoke a grant in force for a stale grant that has not started yet', () => {
    const ledger = [
      entry('puser01@example.com', '2026-11-26T08:00:00Z', '2026-11-26T17:00:00Z'), // in force, still backed
      entry('puser01@example.com', '2026-11-26T20:00:00Z', '2026-11-26T22:00:00Z'), // swapped away
    ];
    const oncalls = [oncall({ start: at('2026-11-26T08:00:00Z') })];
    const rows = brief(plan(oncalls, { ledger, revokeStale: true }));
    expect(rows.map((r) => r.status)).toEqual(['unchanged', 'stale']);
    const later = plan(oncalls, { ledger, revokeStale: true }).find((r) => r.status === 'stale');
    expect(later?.reason).toMatch(/revoked once the grant in force ends/);
  });

  it('ends the grants of an account strongDM no longer has, without revoking or re-granting', () => {
    const ledger = [entry('gone@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z')];
    const rows = reconcileWith({
      ledger,
      revokeStale: true,
      sdmEmails: strongDmEmails(['someone.else@example.com']),
    });
    expect(rows).toEqual([
      expect.objectContaining({
        status: 'stale',
        accountGone: true,
        reason: expect.stringMatching(/no active user/),
      }),
    ]);
  });

  it('treats nothing as stale in fail-safe mode', () => {
    const ledger = [entry('puser01@example.com', '2026-11-26T09:00:00Z', '2026-11-26T17:00:00Z')];
    expect(brief(plan([], { ledger, failSafe: true, revokeStale: true })).map((r) => r.status)).toEqual([
      'unchanged',
    ]);
  });

  it('caps every grant at max-grant-duration and leaves later pieces to a later run', () => {
    const long = oncall({ start: at('2026-11-26T00:00:00Z'), end: at('2026-12-10T00:00:00Z') });
    expect(brief(plan([long], { maxGrantMs: 7 * 24 * H }))).toEqual([
      expect.objectContaining({
        from: '2026-11-26T08:30:00Z',
        until: '2026-12-03T08:30:00Z',
        status: 'pending',
      }),
    ]);
    // Six days later the first piece is in the ledger and ends within the lookahead: the next piece follows it.
    const ledger = [entry('puser01@example.com', '2026-11-26T08:30:00Z', iso(23))];
    expect(brief(plan([long], { ledger, maxGrantMs: 7 * 24 * H }))).toEqual([
      expect.objectContaining({ status: 'unchanged' }),
      expect.objectContaining({ from: iso(23), until: iso(23 + 7 * 24), status: 'pending' }),
    ]);
  });

  it('bounds a permanent on-call and does not extend it again until the grant nears its end', () => {
    const permanent = oncall({ scheduleId: null, start: null, end: null });
    const [first] = brief(plan([permanent], { maxGrantMs: 7 * 24 * H }));
    expect(first).toMatchObject({ from: iso(0), until: iso(7 * 24), status: 'pending' });
    const ledger = [entry('puser01@example.com', iso(-1), iso(7 * 24 - 1))];
    expect(brief(plan([permanent], { ledger })).map((r) => r.status)).toEqual(['unchanged']);
  });

  it('merges two PagerDuty users who are one strongDM account', () => {
    const windows = windowsOf([
      oncall({ userId: 'PONE001', end: at('2026-11-26T12:00:00Z') }),
      oncall({ userId: 'PTWO001', start: at('2026-11-26T12:00:00Z') }),
    ]);
    const accounts = new Map<string, Account>([
      ['PONE001', { sdmEmail: 'same@example.com', missingUser: false }],
      ['PTWO001', { sdmEmail: 'SAME@example.com', missingUser: false }],
    ]);
    const rows = reconcileWith({
      windows,
      accounts,
    });
    expect(brief(rows)).toEqual([
      expect.objectContaining({
        from: '2026-11-26T09:00:00Z',
        until: '2026-11-26T17:00:00Z',
        status: 'pending',
      }),
    ]);
  });

  it('reports people without an account as skipped, with a bounded window', () => {
    const windows = windowsOf([oncall({ scheduleId: null, start: null, end: null })]);
    const accounts = new Map<string, Account>([
      ['PUSER01', { skipReason: 'no strongDM user has this email', missingUser: true }],
    ]);
    const rows = reconcileWith({
      windows,
      accounts,
      maxGrantMs: 2 * H,
    });
    expect(brief(rows)).toEqual([
      expect.objectContaining({ status: 'skipped', from: iso(0), until: iso(2) }),
    ]);
    expect(rows[0]?.missingUser).toBe(true);
  });
});

describe('subtract', () => {
  it('removes spans from a window', () => {
    expect(
      subtract(0, 100, [
        [10, 20],
        [50, 150],
      ]),
    ).toEqual([
      [0, 10],
      [20, 50],
    ]);
    expect(subtract(0, Infinity, [[0, 10]])).toEqual([[10, Infinity]]);
    expect(subtract(0, 10, [[0, 10]])).toEqual([]);
  });
});

describe('incident grants', () => {
  const incident = incidentRef();
  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  /** Ada's incident window [now, now + 2h], renewed once less than half of it is left. */
  const incidentWindow = (fromHours = 0, untilHours = 2): DesiredWindow => ({
    pagerdutyUserId: 'ADA',
    name: 'Ada',
    email: 'ada@example.com',
    resource: 'db',
    rule: 'responders',
    source: { ...entry('x@y', iso(0), iso(1)).source, incident },
    from: nowMs + fromHours * H,
    until: nowMs + untilHours * H,
    renewBefore: nowMs + H,
  });
  const adaAccount = new Map<string, Account>([['ADA', { sdmEmail: 'ada@example.com', missingUser: false }]]);
  const incidentEntry = (fromHours: number, untilHours: number): LedgerEntry => ({
    ...entry('ada@example.com', iso(fromHours), iso(untilHours)),
    pagerdutyUserId: 'ADA',
    source: { ...entry('x@y', iso(0), iso(1)).source, incident },
  });
  const planWith = (input: Partial<ReconcileInput>) =>
    brief(reconcileWith({ windows: [incidentWindow()], accounts: adaAccount, ...input }));

  it('grants the incident window, carrying the incident', () => {
    const rows = reconcileWith({ windows: [incidentWindow()], accounts: adaAccount });
    expect(brief(rows)).toEqual([
      { who: 'ADA', resource: 'db', from: iso(0), until: iso(2), status: 'pending' },
    ]);
    expect(rows[0]?.source.incident).toEqual(incident);
  });

  it('extends from where the recorded grant ends once less than half is left, and not before', () => {
    // granted 70 minutes ago for 2h: 50 minutes left, under half → extended from its end, no gap, no overlap
    const seventyMinutesAgo = incidentEntry(-70 / 60, 50 / 60);
    expect(planWith({ ledger: [seventyMinutesAgo] })).toEqual([
      { who: 'ADA', resource: 'db', from: iso(-70 / 60), until: iso(50 / 60), status: 'unchanged' },
      { who: 'ADA', resource: 'db', from: iso(50 / 60), until: iso(2), status: 'pending' },
    ]);
    // granted 5 minutes ago: 1h55m left → nothing to do
    expect(planWith({ ledger: [incidentEntry(-5 / 60, 115 / 60)] }).map((row) => row.status)).toEqual([
      'unchanged',
    ]);
  });

  it('a resolved incident makes its grant stale (revoked with revoke-stale), but not while incidents are unknown', () => {
    const granted = incidentEntry(-1, 1);
    const stale = planWith({ windows: [], ledger: [granted], revokeStale: true });
    expect(stale.map((row) => row.status)).toEqual(['pending-revoke']);
    // Marked as no longer backed (the report warns by the mark, not by the reason's words)...
    const [revoking] = reconcileWith({ ledger: [granted], accounts: adaAccount, revokeStale: true });
    expect(revoking?.status === 'pending-revoke' && revoking.unbacked).toBe(true);
    // ...unlike a backed grant revoked only because it goes with the stale one.
    const backed = { ...entry('ada@example.com', iso(1), iso(3)), pagerdutyUserId: 'ADA' }; // a shift to come
    const together = reconcileWith({
      windows: [{ ...incidentWindow(1, 3), source: backed.source, renewBefore: undefined }],
      ledger: [granted, backed],
      accounts: adaAccount,
      revokeStale: true,
    });
    expect(
      together
        .map((row) => `${row.status} ${row.status === 'pending-revoke' && row.unbacked === true}`)
        .sort(),
    ).toEqual(['pending false', 'pending-revoke false', 'pending-revoke true']);
    const reason = reconcileWith({ ledger: [granted], accounts: adaAccount })[0]?.reason;
    expect(reason).toMatch(/^incident #123 is resolved, reassigned or no longer matches the rule/);
    expect(
      planWith({ windows: [], ledger: [granted], revokeStale: true, incidentJudged: () => false }).map(
        (row) => row.status,
      ),
    ).toEqual(['unchanged']);
  });

  it('the on-call fail-safe does not hold an incident grant: no incidents is normal', () => {
    const granted = incidentEntry(-1, 1);
    const shift = entry('bob@example.com', iso(-1), iso(7));
    expect(
      planWith({ windows: [], ledger: [granted, shift], failSafe: true, revokeStale: true }).map((row) => [
        row.who,
        row.status,
      ]),
    ).toEqual([
      ['ADA', 'pending-revoke'],
      ['BOB', 'unchanged'],
    ]);
  });

  it('grants an incident only the time no on-call window covers, labelled by what backs it, renewed as an incident', () => {
    // Ada is on call until now + 30m; the incident window reaches now + 2h (renewed from now + 1h on).
    const onCall: DesiredWindow = {
      ...incidentWindow(),
      rule: 'db-shift',
      source: entry('x@y', iso(0), iso(1)).source,
      until: nowMs + H / 2,
    };
    delete onCall.renewBefore;
    const rows = reconcileWith({ windows: [onCall, incidentWindow()], accounts: adaAccount });
    expect(
      rows.map((row) => [row.rule, rfc3339(row.from), rfc3339(row.until), row.source.incident?.number]),
    ).toEqual([
      ['db-shift', iso(0), iso(0.5), undefined],
      ['responders', iso(0.5), iso(2), 123],
    ]);
    // A later run (both recorded) while the incident window has more than half left: nothing new.
    const shift = { ...entry('ada@example.com', iso(0), iso(0.5)), pagerdutyUserId: 'ADA' };
    const later = reconcileWith({
      windows: [{ ...onCall }, incidentWindow(0, 2.25)],
      accounts: adaAccount,
      ledger: [shift, incidentEntry(0.5, 2)],
    });
    expect(later.map((row) => row.status)).toEqual(['unchanged', 'unchanged']);
  });

  it('never revokes a pair while it holds a grant in force that this run cannot judge', () => {
    // The incidents could not be read (Ada's incident grant is not judged) and her on-call grant is stale.
    const shift = { ...entry('ada@example.com', iso(-1), iso(3)), pagerdutyUserId: 'ADA' };
    const rows = reconcileWith({
      windows: [],
      accounts: adaAccount,
      ledger: [shift, incidentEntry(-1, 1)],
      revokeStale: true,
      incidentJudged: () => false,
    });
    expect(rows.map((row) => [row.source.incident?.number ?? 'shift', row.status])).toEqual([
      ['shift', 'stale'],
      [123, 'unchanged'],
    ]);
    expect(rows[0]?.reason).toMatch(
      /not revoked in this run: revoking would also end a grant of this resource/,
    );
    // Only the incidents named are held; another incident's grant is judged.
    const other = {
      ...incidentEntry(-1, 1),
      source: { ...incidentEntry(-1, 1).source, incident: { ...incident, id: 'Q2OTHER' } },
    };
    expect(
      planWith({
        windows: [],
        ledger: [other],
        revokeStale: true,
        incidentJudged: (id) => id !== 'Q1INCIDENT',
      }).map((row) => row.status),
    ).toEqual(['pending-revoke']);
  });

  it('revokes nothing that would also end an unjudged grant to come (revoking ends every grant of the pair)', () => {
    // A: an outage (fail-safe) while a resolved incident's grant is stale and tomorrow's shift grant is recorded.
    const tomorrow = { ...entry('ada@example.com', iso(10), iso(18)), pagerdutyUserId: 'ADA' };
    const outage = reconcileWith({
      windows: [],
      accounts: adaAccount,
      ledger: [incidentEntry(-1, 1), tomorrow],
      revokeStale: true,
      failSafe: true,
    });
    expect(outage.map((row) => [rfc3339(row.from), row.status])).toEqual([
      [iso(-1), 'stale'],
      [iso(10), 'unchanged'],
    ]);
    // B: the incidents could not be read; a stale shift grant is followed by the incident grant that continues it.
    const shift = { ...entry('ada@example.com', iso(-1), iso(0.5)), pagerdutyUserId: 'ADA' };
    const failed = reconcileWith({
      windows: [],
      accounts: adaAccount,
      ledger: [shift, incidentEntry(0.5, 2)],
      revokeStale: true,
      incidentJudged: () => false,
    });
    expect(failed.map((row) => [rfc3339(row.from), row.status])).toEqual([
      [iso(-1), 'stale'],
      [iso(0.5), 'unchanged'],
    ]);
  });
});
