// A small company whose on-calls are written out by hand relative to a whole minute `t0`, so each test states the
// exact grants it expects instead of recomputing them.
import type { WorldSeed } from './harness.js';

/** Whole-minute instants relative to a base, as the RFC3339 strings the action prints. */
export function clock(base = Date.now()) {
  const t0 = Math.floor(base / 60_000) * 60_000;
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { t0, at, hours: (h: number) => at(h * 60) };
}

export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

export function smallCompany(base = Date.now()) {
  const { t0, hours } = clock(base);
  const user = (id: string, name: string, email: string, extra: object = {}) => ({
    id,
    name,
    email,
    ...extra,
  });
  const shift = (userId: string, from: number, to: number) => ({
    user: userId,
    start: hours(from),
    end: hours(to),
  });

  const seed: WorldSeed = {
    pagerduty: {
      users: [
        user('PADA001', 'Ada Lovelace', 'ada@example.com'),
        user('PBOB001', 'Bob Moses', 'bob@example.com'),
        user('PCAROL1', 'Carol Shaw', 'carol@example.com', { omitEmailInInclude: true }),
        user('PDAN001', 'Dan Lead', 'dan@example.com'),
        user('PERIN01', 'Erin Missing', 'erin@example.com'),
        user('PFRANK1', 'Frank Override', 'frank@example.com'),
        user('PGRACE1', 'Grace Hopper', 'grace.hopper@example.com'),
        user('PMALLO1', HOSTILE_NAME, 'mallory@example.com'),
        user('PZED001', 'Zed Unused', 'zed@example.com'),
      ],
      schedules: [
        {
          id: 'PPRIMAR',
          name: 'Platform Primary',
          entries: [shift('PADA001', -2, 6), shift('PBOB001', 6, 30)],
          overrides: [shift('PFRANK1', 10, 14)],
        },
        {
          id: 'PDBONCL',
          name: 'Database',
          entries: [
            shift('PCAROL1', 1, 3),
            shift('PCAROL1', 3, 5),
            shift('PERIN01', 5, 9),
            shift('PGRACE1', 9, 12),
            shift('PMALLO1', 12, 13),
          ],
        },
        { id: 'PSECOND', name: 'Platform Secondary', entries: [shift('PCAROL1', 4, 8)] },
        { id: 'PUNUSED', name: 'Not in any policy', entries: [shift('PZED001', -1, 5)] },
      ],
      escalationPolicies: [
        {
          id: 'PEPPLAT',
          name: 'Platform',
          levels: [
            { targets: [{ type: 'schedule', id: 'PPRIMAR' }] },
            { targets: [{ type: 'schedule', id: 'PSECOND' }] },
            { targets: [{ type: 'user', id: 'PDAN001' }] },
          ],
        },
        {
          id: 'PEPDATA',
          name: 'Data',
          levels: [
            { targets: [{ type: 'schedule', id: 'PDBONCL' }] },
            { targets: [{ type: 'schedule', id: 'PPRIMAR' }] },
          ],
        },
      ],
    },
    strongdm: {
      users: [
        { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' },
        { firstName: 'Bob', lastName: 'Moses', email: 'bob@example.com' },
        { firstName: 'Carol', lastName: 'Shaw', email: 'carol@example.com' },
        { firstName: 'Dan', lastName: 'Lead', email: 'dan@example.com' },
        { firstName: 'Frank', lastName: 'Override', email: 'frank@example.com' },
        { firstName: 'Grace', lastName: 'Hopper', email: 'Grace.Hopper@Example.com' },
        { firstName: 'Mallory', lastName: 'X', email: 'mallory@example.com' },
        { firstName: 'Zed', lastName: 'Unused', email: 'zed@example.com' },
      ],
      resources: [
        { name: 'prod-db', kind: 'datasource' },
        { name: 'bastion', kind: 'server' },
      ],
    },
  };

  /** Every grant the action must make for a 24h lookahead; `now` marks a start that is clamped to the run's time. */
  const expectedGrants: Array<{ email: string; from: string | 'now'; until: string }> = [
    { email: 'ada@example.com', from: 'now', until: hours(6) },
    { email: 'dan@example.com', from: 'now', until: 'now+7d' }, // permanently on call: max-grant-duration
    { email: 'carol@example.com', from: hours(1), until: hours(8) }, // contiguous + overlapping shifts merged
    { email: 'bob@example.com', from: hours(6), until: hours(10) }, // override splits Bob's shift
    { email: 'Grace.Hopper@Example.com', from: hours(9), until: hours(12) }, // strongDM's spelling
    { email: 'frank@example.com', from: hours(10), until: hours(14) },
    { email: 'mallory@example.com', from: hours(12), until: hours(13) },
    { email: 'bob@example.com', from: hours(14), until: hours(30) }, // whole shift, beyond the lookahead
  ];

  return {
    t0,
    hours,
    seed,
    scheduleIds: 'PPRIMAR, PDBONCL\nPSECOND, null',
    resources: 'prod-db\nbastion',
    resourceNames: ['prod-db', 'bastion'],
    expectedGrants,
    missing: { name: 'Erin Missing', email: 'erin@example.com', from: hours(5), until: hours(9) },
  };
}

/** An incident as the fake PagerDuty takes it (test/fakes/pagerduty-incidents.mjs). */
export type SeedIncident = import('../fakes/pagerduty-incidents.mjs').SeedIncident;

/**
 * A company for incident rules: Ada is on call in the Data escalation policy for 14 hours around now, Carol in the
 * Platform one, Bob and Mallory are on call nowhere. Incidents are added per test (`incident`); `rules` is the
 * rules input: a shift rule (Platform schedule → bastion) and, unless `incidentRule` is false, an incident rule
 * (Orders DB service, or `services`, → prod-db-write for `incident-window`). Service "Web" is in no rule.
 */
export function incidentCompany(base = Date.now()) {
  const { t0, at, hours } = clock(base);
  const shift = (user: string, from: number, to: number) => ({ user, start: hours(from), end: hours(to) });
  const services = {
    ordersDb: { id: 'PSVCDB1', name: 'Orders DB' },
    web: { id: 'PSVCWEB', name: 'Web' },
  };
  const incidents: SeedIncident[] = [];
  const seed: WorldSeed = {
    pagerduty: {
      users: [
        { id: 'PADA001', name: 'Ada Lovelace', email: 'ada@example.com' },
        { id: 'PBOB001', name: 'Bob Moses', email: 'bob@example.com' },
        { id: 'PCAROL1', name: 'Carol Shaw', email: 'carol@example.com' },
        { id: 'PMALLO1', name: 'Mallory Forger', email: 'mallory@example.com' },
      ],
      schedules: [
        { id: 'PDBONCL', name: 'Database', entries: [shift('PADA001', -2, 12)] },
        { id: 'PPLATFM', name: 'Platform', entries: [shift('PCAROL1', -1, 10)] },
      ],
      escalationPolicies: [
        { id: 'PEPDATA', name: 'Data', levels: [{ targets: [{ type: 'schedule', id: 'PDBONCL' }] }] },
        { id: 'PEPPLAT', name: 'Platform', levels: [{ targets: [{ type: 'schedule', id: 'PPLATFM' }] }] },
      ],
      incidents,
    },
    strongdm: {
      users: [
        { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' },
        { firstName: 'Bob', lastName: 'Moses', email: 'bob@example.com' },
        { firstName: 'Carol', lastName: 'Shaw', email: 'carol@example.com' },
        { firstName: 'Mallory', lastName: 'Forger', email: 'mallory@example.com' },
      ],
      resources: [
        { name: 'prod-db-write', kind: 'datasource' },
        { name: 'bastion', kind: 'server' },
      ],
    },
  };

  /** A triggered high-urgency incident on Orders DB, escalated through Data, assigned to Ada 10 minutes ago. */
  const incident = (number: number, extra: Partial<SeedIncident> = {}): SeedIncident => ({
    id: `PINC${number}`,
    number,
    title: `Orders DB latency #${number}`,
    status: 'triggered',
    urgency: 'high',
    service: services.ordersDb,
    escalationPolicy: 'PEPDATA',
    assignments: [{ user: 'PADA001', at: at(-10) }],
    createdAt: at(-10),
    ...extra,
  });

  /** incident(`number`) resolved now, as PagerDuty shows it then: no assignees left. */
  const resolvedIncident = (number: number): SeedIncident =>
    incident(number, { status: 'resolved', assignments: [], resolvedAt: at(0), lastStatusChangeAt: at(0) });

  const rules = (
    options: { incidentRule?: boolean; requireOnCall?: boolean; window?: string; services?: string[] } = {},
  ): string =>
    [
      '- name: platform',
      '  schedules: [PPLATFM]',
      '  resources: [bastion]',
      ...(options.incidentRule === false
        ? []
        : [
            '- name: incident-db-write',
            `  incidents: { services: [${(options.services ?? [services.ordersDb.id]).join(', ')}] }`,
            `  incident-window: ${options.window ?? '2h'}`,
            ...(options.requireOnCall === false ? ['  require-on-call: false'] : []),
            '  resources: [prod-db-write]',
          ]),
    ].join('\n');

  return { t0, at, hours, seed, services, incidents, incident, resolvedIncident, rules };
}
