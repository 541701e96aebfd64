// Tests of the fake PagerDuty's `GET /incidents`: it must refuse what PagerDuty refuses and answer in the shapes of
// PagerDuty's listIncidents (see pagerduty-incidents.mjs), otherwise incident tests of the action prove nothing.
import { describe, expect, it } from 'vitest';
import { startFakePagerDuty } from './pagerduty.mjs';
import type { PagerDutyOrg } from './pagerduty.mjs';
import type { SeedIncident } from './pagerduty-incidents.mjs';
import { request } from './http-testing.js';
import { useFakePagerDuty, type ErrorBody, type Ref } from './pagerduty-testing.js';

interface Incident {
  id: string;
  type: string;
  summary: string;
  html_url: string;
  incident_number: number;
  title: string;
  status: string;
  urgency: string;
  service: Ref;
  escalation_policy: Ref;
  teams: Ref[];
  assignments: Array<{ at: string; assignee: Ref }>;
  acknowledgements: Array<{ at: string; acknowledger: Ref }>;
  created_at: string;
  last_status_change_at: string;
  resolved_at: string | null;
}
interface IncidentsPage {
  incidents: Incident[];
  limit: number;
  offset: number;
  more: boolean;
  total: number | null;
}

const TOKEN = 'u+Ab_c-9xYz';
const AUTH = `Token token=${TOKEN}`;
// Monday 2026-03-02 12:00 UTC (07:00 in New York, EST).
const NOW = Date.parse('2026-03-02T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

const ADA = 'PADA001';
const BOB = 'PBOB002';
const CY = 'PCYX003';
const EP1 = 'PEP1AAA';
const EP2 = 'PEP2BBB';
const DB = { id: 'PSVCDB1', name: 'Database' };
const WEB = { id: 'PSVCWEB', name: 'Web <b>front</b>' };
const TEAM = { id: 'PTEAM01', name: 'SRE' };

// #1 triggered/high on DB, ADA, team SRE, 1h old. #2 acknowledged/low on WEB, BOB and CY, acknowledged by BOB.
// #3 resolved/high on DB, 3 days old. #4 triggered/high on WEB, BOB, 40 days old: outside the default month.
function incidents(): SeedIncident[] {
  return [
    {
      id: 'PINC001',
      number: 1,
      title: 'Disk full',
      status: 'triggered',
      urgency: 'high',
      service: DB,
      escalationPolicy: EP1,
      teams: [TEAM],
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
      escalationPolicy: EP2,
      assignments: [
        { user: BOB, at: at(NOW - 2 * HOUR) },
        { user: CY, at: at(NOW - 90 * 60_000) },
      ],
      acknowledgements: [{ user: BOB, at: at(NOW - HOUR) }],
      createdAt: at(NOW - 2 * HOUR),
      lastStatusChangeAt: at(NOW - HOUR),
    },
    {
      id: 'PINC003',
      number: 3,
      title: 'Replica lag',
      status: 'resolved',
      service: DB,
      escalationPolicy: EP1,
      createdAt: at(NOW - 3 * DAY),
      lastStatusChangeAt: at(NOW - 2 * DAY),
      resolvedAt: at(NOW - 2 * DAY),
    },
    {
      id: 'PINC004',
      number: 4,
      title: 'Certificate expiring',
      status: 'triggered',
      service: WEB,
      escalationPolicy: EP2,
      assignments: [{ user: BOB, at: at(NOW - 40 * DAY) }],
      createdAt: at(NOW - 40 * DAY),
    },
  ];
}

function org(seeds: SeedIncident[] = incidents()): PagerDutyOrg {
  return {
    users: [
      { id: ADA, name: 'Ada Lovelace', email: 'ada@example.com' },
      { id: BOB, name: 'Bob Kahn', email: 'bob@example.com' },
      { id: CY, name: 'Cy Young', email: 'cy@example.com', omitEmailInInclude: true },
    ],
    schedules: [],
    escalationPolicies: [
      { id: EP1, name: 'Alpha', levels: [{ targets: [{ type: 'user', id: ADA }] }] },
      { id: EP2, name: 'Beta', levels: [{ targets: [{ type: 'user', id: BOB }] }] },
    ],
    incidents: seeds,
  };
}

const fake = useFakePagerDuty(org, { token: TOKEN, now: () => NOW });

function get(path: string, authorization: string | null = AUTH) {
  return request(`${fake().url}${path}`, authorization === null ? {} : { authorization });
}

async function list(query: string): Promise<IncidentsPage> {
  const res = await get(`/incidents?${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json() as IncidentsPage;
}

const numbers = (page: IncidentsPage) => page.incidents.map((i) => i.incident_number);
const numbersOf = async (query: string) => numbers(await list(query));

async function refused(query: string, status: number): Promise<ErrorBody<string[]>> {
  const res = await get(`/incidents?${query}`);
  expect(res.status, res.text).toBe(status);
  return res.json() as ErrorBody<string[]>;
}

describe('GET /incidents: window', () => {
  it('without since/until lists only incidents created in the last month, open or not', async () => {
    const page = await list('');
    expect(numbers(page)).toEqual([1, 2, 3]);
    expect(page).toMatchObject({ limit: 25, offset: 0, more: false, total: null });
  });

  it('hides an incident open for more than a month unless date_range=all or a wider since', async () => {
    expect(await numbersOf('statuses[]=triggered')).toEqual([1]);
    expect(await numbersOf('statuses[]=triggered&date_range=all')).toEqual([1, 4]);
    expect(await numbersOf(`statuses[]=triggered&since=${encodeURIComponent(at(NOW - 60 * DAY))}`)).toEqual([
      1, 4,
    ]);
  });

  it('filters on created_at within since..until', async () => {
    const since = encodeURIComponent(at(NOW - 4 * DAY));
    const until = encodeURIComponent(at(NOW - 90 * 60_000));
    expect(await numbersOf(`since=${since}&until=${until}`)).toEqual([2, 3]);
  });

  it('with until alone, since is 30 days before it', async () => {
    // until = 2 days ago: #3 (3 days old) is in, #4 (40 days old) is 38 days before until, so out.
    expect(await numbersOf(`until=${encodeURIComponent(at(NOW - 2 * DAY))}`)).toEqual([3]);
    expect(await numbersOf(`until=${encodeURIComponent(at(NOW - 15 * DAY))}&date_range=all`)).toEqual([
      1, 2, 3, 4,
    ]);
  });

  it('reads since/until without an offset in time_zone', async () => {
    // 06:00 in New York = 11:00Z: #1 (created 11:00Z) is in, #2 (10:00Z) out.
    expect(await numbersOf('since=2026-03-02T06:00:00&time_zone=America/New_York')).toEqual([1]);
    // Without time_zone, in the account's zone (America/New_York by default) too.
    expect(await numbersOf('since=2026-03-02T06:00:00')).toEqual([1]);
    expect(await numbersOf('since=2026-03-02T06:00:00&time_zone=UTC')).toEqual([1, 2]);
  });

  it('refuses bad dates, reversed and over-long ranges, and date_range other than all', async () => {
    expect((await refused('since=yesterday', 400)).error.code).toBe(2004);
    const reversed = await refused(`since=${at(NOW)}&until=${at(NOW - DAY)}`, 400);
    expect(reversed.error).toMatchObject({ message: 'Invalid date range', code: 2005 });
    expect((await refused(`since=${at(NOW - 181 * DAY)}`, 400)).error.code).toBe(2005);
    expect(await numbersOf(`since=${at(NOW - 180 * DAY)}`)).toEqual([1, 2, 3, 4]);
    expect((await refused('date_range=everything', 400)).error.code).toBe(2001);
  });
});

describe('GET /incidents: filters', () => {
  it('statuses[]: one or several, values from the enum only, each once', async () => {
    expect(await numbersOf('statuses[]=acknowledged')).toEqual([2]);
    expect(await numbersOf('statuses[]=triggered&statuses[]=acknowledged')).toEqual([1, 2]);
    expect(await numbersOf('statuses[]=resolved')).toEqual([3]);
    const body = await refused('statuses[]=open', 400);
    expect(body.error).toMatchObject({ message: 'Invalid Input Provided', code: 2001 });
    expect(body.error.errors?.[0]).toContain('"open"');
    expect((await refused('statuses[]=resolved&statuses[]=resolved', 400)).error.code).toBe(2001);
  });

  it('urgencies[]', async () => {
    expect(await numbersOf('urgencies[]=low')).toEqual([2]);
    expect(await numbersOf('urgencies[]=high&date_range=all')).toEqual([1, 3, 4]);
    expect((await refused('urgencies[]=medium', 400)).error).toMatchObject({ code: 2001 });
  });

  it('service_ids[]', async () => {
    expect(await numbersOf(`service_ids[]=${DB.id}`)).toEqual([1, 3]);
    expect(await numbersOf(`service_ids[]=${WEB.id}&date_range=all`)).toEqual([2, 4]);
    expect(await numbersOf(`service_ids[]=${DB.id}&service_ids[]=${WEB.id}`)).toEqual([1, 2, 3]);
    expect(await numbersOf('service_ids[]=PNOSUCH')).toEqual([]);
  });

  it('user_ids[]: incidents currently assigned to them, so never resolved ones', async () => {
    expect(await numbersOf(`user_ids[]=${BOB}&date_range=all`)).toEqual([2, 4]);
    expect(await numbersOf(`user_ids[]=${CY}`)).toEqual([2]);
    expect(await numbersOf(`user_ids[]=${ADA}&statuses[]=resolved`)).toEqual([]);
  });

  it('team_ids[]', async () => {
    expect(await numbersOf(`team_ids[]=${TEAM.id}`)).toEqual([1]);
    expect(await numbersOf('team_ids[]=PTEAM99')).toEqual([]);
  });

  it('urgencies[] and team_ids[] need the account abilities of the same names: 402 without, in the spec error shape', async () => {
    fake().setOrg({ ...org(), abilities: ['teams'] });
    const body = await refused('urgencies[]=high', 402);
    expect(body).toEqual({
      error: {
        message: 'Account does not have the abilities to perform the action',
        code: 2012,
        errors: ['urgencies[] requires the urgencies ability'],
      },
    });
    expect(await numbersOf(`team_ids[]=${TEAM.id}`)).toEqual([1]);
    expect(await numbersOf('statuses[]=triggered&statuses[]=acknowledged')).toEqual([1, 2]); // no filter: fine
    fake().setOrg({ ...org(), abilities: ['urgencies'] });
    expect((await refused(`team_ids[]=${TEAM.id}`, 402)).error.errors).toEqual([
      'team_ids[] requires the teams ability',
    ]);
    expect(await numbersOf('urgencies[]=low')).toEqual([2]);
    fake().setOrg(org()); // default: every ability
    expect(await numbersOf(`urgencies[]=high&team_ids[]=${TEAM.id}`)).toEqual([1]);
  });

  it('different filters intersect', async () => {
    expect(await numbersOf(`service_ids[]=${WEB.id}&statuses[]=triggered&date_range=all`)).toEqual([4]);
    expect(await numbersOf(`service_ids[]=${DB.id}&urgencies[]=low`)).toEqual([]);
  });
});

describe('GET /incidents: shapes', () => {
  it('renders an incident with references and no assignee email by default', async () => {
    const [one] = (await list('statuses[]=triggered')).incidents;
    expect(one).toMatchObject({
      id: 'PINC001',
      type: 'incident',
      summary: '[#1] Disk full',
      html_url: 'https://acme.pagerduty.com/incidents/PINC001',
      incident_number: 1,
      title: 'Disk full',
      status: 'triggered',
      urgency: 'high',
      created_at: '2026-03-02T11:00:00Z',
      last_status_change_at: '2026-03-02T11:00:00Z',
      resolved_at: null,
      acknowledgements: [],
    });
    expect(one?.service).toEqual({
      id: DB.id,
      type: 'service_reference',
      summary: 'Database',
      self: `${fake().url}/services/${DB.id}`,
      html_url: `https://acme.pagerduty.com/service-directory/${DB.id}`,
    });
    expect(one?.escalation_policy).toMatchObject({
      id: EP1,
      type: 'escalation_policy_reference',
      summary: 'Alpha',
    });
    expect(one?.teams).toEqual([
      expect.objectContaining({ id: TEAM.id, type: 'team_reference', summary: 'SRE' }),
    ]);
    expect(one?.assignments).toEqual([
      {
        at: '2026-03-02T11:00:00Z',
        assignee: {
          id: ADA,
          type: 'user_reference',
          summary: 'Ada Lovelace',
          self: `${fake().url}/users/${ADA}`,
          html_url: `https://acme.pagerduty.com/users/${ADA}`,
        },
      },
    ]);
  });

  it('include[]=assignees gives full users with email (unless the seed leaves it out)', async () => {
    const [two] = (await list('statuses[]=acknowledged&include[]=assignees')).incidents;
    const [bob, cy] = two?.assignments.map((a) => a.assignee) ?? [];
    expect(bob).toMatchObject({ id: BOB, type: 'user', name: 'Bob Kahn', email: 'bob@example.com' });
    expect(cy).toMatchObject({ id: CY, type: 'user', name: 'Cy Young' });
    expect(cy).not.toHaveProperty('email');
    // Acknowledgers stay references without include[]=acknowledgers.
    expect(two?.acknowledgements).toEqual([
      {
        at: '2026-03-02T11:00:00Z',
        acknowledger: expect.objectContaining({ id: BOB, type: 'user_reference' }),
      },
    ]);
    expect(two?.acknowledgements[0]?.acknowledger).not.toHaveProperty('email');
  });

  it('include[]=services and include[]=escalation_policies give full objects; unknown includes are refused', async () => {
    const [one] = (await list('statuses[]=triggered&include[]=services&include[]=escalation_policies'))
      .incidents;
    expect(one?.service).toMatchObject({ id: DB.id, type: 'service', name: 'Database' });
    expect(one?.escalation_policy).toMatchObject({ id: EP1, type: 'escalation_policy', name: 'Alpha' });
    expect(one?.assignments[0]?.assignee.type).toBe('user_reference');
    expect((await refused('include[]=emails', 400)).error.code).toBe(2001);
  });

  it("include[]=services gives the service's own escalation policy, the incident's unless the seed says otherwise", async () => {
    const policyOf = async (query: string) =>
      (await list(`${query}&include[]=services`)).incidents.map((i) => [
        i.incident_number,
        i.service.escalation_policy?.id,
        i.escalation_policy.id,
      ]);
    expect(await policyOf('statuses[]=triggered&statuses[]=acknowledged')).toEqual([
      [1, EP1, EP1],
      [2, EP2, EP2],
    ]);
    // A responder moved #1 to Beta: the service stays on Alpha, as GET /services/{id} says too.
    const seeds = incidents();
    seeds[0] = {
      ...(seeds[0] as SeedIncident),
      escalationPolicy: EP2,
      service: { ...DB, escalationPolicyId: EP1 },
    };
    fake().setOrg(org(seeds));
    expect(await policyOf('statuses[]=triggered')).toEqual([[1, EP1, EP2]]);
    const service = (await get(`/services/${DB.id}`)).json() as { service: Ref };
    expect(service.service.escalation_policy?.id).toBe(EP1);
    // Without the include, a service_reference with no policy.
    const [plain] = (await list('statuses[]=triggered')).incidents;
    expect(plain?.service.type).toBe('service_reference');
    expect(plain?.service).not.toHaveProperty('escalation_policy');
  });

  it("refuses a service policy in a seed that is unknown or disagrees with the service's other seeds", () => {
    const [one, two] = incidents() as [SeedIncident, SeedIncident];
    expect(() => fake().setOrg(org([{ ...one, service: { ...DB, escalationPolicyId: 'PEPNONE' } }]))).toThrow(
      /service PSVCDB1 has unknown escalation policy PEPNONE/,
    );
    const onDb = { ...two, service: { ...DB, escalationPolicyId: EP2 } };
    expect(() => fake().setOrg(org([{ ...one, service: { ...DB, escalationPolicyId: EP1 } }, onDb]))).toThrow(
      /service PSVCDB1 has both escalation policy PEP1AAA and PEP2BBB/,
    );
    expect(() => fake().setOrg({ ...org([onDb]), services: [{ ...DB, escalationPolicyId: EP1 }] })).toThrow(
      /service PSVCDB1 has both escalation policy PEP1AAA and PEP2BBB/,
    );
  });

  it('a resolved incident has no assignments and no acknowledgements, and a resolved_at', async () => {
    const [three] = (await list('statuses[]=resolved&include[]=assignees')).incidents;
    expect(three).toMatchObject({
      status: 'resolved',
      assignments: [],
      acknowledgements: [],
      resolved_at: '2026-02-28T12:00:00Z',
    });
  });

  it('refuses a seed with assignments on a resolved incident', () => {
    const [, , resolved] = incidents();
    const bad = { ...(resolved as SeedIncident), assignments: [{ user: ADA, at: at(NOW) }] };
    expect(() => fake().setOrg(org([bad]))).toThrow(/resolved incident has no assignments/);
    expect(() => fake().setOrg(org([{ ...(resolved as SeedIncident), resolvedAt: undefined }]))).toThrow(
      /resolvedAt/,
    );
  });

  it('include[]=acknowledgers gives the full acknowledging user', async () => {
    const [two] = (await list('statuses[]=acknowledged&include[]=acknowledgers')).incidents;
    expect(two?.acknowledgements[0]?.acknowledger).toMatchObject({
      id: BOB,
      type: 'user',
      email: 'bob@example.com',
    });
    expect(two?.assignments[0]?.assignee).not.toHaveProperty('email');
  });

  it('refuses seeds that name unknown users or policies', () => {
    const [one] = incidents();
    const base = one as SeedIncident;
    expect(() => fake().setOrg(org([{ ...base, assignments: [{ user: 'PNOBODY', at: at(NOW) }] }]))).toThrow(
      /unknown user PNOBODY/,
    );
    expect(() => fake().setOrg(org([{ ...base, escalationPolicy: 'PEPNONE' }]))).toThrow(
      /unknown escalation policy/,
    );
  });

  it('renders times in time_zone', async () => {
    const [one] = (await list('statuses[]=triggered&time_zone=America/New_York')).incidents;
    expect(one?.created_at).toBe('2026-03-02T06:00:00-05:00');
    expect((await refused('time_zone=Mars/Olympus', 400)).error.code).toBe(2001);
  });

  it('setOrg changes the incidents between runs', async () => {
    const seeds = incidents();
    seeds[0] = { ...(seeds[0] as SeedIncident), status: 'resolved', assignments: [], resolvedAt: at(NOW) };
    fake().setOrg(org(seeds));
    expect(await numbersOf('statuses[]=triggered&statuses[]=acknowledged')).toEqual([2]);
  });
});

