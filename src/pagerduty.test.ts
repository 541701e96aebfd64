import { describe, expect, it } from 'vitest';
import { accessDenied, useFakePagerDuty } from '../test/fakes/pagerduty-testing.js';
import type { PagerDutyOrg } from '../test/fakes/pagerduty.mjs';
import type { SeedIncident } from '../test/fakes/pagerduty-incidents.mjs';
import {
  authorizationHeader,
  errorDetail,
  PagerDutyClient,
  PagerDutyError,
  parseIncident,
  parseOnCall,
  retryWaitMs,
  type IncidentFilter,
} from './pagerduty.js';

describe('authorizationHeader', () => {
  it('uses the REST API key form and keeps an explicit Bearer or Token form', () => {
    expect(authorizationHeader('u+abc_DEF-1')).toBe('Token token=u+abc_DEF-1');
    expect(authorizationHeader('Bearer pdus+xyz')).toBe('Bearer pdus+xyz');
    expect(authorizationHeader('Token token=abc')).toBe('Token token=abc');
  });
});

describe('errorDetail', () => {
  it('reads errors as array, string or object, and plain-text bodies', () => {
    expect(
      errorDetail(
        '{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Schedule not found"]}}',
      ),
    ).toBe('Invalid Input Provided, code 2001, Schedule not found');
    expect(errorDetail('{"error":{"message":"Bad","errors":"just one"}}')).toBe('Bad, just one');
    expect(errorDetail('{"error":{"message":"Bad","errors":{"since":"is invalid"}}}')).toBe(
      'Bad, since: is invalid',
    );
    expect(errorDetail('Unauthorized\n')).toBe('Unauthorized');
    expect(errorDetail('{"error":"nope"}')).toBe('nope');
    expect(errorDetail('null')).toBe('');
  });

  it('scrubs the whole text before cutting it, so no part of a secret echoed near the cut is left', () => {
    const key = 'u+pdSECRETkey_0123456789';
    const scrub = (text: string) => text.split(key).join('***');
    for (let at = 270; at <= 300; at++) {
      const body = `${'x'.repeat(at)}${key} and more`;
      for (const text of [body, JSON.stringify({ error: { message: body } })]) {
        const detail = errorDetail(text, scrub);
        expect(detail.length).toBeLessThanOrEqual(300);
        for (let i = 0; i + 8 <= key.length; i++) expect(detail).not.toContain(key.slice(i, i + 8));
      }
    }
  });

  it('neutralizes workflow commands and control characters in a body', () => {
    expect(errorDetail('down\n::set-output name=granted::999')).toBe('down ::set-output name=granted::999');
    expect(errorDetail('##[set-output name=granted;]999')).toBe('##\u2060[set-output name=granted;]999');
    expect(errorDetail('{"error":"::add-mask::x"}')).toBe(':\u2060:add-mask::x');
  });
});

describe('retryWaitMs', () => {
  it('honours Retry-After, then ratelimit-reset (seconds), then backs off', () => {
    expect(retryWaitMs(429, { 'retry-after': '3', 'ratelimit-reset': '9' }, 1)).toBe(3000);
    expect(retryWaitMs(429, { 'ratelimit-reset': '9' }, 1)).toBe(9000);
    const backoff = retryWaitMs(503, { 'ratelimit-reset': '9' }, 3);
    expect(backoff).toBeGreaterThanOrEqual(2000);
    expect(backoff).toBeLessThanOrEqual(4000);
  });
});

