// Tests of the fake PagerDuty itself: it must refuse what PagerDuty refuses and answer in PagerDuty's shapes
// (see docs/pagerduty.md), otherwise tests of the action against it prove nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakePagerDuty } from './pagerduty.mjs';
import type { FakePagerDuty, PagerDutyOrg } from './pagerduty.mjs';
import { bigOrg } from './orgs.mjs';
import { request } from './http-testing.js';

interface Ref {
  id: string;
  type: string;
  summary: string;
  self: string;
  html_url: string;
  name?: string;
  email?: string;
  time_zone?: string | null;
  role?: string;
}
interface OncallRow {
  escalation_policy: Ref;
  escalation_level: number;
  schedule: Ref | null;
  user: Ref;
  start: string | null;
  end: string | null;
}
interface OncallsPage {
  oncalls: OncallRow[];
  limit: number;
  offset: number;
  more: boolean;
  total: number | null;
}
interface ErrorBody {
  error: { message: string; code: number; errors?: string[] };
}

const TOKEN = 'u+Ab_c-9xYz';
const AUTH = `Token token=${TOKEN}`;
// Monday 2026-03-02 12:00 UTC (07:00 in New York, EST; DST starts there on 2026-03-08).
const NOW = Date.parse('2026-03-02T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(ms).toISOString();

// A tiny org whose every period is known by heart.
// S1 "Primary": daily turns at 14:00Z, users [ADA, ADA, BOB] -> ADA 48h, BOB 24h, ... anchored 2026-03-01T14:00Z.
// S2 "Secondary": explicit entries BOB 10-18Z, CY 18-02Z, CY 02-06Z (contiguous -> one period),
//    and an override CY 13-15Z that splits BOB's entry.
// S3 "Shadow" (v3): BOB all of March. S4 "Unused": no policy uses it.
// EP1 "Alpha": L1 S1, L2 S2, L3 DEE directly. EP2 "Beta": L1 S3, L2 S1 (S1 appears under two policies).
const ADA = 'PADA001';
const BOB = 'PBOB002';
const CY = 'PCYX003';
const DEE = 'PDEE004';
const S1 = 'PS1AAAA';
const S2 = 'PS2BBBB';
const S3 = 'PS3CCCC';
const S4 = 'PS4DDDD';
const EP1 = 'PEP1AAA';
const EP2 = 'PEP2BBB';

function tinyOrg(): PagerDutyOrg {
  return {
    users: [
      { id: ADA, name: 'Ada Lovelace', email: 'ada@example.com', time_zone: 'Europe/London' },
      { id: BOB, name: 'Bob Kahn', email: 'bob@example.com', time_zone: 'America/New_York' },
      { id: CY, name: 'Cy Young', email: 'cy@example.com', time_zone: null, omitEmailInInclude: true },
      { id: DEE, name: 'Dee Dee', email: 'dee@example.com', time_zone: 'Asia/Kolkata' },
    ],
    schedules: [
      {
        id: S1,
        name: 'Primary',
        rotation: { start: '2026-03-01T14:00:00Z', shiftMinutes: 24 * 60, users: [ADA, ADA, BOB] },
      },
      {
        id: S2,
        name: 'Secondary',
        entries: [
          { user: BOB, start: '2026-03-02T10:00:00Z', end: '2026-03-02T18:00:00Z' },
          { user: CY, start: '2026-03-02T18:00:00Z', end: '2026-03-03T02:00:00Z' },
          { user: CY, start: '2026-03-03T02:00:00Z', end: '2026-03-03T06:00:00Z' },
        ],
        overrides: [{ user: CY, start: '2026-03-02T13:00:00Z', end: '2026-03-02T15:00:00Z' }],
      },
      {
        id: S3,
        name: 'Shadow',
        v3: true,
        entries: [{ user: BOB, start: '2026-03-01T00:00:00Z', end: '2026-04-01T00:00:00Z' }],
      },
      { id: S4, name: 'Unused', rotation: { start: '2026-03-01T00:00:00Z', shiftMinutes: 60, users: [ADA] } },
    ],
    escalationPolicies: [
      {
        id: EP1,
        name: 'Alpha',
        levels: [
          { targets: [{ type: 'schedule', id: S1 }] },
          { targets: [{ type: 'schedule', id: S2 }] },
          { targets: [{ type: 'user', id: DEE }] },
        ],
      },
      {
        id: EP2,
        name: 'Beta',
        levels: [{ targets: [{ type: 'schedule', id: S3 }] }, { targets: [{ type: 'schedule', id: S1 }] }],
      },
    ],
  };
}

let fake: FakePagerDuty;

beforeAll(async () => {
  fake = await startFakePagerDuty({ org: tinyOrg(), token: TOKEN, now: () => NOW });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.setOrg(tinyOrg());
  fake.faults.length = 0;
  fake.requests.length = 0;
});

function get(path: string, authorization: string | null = AUTH) {
  return request(`${fake.url}${path}`, authorization === null ? {} : { authorization });
}

async function oncalls(query: string): Promise<OncallsPage> {
  const res = await get(`/oncalls?${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json() as OncallsPage;
}

async function refused(path: string, status: number): Promise<ErrorBody> {
  const res = await get(path);
  expect(res.status, res.text).toBe(status);
  return res.json() as ErrorBody;
}

const window = (since: string, until: string) =>
  `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`;
/** Compact "EP/level/schedule/user start..end" lines, for exact comparisons. */
const lines = (page: OncallsPage) =>
  page.oncalls.map(
    (r) =>
      `${r.escalation_policy.id}/${r.escalation_level}/${r.schedule?.id ?? 'null'}/${r.user.id} ${r.start}..${r.end}`,
  );

describe('authentication', () => {
  it('refuses a missing header with 401 / 2006', async () => {
    const res = await get('/oncalls', null);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ error: { message: 'Authentication failed', code: 2006 } });
  });

  it.each([
    ['wrong token', 'Token token=nope'],
    ['bare token', TOKEN],
    ['lower-case scheme', `token token=${TOKEN}`],
    ['Bearer with Token syntax', `Bearer token=${TOKEN}`],
    ['trailing garbage', `${AUTH}x`],
  ])('refuses %s', async (_label, header) => {
    const res = await get('/oncalls', header);
    expect(res.status).toBe(401);
    expect((res.json() as ErrorBody).error.code).toBe(2006);
  });

  it('accepts both Token and Bearer with a key containing + _ -', async () => {
    expect((await get('/oncalls', AUTH)).status).toBe(200);
    expect((await get('/oncalls', `Bearer ${TOKEN}`)).status).toBe(200);
  });

  it('checks auth before routing', async () => {
    expect((await get('/nope', null)).status).toBe(401);
    const body = await refused('/nope', 404);
    expect(body).toEqual({ error: { message: 'Not Found', code: 2100 } });
  });

  it('serves only GET', async () => {
    const res = await request(`${fake.url}/oncalls`, { method: 'POST', authorization: AUTH });
    expect(res.status).toBe(404);
  });

  it('answers JSON with an application/json content type', async () => {
    const res = await get('/oncalls');
    expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
  });

  it('records every request with its decoded, repeated query keys', async () => {
    await get(`/oncalls?schedule_ids%5B%5D=${S1}&schedule_ids[]=${S2}&limit=5`);
    await get('/users/PADA001', null);
    expect(fake.requests).toEqual([
      {
        method: 'GET',
        path: '/oncalls',
        query: [
          ['schedule_ids[]', S1],
          ['schedule_ids[]', S2],
          ['limit', '5'],
        ],
        authorization: AUTH,
      },
      { method: 'GET', path: '/users/PADA001', query: [], authorization: undefined },
    ]);
  });
});

describe('GET /oncalls filters', () => {
  const point = window('2026-03-02T16:00:00Z', '2026-03-02T16:00:00Z');

  it('returns every policy/level row at a point in time, in (policy, level, start, user) order', async () => {
    const page = await oncalls(`${point}&time_zone=UTC`);
    expect(lines(page)).toEqual([
      `${EP1}/1/${S1}/${ADA} 2026-03-01T14:00:00Z..2026-03-03T14:00:00Z`,
      `${EP1}/2/${S2}/${BOB} 2026-03-02T15:00:00Z..2026-03-02T18:00:00Z`,
      `${EP1}/3/null/${DEE} null..null`,
      `${EP2}/1/${S3}/${BOB} 2026-03-01T00:00:00Z..2026-04-01T00:00:00Z`,
      `${EP2}/2/${S1}/${ADA} 2026-03-01T14:00:00Z..2026-03-03T14:00:00Z`,
    ]);
    expect(page.total).toBeNull();
  });

  it('filters by repeated schedule_ids[] (literal and %5B%5D-encoded alike)', async () => {
    const literal = await oncalls(`${point}&schedule_ids[]=${S2}&schedule_ids[]=${S3}`);
    const encoded = await oncalls(`${point}&schedule_ids%5B%5D=${S2}&schedule_ids%5B%5D=${S3}`);
    expect(lines(literal).map((l) => l.split(' ')[0])).toEqual([
      `${EP1}/2/${S2}/${BOB}`,
      `${EP2}/1/${S3}/${BOB}`,
    ]);
    expect(lines(encoded)).toEqual(lines(literal));
  });

  it('ignores a key without brackets, like any unknown parameter', async () => {
    const all = await oncalls(point);
    const plain = await oncalls(`${point}&schedule_ids=${S2}&user_ids=${BOB}&escalation_policy_ids=${EP2}`);
    expect(all.oncalls).toHaveLength(5);
    expect(lines(plain)).toEqual(lines(all));
  });

  it('intersects different filters', async () => {
    const bySchedule = await oncalls(`${point}&schedule_ids[]=${S1}`);
    expect(bySchedule.oncalls).toHaveLength(2);
    const both = await oncalls(`${point}&schedule_ids[]=${S1}&escalation_policy_ids[]=${EP2}`);
    expect(lines(both).map((l) => l.split(' ')[0])).toEqual([`${EP2}/2/${S1}/${ADA}`]);
    const byUser = await oncalls(`${point}&user_ids[]=${BOB}&escalation_policy_ids[]=${EP1}`);
    expect(lines(byUser).map((l) => l.split(' ')[0])).toEqual([`${EP1}/2/${S2}/${BOB}`]);
    const none = await oncalls(`${point}&user_ids[]=${ADA}&schedule_ids[]=${S3}`);
    expect(none.oncalls).toEqual([]);
  });

  it('treats schedule_ids[]=null as the users targeted directly', async () => {
    const direct = await oncalls(`${point}&schedule_ids[]=null`);
    expect(direct.oncalls).toEqual([
      expect.objectContaining({ schedule: null, start: null, end: null, escalation_level: 3 }),
    ]);
    expect(direct.oncalls[0]?.user.id).toBe(DEE);
    const withoutNull = await oncalls(`${point}&schedule_ids[]=${S2}`);
    expect(withoutNull.oncalls.some((r) => r.schedule === null)).toBe(false);
    const withNull = await oncalls(`${point}&schedule_ids[]=${S2}&schedule_ids[]=null`);
    expect(withNull.oncalls.map((r) => r.schedule?.id ?? null)).toEqual([S2, null]);
  });

  it('never shows a schedule no policy uses, even when asked by id', async () => {
    const page = await oncalls(
      `${window('2026-03-02T00:00:00Z', '2026-03-04T00:00:00Z')}&schedule_ids[]=${S4}`,
    );
    expect(page.oncalls).toEqual([]);
  });

  it('earliest=true keeps the first on-call per (policy, level, user)', async () => {
    const span = window('2026-03-02T00:00:00Z', '2026-03-06T00:00:00Z');
    const all = await oncalls(`${span}&schedule_ids[]=${S1}&escalation_policy_ids[]=${EP1}&time_zone=UTC`);
    expect(lines(all)).toEqual([
      `${EP1}/1/${S1}/${ADA} 2026-03-01T14:00:00Z..2026-03-03T14:00:00Z`,
      `${EP1}/1/${S1}/${BOB} 2026-03-03T14:00:00Z..2026-03-04T14:00:00Z`,
      `${EP1}/1/${S1}/${ADA} 2026-03-04T14:00:00Z..2026-03-06T14:00:00Z`,
    ]);
    const earliest = await oncalls(
      `${span}&schedule_ids[]=${S1}&escalation_policy_ids[]=${EP1}&time_zone=UTC&earliest=true`,
    );
    expect(lines(earliest)).toEqual(lines(all).slice(0, 2));
  });
});

describe('GET /oncalls periods', () => {
  const s1Ep1 = `schedule_ids[]=${S1}&escalation_policy_ids[]=${EP1}&time_zone=UTC`;

  it('returns whole periods that overlap the window, not clipped to it', async () => {
    const page = await oncalls(`${window('2026-03-03T13:00:00Z', '2026-03-03T15:00:00Z')}&${s1Ep1}`);
    expect(lines(page)).toEqual([
      `${EP1}/1/${S1}/${ADA} 2026-03-01T14:00:00Z..2026-03-03T14:00:00Z`,
      `${EP1}/1/${S1}/${BOB} 2026-03-03T14:00:00Z..2026-03-04T14:00:00Z`,
    ]);
  });

  it('excludes periods that only touch the window', async () => {
    const before = await oncalls(`${window('2026-03-03T10:00:00Z', '2026-03-03T14:00:00Z')}&${s1Ep1}`);
    expect(before.oncalls.map((r) => r.user.id)).toEqual([ADA]);
    const after = await oncalls(`${window('2026-03-03T14:00:00Z', '2026-03-03T16:00:00Z')}&${s1Ep1}`);
    expect(after.oncalls.map((r) => r.user.id)).toEqual([BOB]);
  });

  it('merges back-to-back turns of the same user (rotation and explicit entries)', async () => {
    // ADA has two consecutive daily turns in S1: one 48h row, not two 24h rows.
    const s1 = await oncalls(`${window('2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z')}&${s1Ep1}`);
    expect(s1.oncalls.map((r) => [r.start, r.end])).toEqual([
      ['2026-03-01T14:00:00Z', '2026-03-03T14:00:00Z'],
    ]);
    // CY 18-02 and 02-06 entries form one 18-06 period.
    const s2 = await oncalls(
      `${window('2026-03-03T03:00:00Z', '2026-03-03T04:00:00Z')}&schedule_ids[]=${S2}&time_zone=UTC`,
    );
    expect(lines(s2)).toEqual([`${EP1}/2/${S2}/${CY} 2026-03-02T18:00:00Z..2026-03-03T06:00:00Z`]);
  });

  it('applies overrides, splitting the shift they land in', async () => {
    const page = await oncalls(
      `${window('2026-03-02T00:00:00Z', '2026-03-03T12:00:00Z')}&schedule_ids[]=${S2}&time_zone=UTC`,
    );
    expect(lines(page)).toEqual([
      `${EP1}/2/${S2}/${BOB} 2026-03-02T10:00:00Z..2026-03-02T13:00:00Z`,
      `${EP1}/2/${S2}/${CY} 2026-03-02T13:00:00Z..2026-03-02T15:00:00Z`,
      `${EP1}/2/${S2}/${BOB} 2026-03-02T15:00:00Z..2026-03-02T18:00:00Z`,
      `${EP1}/2/${S2}/${CY} 2026-03-02T18:00:00Z..2026-03-03T06:00:00Z`,
    ]);
  });

  it('returns one row per (policy, level) that uses the same schedule', async () => {
    const page = await oncalls(
      `${window('2026-03-02T16:00:00Z', '2026-03-02T16:00:00Z')}&schedule_ids[]=${S1}`,
    );
    expect(page.oncalls.map((r) => `${r.escalation_policy.id}/${r.escalation_level}`)).toEqual([
      `${EP1}/1`,
      `${EP2}/2`,
    ]);
    expect(page.oncalls[0]?.start).toBe(page.oncalls[1]?.start);
  });

  it('defaults since and until to now', async () => {
    const page = await oncalls(`schedule_ids[]=${S2}&time_zone=UTC`);
    // NOW is 12:00Z: BOB's 10-13 piece, before CY's override.
    expect(lines(page)).toEqual([`${EP1}/2/${S2}/${BOB} 2026-03-02T10:00:00Z..2026-03-02T13:00:00Z`]);
  });

  it('computes on-calls only 90 days ahead', async () => {
    const horizon = NOW + 90 * DAY;
    const page = await oncalls(`${window(at(horizon - 5 * DAY), at(horizon + 5 * DAY))}&${s1Ep1}&limit=100`);
    const starts = page.oncalls.map((r) => Date.parse(r.start ?? ''));
    expect(starts.length).toBeGreaterThan(2);
    expect(Math.max(...starts)).toBeLessThanOrEqual(horizon);
    // The last period starting before the horizon still has its real end.
    expect(Math.max(...page.oncalls.map((r) => Date.parse(r.end ?? '')))).toBeGreaterThan(horizon);
    const beyond = await oncalls(`${window(at(horizon + 2 * DAY), at(horizon + 3 * DAY))}&${s1Ep1}`);
    expect(beyond.oncalls).toEqual([]);
  });
});

describe('GET /oncalls time zones', () => {
  const q = `schedule_ids[]=${S1}&escalation_policy_ids[]=${EP1}`;

  it('renders in the account time zone by default, with the offset of each instant (DST)', async () => {
    const page = await oncalls(`${window('2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')}&${q}`);
    expect(page.oncalls.map((r) => [r.start, r.end])).toEqual([
      ['2026-03-06T09:00:00-05:00', '2026-03-07T09:00:00-05:00'], // BOB
      ['2026-03-07T09:00:00-05:00', '2026-03-09T10:00:00-04:00'], // ADA, 48h across the DST switch
      ['2026-03-09T10:00:00-04:00', '2026-03-10T10:00:00-04:00'], // BOB
    ]);
  });

  it('renders in the requested time_zone', async () => {
    const point = window('2026-03-02T16:00:00Z', '2026-03-02T16:00:00Z');
    const kolkata = await oncalls(`${point}&${q}&time_zone=Asia/Kolkata`);
    expect(kolkata.oncalls[0]?.start).toBe('2026-03-01T19:30:00+05:30');
    const utc = await oncalls(`${point}&${q}&time_zone=Etc/UTC`);
    expect(utc.oncalls[0]?.start).toMatch(/^2026-03-01T14:00:00(Z|\+00:00)$/);
    const london = await oncalls(`${point}&${q}&time_zone=Europe/London`);
    expect(london.oncalls[0]?.start).toMatch(/^2026-03-01T14:00:00(Z|\+00:00)$/);
  });

  it('reads since/until without an offset in the requested time zone', async () => {
    // ADA hands over to BOB at 14:00Z on 03-03: 09:30 New York (14:30Z) is BOB, 09:30Z is ADA.
    const ny = await oncalls(`since=2026-03-03T09:30:00&until=2026-03-03T09:30:00&${q}`);
    expect(ny.oncalls.map((r) => r.user.id)).toEqual([BOB]); // 14:30Z
    const utc = await oncalls(`since=2026-03-03T09:30:00&until=2026-03-03T09:30:00&${q}&time_zone=UTC`);
    expect(utc.oncalls.map((r) => r.user.id)).toEqual([ADA]); // 09:30Z
  });

  it('follows the accountTimeZone option', async () => {
    const berlin = await startFakePagerDuty({
      org: tinyOrg(),
      token: TOKEN,
      accountTimeZone: 'Europe/Berlin',
      now: () => NOW,
    });
    try {
      const page = (
        await request(`${berlin.url}/oncalls?${q}`, { authorization: AUTH })
      ).json() as OncallsPage;
      expect(page.oncalls[0]?.start).toBe('2026-03-01T15:00:00+01:00');
    } finally {
      await berlin.close();
    }
  });

  it.each(['Mars/Olympus', 'america/new_york', '+05:00', ''])(
    'refuses time_zone=%s with 400 / 2001',
    async (tz) => {
      const body = await refused(`/oncalls?time_zone=${encodeURIComponent(tz)}`, 400);
      expect(body.error.code).toBe(2001);
    },
  );
});

describe('GET /oncalls since/until validation', () => {
  it.each([
    ['not a date', 'since=yesterday'],
    ['impossible date', 'since=2026-02-30T00:00:00Z'],
    ['unencoded + (arrives as a space)', 'since=2026-03-02T12:00:00+01:00'],
    ['empty', 'until='],
  ])('refuses %s with 400 / 2004', async (_label, query) => {
    const body = await refused(`/oncalls?${query}`, 400);
    expect(body.error.code).toBe(2004);
    expect(body.error.message).toBe('Invalid since or until');
  });

  it('accepts an encoded + offset', async () => {
    const t = encodeURIComponent('2026-03-02T14:00:00+01:00');
    const page = await oncalls(`since=${t}&until=${t}&schedule_ids[]=${S2}`);
    expect(page.oncalls.map((r) => r.user.id)).toEqual([CY]); // 13:00Z, start of CY's override
  });

  it('refuses until before since with 400 / 2005', async () => {
    const body = await refused(`/oncalls?${window('2026-03-03T00:00:00Z', '2026-03-02T00:00:00Z')}`, 400);
    expect(body.error.code).toBe(2005);
  });

  it('refuses a search range over 3 months', async () => {
    expect((await get(`/oncalls?${window(at(NOW), at(NOW + 90 * DAY))}`)).status).toBe(200);
    const body = await refused(`/oncalls?${window(at(NOW), at(NOW + 91 * DAY))}`, 400);
    expect(body.error.code).toBe(2005);
  });
});

describe('GET /oncalls include[]', () => {
  const point = window('2026-03-02T20:00:00Z', '2026-03-02T20:00:00Z');

  it('without include, sends references', async () => {
    const page = await oncalls(`${point}&escalation_policy_ids[]=${EP1}`);
    const row = page.oncalls.find((r) => r.escalation_level === 2);
    expect(row?.user).toEqual({
      id: CY,
      type: 'user_reference',
      summary: 'Cy Young',
      self: `${fake.url}/users/${CY}`,
      html_url: `https://acme.pagerduty.com/users/${CY}`,
    });
    expect(row?.user).not.toHaveProperty('email');
    expect(row?.schedule).toMatchObject({ id: S2, type: 'schedule_reference', summary: 'Secondary' });
    expect(row?.escalation_policy).toMatchObject({
      id: EP1,
      type: 'escalation_policy_reference',
      summary: 'Alpha',
    });
  });

  it('marks v3 schedules as schedule_v3_reference', async () => {
    const page = await oncalls(`${point}&schedule_ids[]=${S3}`);
    expect(page.oncalls[0]?.schedule).toMatchObject({ id: S3, type: 'schedule_v3_reference' });
    expect(page.oncalls[0]?.schedule?.self).toContain('/v3/schedules/');
  });

  it('include[]=users gives full users with email, except for omitEmailInInclude', async () => {
    const page = await oncalls(`${point}&include[]=users`);
    const dee = page.oncalls.find((r) => r.user.id === DEE)?.user;
    expect(dee).toMatchObject({
      type: 'user',
      name: 'Dee Dee',
      email: 'dee@example.com',
      time_zone: 'Asia/Kolkata',
      role: 'user',
    });
    const cy = page.oncalls.find((r) => r.user.id === CY)?.user;
    expect(cy).toMatchObject({ type: 'user', name: 'Cy Young' });
    expect(cy).not.toHaveProperty('email');
    // GET /users/{id} always has the email.
    const user = (await get(`/users/${CY}`)).json() as { user: Ref };
    expect(user.user.email).toBe('cy@example.com');
  });

  it('include[]=schedules and include[]=escalation_policies give full objects', async () => {
    const page = await oncalls(`${point}&include%5B%5D=schedules&include%5B%5D=escalation_policies`);
    const row = page.oncalls.find((r) => r.schedule?.id === S2);
    expect(row?.schedule).toMatchObject({ type: 'schedule', name: 'Secondary' });
    expect(row?.escalation_policy).toMatchObject({ type: 'escalation_policy', name: 'Alpha' });
    expect(row?.user.type).toBe('user_reference');
  });

  it('refuses an unknown include', async () => {
    const body = await refused('/oncalls?include[]=user', 400);
    expect(body.error.code).toBe(2001);
  });
});