describe('GET /incidents: paging', () => {
  const many = (n: number): SeedIncident[] =>
    Array.from({ length: n }, (_, i) => ({
      id: `PMANY${String(i + 1).padStart(3, '0')}`,
      number: i + 1,
      title: `Incident ${i + 1}`,
      status: 'triggered',
      service: DB,
      escalationPolicy: EP1,
      assignments: [{ user: ADA, at: at(NOW - HOUR) }],
      createdAt: at(NOW - HOUR - i * 60_000),
    }));

  it('pages with limit/offset, more and total; limit above 100 is capped', async () => {
    fake().setOrg(org(many(230)));
    const first = await list('limit=100&total=true');
    expect(first).toMatchObject({ limit: 100, offset: 0, more: true, total: 230 });
    expect(first.incidents).toHaveLength(100);
    const second = await list('limit=100&offset=100');
    expect(second).toMatchObject({ more: true, total: null });
    expect(numbers(second)[0]).toBe(101);
    const third = await list('limit=100&offset=200');
    expect(third.more).toBe(false);
    expect(numbers(third)).toEqual(Array.from({ length: 30 }, (_, i) => 201 + i));
    const capped = await list('limit=500');
    expect(capped.limit).toBe(100);
    expect(capped.incidents).toHaveLength(100);
    expect((await list('')).incidents).toHaveLength(25);
  });

  it('calls afterIncidentsPage after each page is computed, so a test can change the list between pages', async () => {
    const seeds = many(150);
    fake().setOrg(org(seeds));
    const pages: Array<{ offset: number; count: number }> = [];
    fake().afterIncidentsPage = (page) => {
      pages.push(page);
      if (page.offset === 0) {
        seeds[0] = {
          ...(seeds[0] as SeedIncident),
          status: 'resolved',
          assignments: [],
          resolvedAt: at(NOW),
        };
        fake().setOrg(org(seeds));
      }
    };
    try {
      const first = await list('statuses[]=triggered&limit=100&total=true');
      expect(first).toMatchObject({ total: 150, more: true });
      const second = await list('statuses[]=triggered&limit=100&offset=100&total=true');
      // #101 moved to offset 99 once #1 resolved: a client paging by offset would never see it.
      expect(second).toMatchObject({ total: 149, more: false });
      expect(numbers(second)[0]).toBe(102);
      expect(pages).toEqual([
        { offset: 0, count: 100 },
        { offset: 100, count: 49 },
      ]);
      fake().faults.push({ path: '/incidents', status: 500 });
      expect((await get('/incidents')).status).toBe(500);
      expect(pages).toHaveLength(2); // a fault is no page
    } finally {
      fake().afterIncidentsPage = undefined;
    }
  });

  it('refuses offset + limit over 10,000 and bad integers', async () => {
    const body = await refused('limit=100&offset=9901', 400);
    expect(body.error).toMatchObject({ message: 'Arguments Caused Error', code: 2002 });
    await list('limit=100&offset=9900');
    expect((await refused('limit=0', 400)).error.code).toBe(2001);
    expect((await refused('offset=-1', 400)).error.code).toBe(2001);
    expect((await refused('total=yes', 400)).error.code).toBe(2001);
  });
});