describe('parseOnCall', () => {
  const item = {
    escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference', summary: 'Ops' },
    escalation_level: 2,
    schedule: { id: 'PSCHED1', type: 'schedule_v3_reference', summary: 'Primary' },
    user: { id: 'PUSER01', type: 'user', name: 'Ada', email: 'ada@example.com' },
    start: '2026-11-26T09:00:00-05:00',
    end: '2026-11-27T09:00:00-05:00',
  };

  it('reads a full row, converting offsets to instants', () => {
    const row = parseOnCall(item);
    expect(row).toMatchObject({
      user: { id: 'PUSER01', name: 'Ada', email: 'ada@example.com' },
      schedule: { id: 'PSCHED1', name: 'Primary' },
      escalationPolicy: { id: 'PEP0001', name: 'Ops' },
      escalationLevel: 2,
    });
    expect(row.start?.toISOString()).toBe('2026-11-26T14:00:00.000Z');
  });

  it('reads a direct target with no schedule and no times', () => {
    const row = parseOnCall({
      ...item,
      schedule: null,
      start: null,
      end: null,
      user: { id: 'PUSER02', type: 'user_reference', summary: 'Bob' },
    });
    expect(row).toMatchObject({
      schedule: null,
      start: null,
      end: null,
      user: { id: 'PUSER02', name: 'Bob' },
    });
    expect(row.user.email).toBeUndefined();
  });

  it('cuts user, schedule and policy names to 500 characters, so the ledger takes them back', () => {
    const long = '\u{1F525}'.repeat(600); // 1,200 UTF-16 units: over the ledger's 1,000
    const row = parseOnCall({
      ...item,
      user: { ...item.user, name: long },
      schedule: { ...item.schedule, summary: long },
      escalation_policy: { ...item.escalation_policy, summary: long },
    });
    for (const name of [row.user.name, row.schedule?.name ?? '', row.escalationPolicy.name]) {
      expect(Array.from(name)).toHaveLength(500);
      expect(name.length).toBeLessThanOrEqual(1000);
      expect(name.endsWith('…')).toBe(true);
    }
  });

  it('refuses malformed rows instead of dropping them', () => {
    expect(() => parseOnCall({ ...item, start: 'yesterday' })).toThrow(PagerDutyError);
    expect(() => parseOnCall({ ...item, user: null })).toThrow(/user/);
    expect(() => parseOnCall({ ...item, escalation_level: '1' })).toThrow(/level/);
  });
});