describe('GET /oncalls paging (bigOrg)', () => {
  const big = bigOrg(new Date(NOW));
  const span = window(at(NOW), at(NOW + DAY));

  beforeEach(() => fake.setOrg(big));

  it('has between 120 and 300 rows in a 24h window', async () => {
    const page = await oncalls(`${span}&total=true&limit=1`);
    expect(page.total).toBe(145); // NOW is on the hour: 6 x 24 + 1
    expect(page.total).toBe(big.facts.expectedRowsNext24h);
  });

  it('defaults to 25 rows and clamps limit at 100', async () => {
    const first = await oncalls(span);
    expect(first).toMatchObject({ limit: 25, offset: 0, more: true, total: null });
    expect(first.oncalls).toHaveLength(25);
    const clamped = await oncalls(`${span}&limit=1000`);
    expect(clamped.limit).toBe(100);
    expect(clamped.oncalls).toHaveLength(100);
  });

  it('pages with offset/more in a stable order', async () => {
    const rows: string[] = [];
    const seen: Array<{ offset: number; more: boolean; n: number }> = [];
    for (let offset = 0; ; offset += 100) {
      const page = await oncalls(`${span}&limit=100&offset=${offset}&time_zone=UTC`);
      seen.push({ offset: page.offset, more: page.more, n: page.oncalls.length });
      rows.push(...lines(page));
      if (!page.more) break;
    }
    expect(seen).toEqual([
      { offset: 0, more: true, n: 100 },
      { offset: 100, more: false, n: 45 },
    ]);
    expect(new Set(rows).size).toBe(145);
    const again = [...lines(await oncalls(`${span}&limit=100&offset=0&time_zone=UTC`))];
    expect(again).toEqual(rows.slice(0, 100));
  });

  it('refuses offset + limit over 10000 with 400 / 2002', async () => {
    expect((await get(`/oncalls?${span}&limit=100&offset=9900`)).status).toBe(200);
    const body = await refused(`/oncalls?${span}&limit=100&offset=9901`, 400);
    expect(body.error).toMatchObject({ message: 'Arguments Caused Error', code: 2002 });
    expect(body.error.errors?.[0]).toMatch(/offset/i);
    // The clamped limit counts: 9950 + min(1000, 100) > 10000.
    expect((await get(`/oncalls?${span}&limit=1000&offset=9950`)).status).toBe(400);
  });

  it('refuses a limit or offset that is not a number', async () => {
    expect((await refused('/oncalls?limit=ten', 400)).error.code).toBe(2001);
    expect((await refused('/oncalls?offset=-1', 400)).error.code).toBe(2001);
  });
});

