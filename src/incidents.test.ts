import { describe, expect, it } from 'vitest';
import type { PagerDutyOrg } from '../test/fakes/pagerduty.mjs';
import { accessDenied, useFakePagerDuty } from '../test/fakes/pagerduty-testing.js';
import type { SeedIncident } from '../test/fakes/pagerduty-incidents.mjs';
import { incident, onCallRow, rule } from '../test/samples.js';
import { Checklist } from './checklist.js';
import { incidentJudgement, readOpenIncidents, type OpenIncidents } from './incidents.js';
import { InputError } from './inputs.js';
import { PagerDutyClient } from './pagerduty.js';

describe('readOpenIncidents: the services of incident rules (against the fake PagerDuty)', () => {
  const TOKEN = 'u+pd_incident-services';
  const NOW = Date.parse('2026-11-30T07:00:00Z');
  const at = (ms: number) => new Date(ms).toISOString();
  const DB = { id: 'PSVCDB1', name: 'Orders DB' }; // #1 and #2 open on it
  const WEB = { id: 'PSVCWEB', name: 'Web' }; // known, nothing open
  const OLD = { id: 'PSVCOLD', name: 'Legacy' }; // known only through a resolved incident
  const seedIncident = (number: number, extra: Partial<SeedIncident> = {}): SeedIncident => ({
    id: `PINC00${number}`,
    number,
    title: `Incident ${number}`,
    status: 'triggered',
    service: DB,
    escalationPolicy: 'PEP1AAA',
    assignments: [{ user: 'PADA001', at: at(NOW - 60_000) }],
    createdAt: at(NOW - 60_000),
    ...extra,
  });
  const org: PagerDutyOrg = {
    users: [{ id: 'PADA001', name: 'Ada Lovelace', email: 'ada@example.com' }],
    schedules: [],
    escalationPolicies: [
      { id: 'PEP1AAA', name: 'Alpha', levels: [{ targets: [{ type: 'user', id: 'PADA001' }] }] },
    ],
    services: [WEB],
    incidents: [
      seedIncident(1),
      seedIncident(2, { status: 'acknowledged', acknowledgements: [{ user: 'PADA001', at: at(NOW) }] }),
      seedIncident(3, { status: 'resolved', service: OLD, assignments: [], resolvedAt: at(NOW) }),
    ],
  };
  const incidentRule = (name: string, services: string[]) =>
    rule({
      name,
      schedules: [],
      resources: ['db-write'],
      incidents: {
        services,
        urgencies: ['high', 'low'],
        statuses: ['triggered', 'acknowledged'],
        windowMs: 7_200_000,
        requireOnCall: true,
      },
    });

  const fake = useFakePagerDuty(() => org, { token: TOKEN, now: () => NOW });
  const client = () => new PagerDutyClient({ baseUrl: fake().url, token: TOKEN, requestTimeoutMs: 5_000 });
  const paths = () => fake().requests.map((request) => request.path);
  const checks = (checklist: Checklist) =>
    checklist.checks.map(({ check, status, detail, fix }) => [check, status, detail, ...(fix ? [fix] : [])]);

  it('in a dry run, passes a service with open incidents unasked, looks up the others, and fails naming each unknown one', async () => {
    const checklist = new Checklist();
    const rules = [
      incidentRule('db', [DB.id, WEB.id]),
      rule({ name: 'shifts', schedules: ['PSCHED1'] }),
      incidentRule('typos', ['PNOSUCH', WEB.id, OLD.id, 'PGONE01']),
    ];
    const error = await readOpenIncidents(rules, client(), checklist, { dryRun: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems).toEqual([
      "rules: PagerDuty has no service PNOSUCH (404); check the ID in the service's URL",
      "rules: PagerDuty has no service PGONE01 (404); check the ID in the service's URL",
    ]);
    expect(checks(checklist)).toEqual([
      ['incidents', 'pass', '2 open incidents on 5 services: #1, #2'],
      [`service ${DB.id}`, 'pass', '"Orders DB": 2 open incidents'],
      [`service ${WEB.id}`, 'pass', '"Web": no open incident'],
      ['service PNOSUCH', 'fail', 'PagerDuty has no such service (404)', "check the ID in the service's URL"],
      [`service ${OLD.id}`, 'pass', '"Legacy": no open incident'],
      ['service PGONE01', 'fail', 'PagerDuty has no such service (404)', "check the ID in the service's URL"],
    ]);
    // One request per service without an open incident, each once; none for the service that has some.
    expect(paths()).toEqual([
      '/incidents',
      `/services/${WEB.id}`,
      '/services/PNOSUCH',
      `/services/${OLD.id}`,
      '/services/PGONE01',
    ]);
  });

  it('in a dry run with every service known, returns the open incidents', async () => {
    const checklist = new Checklist();
    const open = await readOpenIncidents([incidentRule('db', [DB.id, WEB.id])], client(), checklist, {
      dryRun: true,
    });
    expect(open.kind === 'read' && open.incidents.map((i) => i.number)).toEqual([1, 2]);
    expect(checklist.checks.map((check) => check.status)).toEqual(['pass', 'pass', 'pass']);
    expect(paths()).toEqual(['/incidents', `/services/${WEB.id}`]);
  });

  it('says whether the list came in one page (a snapshot), retries or not', async () => {
    const rules = [incidentRule('db', [DB.id])];
    fake().faults.push({ path: '/incidents', status: 503 }); // answered on the second try
    const retried = await readOpenIncidents(rules, client(), new Checklist());
    expect(retried.kind === 'read' && retried.snapshot).toBe(true);
    const many = Array.from({ length: 101 }, (_, i) => seedIncident(i + 1, { id: `PMANY${i + 1}` }));
    fake().setOrg({ ...org, incidents: many });
    const paged = await readOpenIncidents(rules, client(), new Checklist());
    expect(paged.kind === 'read' && [paged.incidents.length, paged.snapshot]).toEqual([101, false]);
  });

  it('an incident skipped by paging over a changing list keeps its grants: they are not judged', async () => {
    const rules = [incidentRule('db', [DB.id])];
    const many = Array.from({ length: 101 }, (_, i) => seedIncident(i + 1, { id: `PMANY${i + 1}` }));
    fake().setOrg({ ...org, incidents: many });
    // While page 1 is read, the first incident is resolved: the rest shift, and the one at offset 100 is missed.
    fake().afterIncidentsPage = ({ offset }) => {
      if (offset !== 0) return;
      Object.assign(many[0] as SeedIncident, { status: 'resolved', assignments: [], resolvedAt: at(NOW) });
      fake().setOrg({ ...org, incidents: many });
    };
    try {
      const open = await readOpenIncidents(rules, client(), new Checklist());
      const listed = open.kind === 'read' ? open.incidents.map((incident) => incident.id) : [];
      const skipped = many
        .map((incident) => incident.id)
        .filter((id) => id !== 'PMANY1' && !listed.includes(id));
      expect(skipped).toHaveLength(1); // open, yet not in the list
      const onCall = onCallRow({ escalationPolicy: { id: 'PEP1AAA', name: 'Alpha' } }); // the service's policy
      const { judged } = incidentJudgement(open, rules, [onCall]);
      expect(skipped.map(judged)).toEqual([false]);
      expect(judged(listed[0] as string)).toBe(true);
    } finally {
      fake().afterIncidentsPage = undefined;
    }
  });

  it('in a real run, looks no service up, and says the IDs are checked in dry runs only', async () => {
    for (const options of [{ dryRun: false }, {}]) {
      fake().requests.length = 0;
      const checklist = new Checklist();
      const open = await readOpenIncidents(
        [incidentRule('typos', [DB.id, 'PNOSUCH'])],
        client(),
        checklist,
        options,
      );
      expect(open.kind).toBe('read');
      expect(checks(checklist)).toEqual([
        [
          'incidents',
          'pass',
          '2 open incidents on 2 services: #1, #2 (service IDs are checked in dry runs only)',
        ],
      ]);
      expect(paths()).toEqual(['/incidents']);
    }
    // Every service has an open incident: nothing left to check, nothing to say.
    const checklist = new Checklist();
    await readOpenIncidents([incidentRule('db', [DB.id])], client(), checklist);
    expect(checklist.checks.map((check) => check.detail)).toEqual(['2 open incidents on 1 service: #1, #2']);
  });

  it('warns on a 403 (an OAuth token without services.read), for the rest too without asking again, and goes on', async () => {
    fake().faults.push(accessDenied('/services/'));
    const checklist = new Checklist();
    const open = await readOpenIncidents(
      [incidentRule('db', [WEB.id, DB.id, 'PNOSUCH'])],
      client(),
      checklist,
      { dryRun: true },
    );
    expect(open.kind).toBe('read');
    const why =
      'could not check: pagerduty-token is not allowed to read /services/PSVCWEB (403: Access Denied, code 2010); ' +
      'checking the services of rules with incidents needs services.read';
    const fix =
      "give the OAuth token services.read (only dry runs use it), or check the IDs in the services' URLs";
    expect(checks(checklist)).toEqual([
      ['incidents', 'pass', '2 open incidents on 3 services: #1, #2'],
      [`service ${WEB.id}`, 'warn', why, fix],
      [`service ${DB.id}`, 'pass', '"Orders DB": 2 open incidents'],
      ['service PNOSUCH', 'warn', why, fix],
    ]);
    expect(paths()).toEqual(['/incidents', `/services/${WEB.id}`]);
  });

  it('warns, without the services.read hint, on any other failed lookup', async () => {
    fake().faults.push({ path: '/services/', status: 400, body: { error: { message: 'Bad', code: 2001 } } });
    const checklist = new Checklist();
    await readOpenIncidents([incidentRule('db', [WEB.id])], client(), checklist, { dryRun: true });
    expect(checklist.checks[1]).toEqual({
      check: `service ${WEB.id}`,
      status: 'warn',
      detail: expect.stringMatching(
        /^could not check: PagerDuty refused the request to \/services\/PSVCWEB \(400/,
      ),
      fix: 'run the dry run again later',
    });
  });

  it('looks no service up when the incidents query failed, or when no rule has incidents', async () => {
    fake().faults.push(accessDenied('/incidents'));
    const checklist = new Checklist();
    const open = await readOpenIncidents([incidentRule('db', [WEB.id, 'PNOSUCH'])], client(), checklist, {
      dryRun: true,
    });
    expect(open.kind).toBe('failed');
    expect(checklist.checks.map((check) => [check.check, check.status])).toEqual([['incidents', 'fail']]);
    expect(paths()).toEqual(['/incidents']);
    const none = new Checklist();
    expect(await readOpenIncidents([rule()], client(), none, { dryRun: true })).toEqual({
      kind: 'not-needed',
    });
    expect(none.checks).toEqual([]);
    expect(paths()).toEqual(['/incidents']);
  });
});

describe('incidentJudgement: which incident grants a run may judge', () => {
  /** Unassigned incident `id` (#`number`) on `service`, under the service's own escalation policy. */
  const incidentOn = (id: string, number: number, service: { id: string; escalationPolicyId: string }) =>
    incident({
      id,
      number,
      service: { name: 'Service', ...service },
      escalationPolicy: { id: service.escalationPolicyId, name: 'Policy' },
      assignees: [],
    });
  const condition = (requireOnCall: boolean, services: string[]) => ({
    services,
    urgencies: ['high' as const, 'low' as const],
    statuses: ['triggered' as const, 'acknowledged' as const],
    windowMs: 7_200_000,
    requireOnCall,
  });
  const staffedRow = onCallRow({ escalationPolicy: { id: 'PEPSTAF', name: 'Staffed' } });
  const onStaffed = incidentOn('Q1', 1, { id: 'PSVC1', escalationPolicyId: 'PEPSTAF' });
  const onEmpty = incidentOn('Q2', 2, { id: 'PSVC2', escalationPolicyId: 'PEPEMPT' });
  const onEmptyOtherRule = incidentOn('Q3', 3, { id: 'PSVC3', escalationPolicyId: 'PEPEMPT' });
  const rules = [
    rule({ name: 'needs-on-call', schedules: [], incidents: condition(true, ['PSVC1', 'PSVC2']) }),
    rule({ name: 'anyone', schedules: [], incidents: condition(false, ['PSVC3']) }),
  ];
  const read = (snapshot: boolean): OpenIncidents => ({
    kind: 'read',
    incidents: [onStaffed, onEmpty, onEmptyOtherRule],
    snapshot,
  });

  it('judges none when the incidents could not be read, and all when no rule needs them', () => {
    const failed = incidentJudgement({ kind: 'failed', error: 'HTTP 500' }, rules, [staffedRow]);
    expect(['Q1', 'Q2', 'QGONE'].map(failed.judged)).toEqual([false, false, false]);
    expect(failed.notes).toEqual([
      expect.stringMatching(/^The open incidents could not be read from PagerDuty/),
    ]);
    const none = incidentJudgement({ kind: 'not-needed' }, [], []);
    expect(none.judged('Q1')).toBe(true);
    expect(none.notes).toEqual([]);
  });

  it('holds only the incidents of require-on-call rules whose service policy has nobody on call at all', () => {
    const { judged, notes } = incidentJudgement(read(true), rules, [staffedRow]);
    expect(['Q1', 'Q2', 'Q3', 'QGONE'].map(judged)).toEqual([true, false, true, true]);
    expect(notes).toEqual([
      'PagerDuty returned nobody on call in the escalation policy of the service of incident #2: its grants are not treated as stale in this run (an outage must not revoke access).',
    ]);
  });

  it('does not judge an incident missing from a list of several pages', () => {
    const { judged, notes } = incidentJudgement(read(false), rules, [staffedRow]);
    expect(['Q1', 'Q3', 'QGONE'].map(judged)).toEqual([true, true, false]);
    expect(notes.at(-1)).toMatch(/came in several pages/);
  });
});