describe('parseIncident', () => {
  const item = {
    id: 'PINC001',
    type: 'incident',
    incident_number: 42,
    title: 'Disk <b>full</b>',
    status: 'acknowledged',
    urgency: 'low',
    html_url: 'https://acme.pagerduty.com/incidents/PINC001',
    // include[]=services: the full service, with its own escalation policy (here the incident was moved off it).
    service: {
      id: 'PSVCDB1',
      type: 'service',
      summary: 'Database',
      name: 'Database',
      escalation_policy: { id: 'PEPSVC1', type: 'escalation_policy_reference', summary: 'DB on call' },
    },
    escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference', summary: 'Ops' },
    assignments: [
      {
        at: '2026-11-30T06:00:00Z',
        assignee: { id: 'PUSER01', type: 'user', name: 'Ada', email: 'ada@example.com' },
      },
      { at: '2026-11-30T06:01:00Z', assignee: { id: 'PUSER02', type: 'user_reference', summary: 'Bob' } },
    ],
    user_ids: ['PNOTME1'],
  };

  it("reads an incident, its service with the service's policy, its own policy and current assignees (not user_ids)", () => {
    expect(parseIncident(item)).toEqual({
      id: 'PINC001',
      number: 42,
      title: 'Disk <b>full</b>',
      url: 'https://acme.pagerduty.com/incidents/PINC001',
      status: 'acknowledged',
      urgency: 'low',
      service: { id: 'PSVCDB1', name: 'Database', escalationPolicyId: 'PEPSVC1' },
      escalationPolicy: { id: 'PEP0001', name: 'Ops' },
      assignees: [
        { id: 'PUSER01', name: 'Ada', email: 'ada@example.com' },
        { id: 'PUSER02', name: 'Bob', email: undefined },
      ],
    });
  });

  it('takes an email only when it is a non-empty string, and names from name, summary or the id', () => {
    const assignees = parseIncident({
      ...item,
      assignments: [
        { assignee: { id: 'PUSER01', name: 'Ada', email: 42 } },
        { assignee: { id: 'PUSER02', summary: 'Bob', email: '' } },
        { assignee: { id: 'PUSER03', name: 7 } },
      ],
    }).assignees;
    expect(assignees).toEqual([
      { id: 'PUSER01', name: 'Ada', email: undefined },
      { id: 'PUSER02', name: 'Bob', email: undefined },
      { id: 'PUSER03', name: 'PUSER03', email: undefined },
    ]);
  });

  it('cuts service, policy and assignee names to 500 characters, within what the ledger takes back', () => {
    const long = '\u{1F525}'.repeat(600); // 1,200 UTF-16 units: over the ledger's 1,000
    const incident = parseIncident({
      ...item,
      service: { ...item.service, summary: long },
      escalation_policy: { ...item.escalation_policy, summary: long },
      assignments: [
        { assignee: { id: 'PUSER01', name: long } },
        { assignee: { id: 'PUSER02', summary: long } },
      ],
    });
    const names = [
      incident.service.name,
      incident.escalationPolicy.name,
      ...incident.assignees.map((a) => a.name),
    ];
    expect(names).toHaveLength(4);
    for (const name of names) {
      expect(Array.from(name)).toHaveLength(500);
      expect(name.length).toBeLessThanOrEqual(1000);
      expect(name.endsWith('\u{1F525}…')).toBe(true);
    }
    const exact = 'n'.repeat(500);
    expect(parseIncident({ ...item, service: { ...item.service, summary: exact } }).service.name).toBe(exact);
  });

  it('keeps an html_url only when, normalized, it is an http(s) URL of at most 500 characters', () => {
    const base = 'https://acme.pagerduty.com/incidents/';
    const fits = `${base}${'a'.repeat(500 - base.length)}`;
    expect(parseIncident({ ...item, html_url: fits }).url).toBe(fits);
    expect(parseIncident({ ...item, html_url: `${fits}a` }).url).toBe('');
    // 150 characters received, 1,000+ once percent-encoded: the ledger would refuse it.
    const grows = `${base}${'é'.repeat(150)}`;
    expect(grows.length).toBeLessThanOrEqual(500);
    expect(parseIncident({ ...item, html_url: grows }).url).toBe('');
    const short = `${base}é`;
    expect(parseIncident({ ...item, html_url: short }).url).toBe(`${base}%C3%A9`);
  });

  it('cuts the title to 500 characters without splitting a character, and keeps only http(s) links', () => {
    const long = parseIncident({ ...item, title: '\u{1F525}'.repeat(600) }).title;
    expect(Array.from(long)).toHaveLength(500);
    expect(long.endsWith('\u{1F525}…')).toBe(true);
    expect(parseIncident({ ...item, title: 'x'.repeat(500) }).title).toBe('x'.repeat(500));
    expect(parseIncident({ ...item, html_url: 'javascript:alert(1)' }).url).toBe('');
    expect(parseIncident({ ...item, html_url: 'not a url' }).url).toBe('');
    expect(parseIncident({ ...item, html_url: undefined }).url).toBe('');
    expect(parseIncident({ ...item, html_url: 'http://127.0.0.1:1/incidents/PINC001' }).url).toBe(
      'http://127.0.0.1:1/incidents/PINC001',
    );
  });

  it('refuses malformed incidents, naming what is wrong without quoting the untrusted value', () => {
    const long = `P${'<script>'.repeat(100)}`;
    const refusals: Array<[unknown, RegExp]> = [
      [null, /malformed incident/],
      [{ ...item, id: long }, /an incident without a valid id/],
      [{ ...item, incident_number: '42' }, /incident PINC001 without a valid incident_number/],
      [{ ...item, title: null }, /incident PINC001 without a title/],
      [
        { ...item, status: 'resolved' },
        /incident PINC001 with a status other than triggered or acknowledged/,
      ],
      [{ ...item, urgency: long }, /incident PINC001 with an urgency other than high or low/],
      [{ ...item, service: { id: long } }, /incident PINC001 service without a valid id/],
      [
        { ...item, service: { ...item.service, escalation_policy: undefined } },
        /incident PINC001 without its service's escalation policy \(asked for with include\[\]=services\)/,
      ],
      [
        { ...item, service: { ...item.service, escalation_policy: 'PEPSVC1' } },
        /incident PINC001 without its service's escalation policy/,
      ],
      [
        { ...item, service: { ...item.service, escalation_policy: { id: long } } },
        /incident PINC001 service escalation policy without a valid id/,
      ],
      [{ ...item, escalation_policy: undefined }, /malformed incident PINC001 escalation policy/],
      [{ ...item, assignments: undefined }, /incident PINC001 without an assignments list/],
      [
        { ...item, assignments: [{ assignee: { id: 'bad id' } }] },
        /incident PINC001 assignee without a valid id/,
      ],
      [{ ...item, assignments: [{ at: 'now' }] }, /malformed incident PINC001 assignee/],
    ];
    for (const [bad, message] of refusals) {
      let thrown: unknown;
      try {
        parseIncident(bad);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, String(message)).toBeInstanceOf(PagerDutyError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('<script>');
    }
  });
});

describe('PagerDutyClient.listIncidents (against the fake PagerDuty)', () => {
  const TOKEN = 'u+pd_incidents-TEST';
  const NOW = Date.parse('2026-11-30T07:00:00Z');
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const at = (ms: number) => new Date(ms).toISOString();
  const ADA = 'PADA001';
  const BOB = 'PBOB002';
  const CY = 'PCYX003'; // the fake leaves her email out of included users
  const DB = { id: 'PSVCDB1', name: 'Database' };
  const WEB = { id: 'PSVCWEB', name: 'Web' };
  const OPEN: IncidentFilter = {
    serviceIds: [DB.id, WEB.id],
    urgencies: ['high', 'low'],
    statuses: ['triggered', 'acknowledged'],
  };

  // #1 triggered/high on DB (Ada), #2 acknowledged/low on WEB (Bob, Cy), #3 resolved on DB,
  // #4 triggered/high on WEB (Bob), created 40 days ago: outside PagerDuty's default 30 days.
  const seeds = (): SeedIncident[] => [
    {
      id: 'PINC001',
      number: 1,
      title: 'Disk full',
      status: 'triggered',
      urgency: 'high',
      service: DB,
      escalationPolicy: 'PEP1AAA',
      assignments: [{ user: ADA, at: at(NOW - HOUR) }],
      createdAt: at(NOW - HOUR),
    },
    {
      id: 'PINC002',
      number: 2,
      title: 'Slow pages',
      status: 'acknowledged',
      urgency: 'low',
      service: WEB,
      escalationPolicy: 'PEP2BBB',
      assignments: [
        { user: BOB, at: at(NOW - 2 * HOUR) },
        { user: CY, at: at(NOW - HOUR) },
      ],
      acknowledgements: [{ user: BOB, at: at(NOW - HOUR) }],
      createdAt: at(NOW - 2 * HOUR),
    },
    {
      id: 'PINC003',
      number: 3,
      title: 'Replica lag',
      status: 'resolved',
      service: DB,
      escalationPolicy: 'PEP1AAA',
      createdAt: at(NOW - 3 * DAY),
      resolvedAt: at(NOW - 2 * DAY),
    },
    {
      id: 'PINC004',
      number: 4,
      title: 'Certificate expiring',
      status: 'triggered',
      service: WEB,
      escalationPolicy: 'PEP2BBB',
      assignments: [{ user: BOB, at: at(NOW - 40 * DAY) }],
      createdAt: at(NOW - 40 * DAY),
    },
  ];
  const org = (incidents: SeedIncident[] = seeds()): PagerDutyOrg => ({
    users: [
      { id: ADA, name: 'Ada Lovelace', email: 'ada@example.com' },
      { id: BOB, name: 'Bob Kahn', email: 'bob@example.com' },
      { id: CY, name: 'Cy Young', email: 'cy@example.com', omitEmailInInclude: true },
    ],
    schedules: [],
    escalationPolicies: [
      { id: 'PEP1AAA', name: 'Alpha', levels: [{ targets: [{ type: 'user', id: ADA }] }] },
      { id: 'PEP2BBB', name: 'Beta', levels: [{ targets: [{ type: 'user', id: BOB }] }] },
    ],
    incidents,
  });

  const fake = useFakePagerDuty(org, { token: TOKEN, now: () => NOW });
  const client = () => new PagerDutyClient({ baseUrl: fake().url, token: TOKEN, requestTimeoutMs: 5_000 });
  const numbers = (incidents: Array<{ number: number }>) => incidents.map((i) => i.number);

  it('sends the filters, date_range=all, include[]=assignees and services, time_zone=UTC and limit=100', async () => {
    const pd = client();
    const { incidents } = await pd.listIncidents({
      serviceIds: [WEB.id, WEB.id],
      urgencies: ['low'],
      statuses: ['acknowledged', 'triggered'],
    });
    expect(numbers(incidents)).toEqual([2]);
    expect(fake().requests.map((r) => [r.path, r.query])).toEqual([
      [
        '/incidents',
        [
          ['date_range', 'all'],
          ['statuses[]', 'acknowledged'],
          ['statuses[]', 'triggered'],
          ['service_ids[]', WEB.id], // once: PagerDuty refuses repeated values
          ['urgencies[]', 'low'],
          ['include[]', 'assignees'],
          ['include[]', 'services'],
          ['time_zone', 'UTC'],
          ['limit', '100'],
          ['offset', '0'],
        ],
      ],
    ]);
    expect(pd.requestCount).toBe(1);
    expect(
      numbers((await pd.listIncidents({ ...OPEN, serviceIds: [DB.id], statuses: ['triggered'] })).incidents),
    ).toEqual([1]);
  });

  it('sends no urgencies[] when both urgencies are asked for: the filter needs an account ability', async () => {
    fake().setOrg({ ...org(), abilities: [] }); // the fake answers 402 to urgencies[] on this account
    expect(
      numbers((await client().listIncidents({ ...OPEN, urgencies: ['low', 'high'] })).incidents),
    ).toEqual([1, 2, 4]);
    expect(fake().requests.flatMap((r) => r.query.map(([key]) => key))).not.toContain('urgencies[]');
  });

  it('on a 402 for urgencies[], says to remove incidents.urgencies from the rules (not retried)', async () => {
    fake().setOrg({ ...org(), abilities: ['teams'] });
    const pd = client();
    const error = await pd.listIncidents({ ...OPEN, urgencies: ['high'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PagerDutyError);
    expect(error).toMatchObject({ status: 402 });
    expect((error as Error).message).toMatch(
      /^PagerDuty says the account lacks an ability needed for \/incidents \(402: Account does not have the abilities to perform the action, code 2012, urgencies\[\] requires the urgencies ability\); remove incidents\.urgencies from the rules \(this PagerDuty account lacks the urgencies ability\), or /,
    );
    expect(pd.requestCount).toBe(1);
    // A 402 with no urgencies[] sent is some other ability: no advice about urgencies.
    fake().faults.push({ path: '/incidents', status: 402, body: { error: { message: 'Payment Required' } } });
    const other = await client()
      .listIncidents(OPEN)
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ name: 'PagerDutyError', status: 402 });
    expect((other as Error).message).not.toMatch(/urgencies/);
  });

  it("gives the service's own escalation policy, also for an incident a responder moved to their own policy", async () => {
    const moved: SeedIncident = {
      ...(seeds()[0] as SeedIncident),
      service: { ...DB, escalationPolicyId: 'PEP1AAA' },
      escalationPolicy: 'PEP2BBB', // moved off the service's policy
    };
    fake().setOrg(org([moved, ...seeds().slice(1)]));
    const {
      incidents: [first],
    } = await client().listIncidents({ ...OPEN, serviceIds: [DB.id] });
    expect(first?.service).toEqual({ ...DB, escalationPolicyId: 'PEP1AAA' });
    expect(first?.escalationPolicy).toEqual({ id: 'PEP2BBB', name: 'Beta' });
  });

  it('lists an incident created 40 days ago (date_range=all), and never a resolved one', async () => {
    const { incidents } = await client().listIncidents(OPEN);
    expect(numbers(incidents)).toEqual([1, 2, 4]);
    expect(incidents[2]).toEqual({
      id: 'PINC004',
      number: 4,
      title: 'Certificate expiring',
      url: 'https://acme.pagerduty.com/incidents/PINC004',
      status: 'triggered',
      urgency: 'high',
      service: { ...WEB, escalationPolicyId: 'PEP2BBB' }, // no seed says otherwise: the incident's policy
      escalationPolicy: { id: 'PEP2BBB', name: 'Beta' },
      assignees: [{ id: BOB, name: 'Bob Kahn', email: 'bob@example.com' }],
    });
  });

  it("reads assignees' emails from the include, undefined when PagerDuty leaves one out", async () => {
    const {
      incidents: [ack],
    } = await client().listIncidents({ ...OPEN, statuses: ['acknowledged'] });
    expect(ack?.assignees).toEqual([
      { id: BOB, name: 'Bob Kahn', email: 'bob@example.com' },
      { id: CY, name: 'Cy Young', email: undefined },
    ]);
  });

  /** `n` open incidents #1 to #n on DB, assigned to Ada, each a minute older than the one before. */
  const many = (n: number): SeedIncident[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `PMANY${String(i + 1).padStart(3, '0')}`,
      number: i + 1,
      title: `Incident ${i + 1}`,
      status: 'triggered',
      service: DB,
      escalationPolicy: 'PEP1AAA',
      assignments: [{ user: ADA, at: at(NOW - HOUR) }],
      createdAt: at(NOW - HOUR - i * 60_000),
    }));
  const offsets = () => fake().requests.map((r) => r.query.find(([key]) => key === 'offset')?.[1]);

  it('pages through more than 100 incidents with offset, and stops when more is false', async () => {
    fake().setOrg(org(many(230)));
    const { incidents } = await client().listIncidents(OPEN);
    expect(numbers(incidents)).toEqual(Array.from({ length: 230 }, (_, i) => i + 1));
    expect(offsets()).toEqual(['0', '100', '200']);
  });

  it('says the list is one snapshot only when it came in one page, whatever the retries', async () => {
    fake().setOrg(org(many(50)));
    fake().faults.push({ path: '/incidents', status: 503 }); // answered on the second try
    const one = await client().listIncidents(OPEN);
    expect([one.incidents.length, one.snapshot]).toEqual([50, true]);
    fake().setOrg(org(many(101)));
    const two = await client().listIncidents(OPEN);
    expect([two.incidents.length, two.snapshot]).toEqual([101, false]);
  });

  const page = (incidents: unknown[], more: boolean) => ({
    incidents,
    limit: 100,
    offset: 0,
    more,
    total: null,
  });
  const incidentItem = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    incident_number: Number(id.slice(-3)),
    title: 'x',
    status: 'triggered',
    urgency: 'high',
    service: { id: DB.id, summary: DB.name, escalation_policy: { id: 'PEP1AAA' } },
    escalation_policy: { id: 'PEP1AAA', summary: 'Alpha' },
    assignments: [],
    ...extra,
  });

  it('moves offset by the page length received, so a short page skips nothing', async () => {
    fake().faults.push({
      path: '/incidents',
      status: 200,
      body: { ...page([incidentItem('PINC001')], true), total: 3 },
    });
    // The fake's own list is #1, #2, #4 (total 3): after a first page of one, offset 1 must give #2 and #4.
    expect(numbers((await client().listIncidents(OPEN)).incidents)).toEqual([1, 2, 4]);
    expect(fake().requests.map((r) => r.query.find(([key]) => key === 'offset')?.[1])).toEqual(['0', '1']);
  });

  it('refuses an empty page that says more follow, and stops before the 10,000 offset cap', async () => {
    fake().faults.push({ path: '/incidents', status: 200, body: page([], true) });
    await expect(client().listIncidents(OPEN)).rejects.toThrow(
      /more incidents follow but sent an empty page/,
    );
    const full = Array.from({ length: 100 }, (_, i) => incidentItem(`PINC${String(i + 1).padStart(3, '0')}`));
    fake().faults.push({ path: '/incidents', status: 200, body: page(full, true), times: 1_000 });
    fake().requests.length = 0;
    const refusal = client().listIncidents(OPEN);
    await expect(refusal).rejects.toThrow(PagerDutyError);
    await expect(refusal).rejects.toThrow(/more than 10000 open incidents.*fewer services per rule/);
    expect(fake().requests).toHaveLength(100); // offsets 0..9900; offset 10000 + limit 100 is never sent
  });

  it('refuses an answer with an incident that was not asked for, or a malformed one', async () => {
    const refusals: Array<[unknown, RegExp]> = [
      [
        page(
          [incidentItem('PINC009', { service: { id: 'PSVCOTH', escalation_policy: { id: 'PEP1AAA' } } })],
          false,
        ),
        /PINC009, whose service was not/,
      ],
      [
        page([incidentItem('PINC009', { urgency: 'low' })], false),
        /PINC009, whose urgency was not asked for/,
      ],
      [page([incidentItem('PINC009', { status: 'resolved' })], false), /status other than triggered/],
      [page([incidentItem('PINC009', { escalation_policy: null })], false), /PINC009 escalation policy/],
      [{ incidents: 'none', more: false }, /without an "incidents" list/],
      [[], /malformed \/incidents response/],
    ];
    for (const [body, message] of refusals) {
      fake().faults.push({ path: '/incidents', status: 200, body: body as object });
      const listing = client().listIncidents({ ...OPEN, urgencies: ['high'] });
      await expect(listing, String(message)).rejects.toThrow(PagerDutyError);
      await expect(listing, String(message)).rejects.toThrow(message);
    }
  });

  it('surfaces a 400 from PagerDuty as a final PagerDutyError with its status and detail', async () => {
    fake().faults.push({
      path: '/incidents',
      status: 400,
      body: { error: { message: 'Invalid Input Provided', code: 2001, errors: ['Service not found'] } },
    });
    const pd = client();
    const error = await pd.listIncidents(OPEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PagerDutyError);
    expect(error).toMatchObject({ status: 400 });
    expect((error as Error).message).toBe(
      'PagerDuty refused the request to /incidents (400: Invalid Input Provided, code 2001, Service not found); ' +
        'check the services of the rules with incidents',
    );
    expect(pd.requestCount).toBe(1); // not retried
  });

  it('names incidents.read on a 403', async () => {
    fake().faults.push(accessDenied('/incidents'));
    const error = await client()
      .listIncidents(OPEN)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'PagerDutyError', status: 403 });
    expect((error as Error).message).toMatch(/403: Access Denied, code 2010\).*need incidents\.read/);
  });

  it('refuses a filter with an empty list before asking PagerDuty (it would drop that filter)', async () => {
    await expect(client().listIncidents({ ...OPEN, serviceIds: [] })).rejects.toThrow(/at least one service/);
    await expect(client().listIncidents({ ...OPEN, statuses: [] })).rejects.toThrow(/one status/);
    expect(fake().requests).toHaveLength(0);
  });
});