describe('GET /users/{id} and /schedules/{id}', () => {
  it('returns a full user or 404 / 2100', async () => {
    const ok = await get(`/users/${ADA}`);
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({
      user: {
        id: ADA,
        type: 'user',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        time_zone: 'Europe/London',
      },
    });
    expect(await refused('/users/PNOPE00', 404)).toEqual({ error: { message: 'Not Found', code: 2100 } });
  });

  it('returns a schedule (also unused ones) with its final schedule, or 404', async () => {
    const res = await get(
      `/schedules/${S2}?${window('2026-03-02T12:00:00Z', '2026-03-02T20:00:00Z')}&time_zone=UTC`,
    );
    expect(res.status).toBe(200);
    const body = res.json() as {
      schedule: { id: string; name: string; final_schedule: { rendered_schedule_entries: Ref[] } };
    };
    expect(body.schedule).toMatchObject({ id: S2, name: 'Secondary' });
    expect(body.schedule.final_schedule.rendered_schedule_entries).toEqual([
      expect.objectContaining({ start: '2026-03-02T12:00:00Z', end: '2026-03-02T13:00:00Z' }),
      expect.objectContaining({ start: '2026-03-02T13:00:00Z', end: '2026-03-02T15:00:00Z' }),
      expect.objectContaining({ start: '2026-03-02T15:00:00Z', end: '2026-03-02T18:00:00Z' }),
      expect.objectContaining({ start: '2026-03-02T18:00:00Z', end: '2026-03-02T20:00:00Z' }),
    ]);
    expect((await get(`/schedules/${S4}`)).status).toBe(200);
    expect((await refused('/schedules/PNOPE00', 404)).error.code).toBe(2100);
  });
});

