import { describe, expect, it } from 'vitest';
import { incident, incidentRef, onCallRow as oncall, rule } from '../test/samples.js';
import type { Incident, OnCallRow } from './pagerduty.js';
import { rfc3339 } from './plan.js';
import type { Rule } from './rules.js';
import { desiredWindows, incidentWindows, mergeWindows } from './windows.js';

const now = new Date('2026-11-26T08:30:00.750Z');
const at = (iso: string) => new Date(iso);

const windowsOf = (oncalls: OnCallRow[], rules = [rule()], leadMs = 0, graceMs = 0) =>
  desiredWindows({ oncalls, rules, now, leadMs, graceMs });

describe('desiredWindows and merging', () => {
  it('clamps to now, applies lead time and grace period, keeps open ends open', () => {
    const [running, future, permanent] = windowsOf(
      [
        oncall({ userId: 'PRUN001', start: at('2026-11-20T09:00:00Z') }),
        oncall({ userId: 'PFUT001' }),
        oncall({ userId: 'PPERM01', scheduleId: null, start: null, end: null }),
      ],
      [rule()],
      15 * 60_000,
      30 * 60_000,
    );
    expect(rfc3339(new Date(running?.from ?? 0))).toBe('2026-11-26T08:30:00Z');
    expect(rfc3339(new Date(future?.from ?? 0))).toBe('2026-11-26T08:45:00Z');
    expect(rfc3339(new Date(future?.until ?? 0))).toBe('2026-11-26T17:30:00Z');
    expect(permanent?.until).toBe(Infinity);
  });

  it('matches rules by schedule, policy (both must match when both given) and level', () => {
    const rows = [
      oncall({ userId: 'PA00001', scheduleId: 'PSCHED1', level: 1 }),
      oncall({ userId: 'PB00001', scheduleId: 'PSCHED2', level: 2 }),
      oncall({
        userId: 'PC00001',
        scheduleId: 'PSCHED1',
        level: 2,
        escalationPolicy: { id: 'PEP0002', name: 'DB' },
      }),
    ];
    const who = (r: Rule) => windowsOf(rows, [r]).map((w) => w.pagerdutyUserId);
    expect(who(rule({ schedules: ['PSCHED1'] }))).toEqual(['PA00001', 'PC00001']);
    expect(who(rule({ schedules: ['PSCHED1'], escalationLevels: [1] }))).toEqual(['PA00001']);
    expect(who(rule({ schedules: [], escalationPolicies: ['PEP0002'] }))).toEqual(['PC00001']);
    expect(who(rule({ schedules: ['PSCHED2'], escalationPolicies: ['PEP0002'] }))).toEqual([]);
    expect(who(rule({ schedules: ['null'] }))).toEqual([]);
  });

  it('merges identical, overlapping and touching windows, keeping the lowest level and its rule', () => {
    const w = (from: number, until: number, level: number, name: string) => ({
      from,
      until,
      rule: name,
      source: {
        scheduleId: 'S',
        scheduleName: 'S',
        escalationPolicyId: 'P',
        escalationPolicyName: 'P',
        escalationLevel: level,
      },
    });
    const merged = mergeWindows([w(0, 10, 2, 'b'), w(0, 10, 1, 'a'), w(10, 12, 3, 'c'), w(20, 30, 1, 'd')]);
    expect(merged.map((m) => [m.from, m.until, m.rule])).toEqual([
      [0, 12, 'a'],
      [20, 30, 'd'],
    ]);
  });
});