describe('PagerDutyClient.lookUpService (against the fake PagerDuty)', () => {
  const TOKEN = 'u+pd_services-TEST';
  const org: PagerDutyOrg = {
    users: [{ id: 'PADA001', name: 'Ada Lovelace', email: 'ada@example.com' }],
    schedules: [],
    escalationPolicies: [
      { id: 'PEP1AAA', name: 'Alpha', levels: [{ targets: [{ type: 'user', id: 'PADA001' }] }] },
    ],
    services: [{ id: 'PSVCDB1', name: 'Orders DB' }],
  };
  const fake = useFakePagerDuty(() => org, { token: TOKEN });
  const client = () => new PagerDutyClient({ baseUrl: fake().url, token: TOKEN, requestTimeoutMs: 5_000 });

  it("gives a known service's name with one bare GET /services/{id}, and undefined for a 404", async () => {
    const pd = client();
    expect(await pd.lookUpService('PSVCDB1')).toBe('Orders DB');
    expect(await pd.lookUpService('PNOSUCH')).toBeUndefined();
    expect(fake().requests.map((r) => [r.path, r.query])).toEqual([
      ['/services/PSVCDB1', []],
      ['/services/PNOSUCH', []],
    ]);
    expect(pd.requestCount).toBe(2); // a 404 is final, not retried
  });

  it('falls back to summary, then the ID, for the name', async () => {
    fake().faults.push({
      path: '/services/',
      status: 200,
      body: { service: { id: 'PSVCDB1', summary: 'DB' } },
    });
    fake().faults.push({ path: '/services/', status: 200, body: { service: { id: 'PSVCDB1' } } });
    expect(await client().lookUpService('PSVCDB1')).toBe('DB');
    expect(await client().lookUpService('PSVCDB1')).toBe('PSVCDB1');
  });

  it('throws on a 403, naming services.read, and on a malformed answer', async () => {
    fake().faults.push(accessDenied('/services/'));
    const error = await client()
      .lookUpService('PSVCDB1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'PagerDutyError', status: 403 });
    expect((error as Error).message).toBe(
      'pagerduty-token is not allowed to read /services/PSVCDB1 (403: Access Denied, code 2010); ' +
        'checking the services of rules with incidents needs services.read',
    );
    fake().faults.push({ path: '/services/', status: 200, body: [] });
    await expect(client().lookUpService('PSVCDB1')).rejects.toThrow(/malformed \/services response/);
  });
});