describe('faults', () => {
  it('answers queued faults instead of the handler, `times` times, for matching paths only', async () => {
    fake.faults.push({
      path: '/oncalls',
      status: 429,
      body: { error: { message: 'Rate Limit Exceeded', code: 2020 } },
      headers: { 'ratelimit-reset': '2' },
      times: 2,
    });
    const first = await get('/oncalls');
    expect(first.status).toBe(429);
    expect(first.headers.get('ratelimit-reset')).toBe('2');
    expect(first.json()).toEqual({ error: { message: 'Rate Limit Exceeded', code: 2020 } });
    expect((await get(`/users/${ADA}`)).status).toBe(200); // other path untouched
    expect((await get('/oncalls')).status).toBe(429);
    expect(fake.faults).toEqual([]);
    expect((await get('/oncalls')).status).toBe(200);
  });

  it('sends string bodies as they are and empty bodies when absent', async () => {
    fake.faults.push({ path: '/oncalls', status: 502, body: '<html>Bad Gateway</html>', times: 1 });
    fake.faults.push({ path: '/oncalls', status: 503, body: undefined, times: 1 });
    const html = await get('/oncalls');
    expect([html.status, html.text]).toEqual([502, '<html>Bad Gateway</html>']);
    const empty = await get('/oncalls');
    expect([empty.status, empty.text]).toEqual([503, '']);
  });

  it('does not let a request with bad credentials consume a fault', async () => {
    fake.faults.push({ path: '/oncalls', status: 500, body: 'boom', times: 1 });
    expect((await get('/oncalls', 'Token token=wrong')).status).toBe(401);
    expect((await get('/oncalls')).status).toBe(500);
  });
});

describe('seed orgs and lifecycle', () => {
  it('refuses broken seeds', async () => {
    const bad = tinyOrg();
    bad.schedules[0]!.rotation!.shiftMinutes = 0;
    await expect(startFakePagerDuty({ org: bad })).rejects.toThrow(/shiftMinutes/);
    const unknown = tinyOrg();
    unknown.escalationPolicies[0]!.levels[0]!.targets.push({ type: 'schedule', id: 'PMISSNG' });
    expect(() => fake.setOrg(unknown)).toThrow(/PMISSNG/);
  });

  it('close() stops the server and ends open sockets', async () => {
    const other = await startFakePagerDuty({ org: tinyOrg() });
    const res = await request(`${other.url}/users/${ADA}`, { authorization: 'Token token=pd-test-token' });
    expect(res.status).toBe(200);
    await other.close();
    await expect(request(`${other.url}/users/${ADA}`)).rejects.toThrow();
  });
});
