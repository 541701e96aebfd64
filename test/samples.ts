// Sample values with realistic defaults for the unit tests: an on-call row, a rule, a report row.
import type { Incident, OnCallRow } from '../src/pagerduty.js';
import type { Rule } from '../src/rules.js';
import { entryId } from '../src/ledger.js';
import type { IncidentRef, LedgerEntry, ReportRow } from '../src/types.js';
import type { SummaryContext } from '../src/summary.js';

const at = (iso: string) => new Date(iso);

/** PUSER01 on call at level 1 of PSCHED1, 09:00–17:00 UTC on 26 November 2026. */
export function onCallRow(
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

export const rule = (overrides: Partial<Rule> = {}): Rule => ({
  name: 'default',
  schedules: ['PSCHED1', 'PSCHED2', 'null'],
  escalationPolicies: [],
  escalationLevels: [],
  resources: ['db'],
  ...overrides,
});

/** Ada's granted grant of prod-postgres, 09:00–17:00 UTC on 26 November 2026, with `overrides` applied. */
export function reportRow(overrides: Partial<ReportRow> = {}): ReportRow {
  const base = {
    pagerdutyUserId: 'PADA001',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    sdmEmail: 'ada@example.com',
    resource: 'prod-postgres',
    rule: 'default',
    from: new Date('2026-11-26T09:00:00Z'),
    until: new Date('2026-11-26T17:00:00Z'),
    source: {
      scheduleId: 'PSCHED1',
      scheduleName: 'Platform Primary',
      escalationPolicyId: 'PEP0001',
      escalationPolicyName: 'Platform',
      escalationLevel: 1,
    },
    reason: '',
    missingUser: false,
  };
  return { ...base, status: 'granted', ...overrides } as ReportRow;
}

/** PagerDuty incident #123 on the Payments API service, with `overrides` applied. */
export function incidentRef(overrides: Partial<IncidentRef> = {}): IncidentRef {
  return {
    id: 'Q1INCIDENT',
    number: 123,
    title: 'Checkout latency above 2s',
    url: 'https://acme.pagerduty.com/incidents/Q1INCIDENT',
    serviceId: 'PSVC123',
    serviceName: 'Payments API',
    ...overrides,
  };
}

/**
 * Incident #123 as PagerDutyClient reads it (the one incidentRef() refers to): triggered, high urgency, on the
 * Payments API service under PEP0001 (onCallRow's policy), assigned to PUSER01 (Ada); `overrides` applied.
 */
export function incident(overrides: Partial<Incident> = {}): Incident {
  const ref = incidentRef();
  return {
    id: ref.id,
    number: ref.number,
    title: ref.title,
    url: ref.url,
    status: 'triggered',
    urgency: 'high',
    service: { id: ref.serviceId, name: ref.serviceName, escalationPolicyId: 'PEP0001' },
    escalationPolicy: { id: 'PEP0001', name: 'Ops' },
    assignees: [{ id: 'PUSER01', name: 'Ada', email: 'ada@example.com' }],
    ...overrides,
  };
}

/**
 * Ada's incident grant of prod-db-write for `incident` (default: incidentRef()), 09:00–11:00 UTC on 26 November
 * 2026 under the rule incident-db-write, found on call at level 1 of Platform Primary; `overrides` applied last.
 */
export function incidentRow(
  overrides: Partial<ReportRow> = {},
  incident: IncidentRef = incidentRef(),
): ReportRow {
  return reportRow({
    resource: 'prod-db-write',
    rule: 'incident-db-write',
    until: new Date('2026-11-26T11:00:00Z'),
    source: { ...reportRow().source, incident },
    ...overrides,
  });
}

/** The source of an incident grant whose assignee is not on call (the rule does not require it): no schedule, level 0. */
export function notOnCallSource(incident: IncidentRef = incidentRef()): ReportRow['source'] {
  return {
    scheduleId: null,
    scheduleName: '',
    escalationPolicyId: 'PEP0001',
    escalationPolicyName: 'Platform',
    escalationLevel: 0,
    incident,
  };
}

/** A grant of `db` recorded by run 9. */
export function ledgerEntry(
  email: string,
  from: string,
  until: string,
  extra: Partial<LedgerEntry> = {},
): LedgerEntry {
  return {
    id: entryId(email, 'db', from, until, '9'),
    email,
    resource: 'db',
    from,
    until,
    grantedAt: from,
    runId: '9',
    runUrl: 'https://github.com/acme/ops/actions/runs/9',
    name: email,
    pagerdutyUserId: 'P1',
    rule: 'default',
    source: {
      scheduleId: 'PS',
      scheduleName: 'S',
      escalationPolicyId: 'PE',
      escalationPolicyName: 'E',
      escalationLevel: 1,
    },
    ...extra,
  };
}

/** A real run's summary context: now is 08:30 UTC on 26 November 2026, a 24h lookahead, no notes, no checks. */
export function summaryContext(overrides: Partial<SummaryContext> = {}): SummaryContext {
  return {
    dryRun: false,
    now: new Date('2026-11-26T08:30:00Z'),
    lookahead: '24h',
    lookaheadMs: 24 * 3_600_000,
    notes: [],
    runUrl: 'https://github.com/acme/ops/actions/runs/7',
    checks: [],
    ...overrides,
  };
}

/** Titles (and service names) PagerDuty may hold: anyone who can open an incident writes them. */
export const HOSTILE_INCIDENT_TEXT = [
  '<img src=x onerror=alert(1)>',
  '](javascript:alert(1))',
  '| a | b |',
  'x\n::add-mask::y',
  "%%{init: {'theme':'dark'}}%%",
  'click x call alert()',
  'section evil',
  '`code` and ``` fences',
  '<script>alert(1)</script>',
  ']]> --> <!--',
  '[link](https://evil.example) www.evil.example',
  '@octocat #42 :rocket: **bold** _em_',
  'x\r\n::stop-commands::end\u0000\u001b[31m',
];