describe('incidentWindows', () => {
  // now is 08:30:00.750; PUSER01 is on call 09:00–17:00 at level 1 of PEP0001 (onCallRow's default).
  const incidentRule = (overrides: Partial<NonNullable<Rule['incidents']>> = {}, resources = ['db-write']) =>
    rule({
      name: 'responders',
      schedules: [],
      resources,
      incidents: {
        services: ['PSVC123'],
        urgencies: ['high', 'low'],
        statuses: ['triggered', 'acknowledged'],
        windowMs: 2 * 3_600_000,
        requireOnCall: true,
        ...overrides,
      },
    });
  const onCallNow = oncall({ start: at('2026-11-26T08:00:00Z'), end: at('2026-11-26T17:00:00Z') });
  const windowsFor = (incidents: Incident[], rules: Rule[], oncalls = [onCallNow], graceMs = 0) =>
    incidentWindows({ incidents, rules, oncalls, now, leadMs: 0, graceMs });

  it('gives an on-call assignee [now, now + incident-window], renewed once less than half is left', () => {
    const { windows, leftOut } = windowsFor([incident()], [incidentRule({}, ['db-write', 'k8s-admin'])]);
    expect(leftOut).toEqual([]);
    expect(windows.map((w) => [w.resource, rfc3339(new Date(w.from)), rfc3339(new Date(w.until))])).toEqual([
      ['db-write', '2026-11-26T08:30:00Z', '2026-11-26T10:30:00Z'],
      ['k8s-admin', '2026-11-26T08:30:00Z', '2026-11-26T10:30:00Z'],
    ]);
    expect(rfc3339(new Date(windows[0]?.renewBefore ?? 0))).toBe('2026-11-26T09:30:00Z');
    expect(windows[0]).toMatchObject({
      pagerdutyUserId: 'PUSER01',
      name: 'Ada',
      email: 'ada@example.com',
      rule: 'responders',
      source: {
        scheduleId: 'PSCHED1',
        escalationPolicyId: 'PEP0001',
        escalationLevel: 1,
        incident: incidentRef(), // every field of it differs, so a swapped field fails
      },
    });
  });

  it('matches service, urgency and status; an on-call rule never matches an incident', () => {
    const count = (i: Incident, r: Rule) => windowsFor([i], [r]).windows.length;
    expect(
      count(
        incident({ service: { id: 'POTHER1', name: 'x', escalationPolicyId: 'PEP0001' } }),
        incidentRule(),
      ),
    ).toBe(0);
    expect(
      count(
        incident({ service: { id: 'psvc123', name: 'x', escalationPolicyId: 'PEP0001' } }),
        incidentRule(),
      ),
    ).toBe(1);
    expect(count(incident({ urgency: 'low' }), incidentRule({ urgencies: ['high'] }))).toBe(0);
    expect(count(incident({ status: 'acknowledged' }), incidentRule({ statuses: ['triggered'] }))).toBe(0);
    expect(count(incident({ status: 'acknowledged' }), incidentRule())).toBe(1);
    expect(count(incident(), rule())).toBe(0);
    // and an incident rule never matches an on-call row
    expect(
      desiredWindows({ oncalls: [onCallNow], rules: [incidentRule()], now, leadMs: 0, graceMs: 0 }),
    ).toEqual([]);
  });

  it('requires the assignee on call in the incident’s own policy, and ends with that on-call plus grace', () => {
    const elsewhere = oncall({
      start: at('2026-11-26T08:00:00Z'),
      escalationPolicy: { id: 'PEP0002', name: 'DB' },
    });
    const notOnCall = windowsFor([incident()], [incidentRule()], [elsewhere]);
    expect(notOnCall.windows).toEqual([]);
    expect(notOnCall.leftOut.map((l) => [l.assignee.id, l.incident.number, l.rule])).toEqual([
      ['PUSER01', 123, 'responders'],
    ]);
    const allowed = windowsFor([incident()], [incidentRule({ requireOnCall: false })], [elsewhere]);
    expect(
      allowed.windows.map((w) => [rfc3339(new Date(w.until)), w.source.escalationLevel, w.source.scheduleId]),
    ).toEqual([['2026-11-26T10:30:00Z', 0, null]]);
    const endingSoon = oncall({ start: at('2026-11-26T08:00:00Z'), end: at('2026-11-26T09:00:00Z') });
    const clamped = windowsFor([incident()], [incidentRule()], [endingSoon], 15 * 60_000);
    expect(clamped.windows.map((w) => rfc3339(new Date(w.until)))).toEqual(['2026-11-26T09:15:00Z']);
    const ended = oncall({ start: at('2026-11-26T07:00:00Z'), end: at('2026-11-26T08:00:00Z') });
    expect(windowsFor([incident()], [incidentRule()], [ended], 15 * 60_000).leftOut).toHaveLength(1);
    expect(windowsFor([incident()], [incidentRule()], [ended], 31 * 60_000).windows).toHaveLength(1);
  });

  it("follows the service's escalation policy, not the incident's: moving an incident to your own policy gains nothing", () => {
    // Mallory is on call in Frontend and moved the incident there; the service's policy is PEP0001 (Ops).
    const mallory = oncall({
      userId: 'PMALLRY',
      start: at('2026-11-26T08:00:00Z'),
      escalationPolicy: { id: 'PEPFRNT', name: 'Frontend' },
    });
    const moved = incident({
      escalationPolicy: { id: 'PEPFRNT', name: 'Frontend' },
      assignees: [{ id: 'PMALLRY', name: 'Mallory', email: 'mallory@example.com' }],
    });
    const { windows, leftOut } = windowsFor([moved], [incidentRule()], [mallory, onCallNow]);
    expect(windows).toEqual([]);
    expect(leftOut.map((l) => l.assignee.id)).toEqual(['PMALLRY']);
    // Ada, on call in the service's policy, still gets access when the incident is moved to her.
    const toAda = incident({ escalationPolicy: { id: 'PEPFRNT', name: 'Frontend' } });
    const ada = windowsFor([toAda], [incidentRule()], [mallory, onCallNow]).windows;
    expect(
      ada.map((w) => [w.pagerdutyUserId, w.source.escalationPolicyId, w.source.escalationLevel]),
    ).toEqual([['PUSER01', 'PEP0001', 1]]);
  });

  it('takes the email from the on-call row when the incident carried none', () => {
    const { windows } = windowsFor(
      [incident({ assignees: [{ id: 'PUSER01', name: 'Ada', email: undefined }] })],
      [incidentRule()],
    );
    expect(windows[0]?.email).toBe('puser01@example.com');
  });

  it('merges incident windows into one, keeping the lowest incident number and the latest renewal', () => {
    const first = windowsFor([incident()], [incidentRule()]).windows;
    const later = windowsFor([incident({ number: 7, id: 'Q7' })], [incidentRule()], [onCallNow]).windows.map(
      (window) => ({
        ...window,
        until: window.until + 60_000,
        renewBefore: (window.renewBefore ?? 0) + 60_000,
      }),
    );
    const [merged, ...rest] = mergeWindows([...first, ...later]);
    expect(rest).toEqual([]);
    expect(merged?.source.incident?.number).toBe(7);
    expect(merged?.until).toBe(later[0]?.until);
    expect(merged?.renewBefore).toBe(later[0]?.renewBefore);
  });
});