describe('GET /incidents: auth, faults, latency', () => {
  it('answers 401 without or with a wrong key, accepts Token and Bearer', async () => {
    for (const auth of [null, 'Token token=wrong', TOKEN]) {
      const res = await get('/incidents', auth);
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ error: { message: 'Authentication failed', code: 2006 } });
    }
    expect((await get('/incidents', `Bearer ${TOKEN}`)).status).toBe(200);
  });

  it('answers injected faults on /incidents (a 403 for a token without incidents.read) and records requests', async () => {
    fake().faults.push({
      path: '/incidents',
      status: 403,
      body: { error: { message: 'Access Denied', code: 2010 } },
    });
    const denied = await get('/incidents?statuses[]=triggered');
    expect(denied.status).toBe(403);
    expect(denied.json()).toEqual({ error: { message: 'Access Denied', code: 2010 } });
    expect((await get('/incidents')).status).toBe(200);
    expect(fake().requests.map((r) => [r.path, r.query])).toEqual([
      ['/incidents', [['statuses[]', 'triggered']]],
      ['/incidents', []],
    ]);
  });

  it('answers only after latencyMs', async () => {
    const slow = await startFakePagerDuty({ org: org(), token: TOKEN, now: () => NOW, latencyMs: 150 });
    try {
      const started = Date.now();
      const res = await request(`${slow.url}/incidents`, { authorization: AUTH });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await slow.close();
    }
  });
});
