// Tests of the fake PagerDuty itself: it must refuse what PagerDuty refuses and answer in PagerDuty's shapes
// (see docs/pagerduty.md), otherwise tests of the action against it prove nothing.
import { beforeEach, describe, expect, it } from 'vitest';
import { startFakePagerDuty } from './pagerduty.mjs';
import type { FakePagerDuty, PagerDutyOrg } from './pagerduty.mjs';
import { bigOrg } from './orgs.mjs';
import { request } from './http-testing.js';
import { useFakePagerDuty, type ErrorBody, type Ref } from './pagerduty-testing.js';

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
interface Assignment {
  type: string;
  start_time: string;
  end_time: string;
  member: { type: string; user_id?: string };
  source: { type: string; rotation_id?: string; shift_id?: string; override_id?: string };
}
interface V3Schedule {
  schedule: {
    id: string;
    type: string;
    name: string;
    time_zone: string;
    self: string;
    rotations: Array<{ id: string; type: string }>;
    escalation_policies: Ref[];
    final_schedule?: {
      type: string;
      rendered_coverage_percentage: number;
      computed_shift_assignments: Assignment[];
    };
  };
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
// S5 "Shift-based" (v3, Berlin, no policy): 12h rotation [ADA, ADA, CY] from 2026-03-02T00:00Z, a custom shift
//    DEE 06-09Z, an override BOB 14-16Z on 03-02, and a rotation slot left empty 03-02 20-22Z.
// EP1 "Alpha": L1 S1, L2 S2, L3 DEE directly. EP2 "Beta": L1 S3, L2 S1 (S1 appears under two policies).
const ADA = 'PADA001';
const BOB = 'PBOB002';
const CY = 'PCYX003';
const DEE = 'PDEE004';
const S1 = 'PS1AAAA';
const S2 = 'PS2BBBB';
const S3 = 'PS3CCCC';
const S4 = 'PS4DDDD';
const S5 = 'PS5EEEE';
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
      {
        id: S5,
        name: 'Shift-based',
        v3: true,
        time_zone: 'Europe/Berlin',
        rotation: { start: '2026-03-02T00:00:00Z', shiftMinutes: 12 * 60, users: [ADA, ADA, CY] },
        entries: [{ user: DEE, start: '2026-03-02T06:00:00Z', end: '2026-03-02T09:00:00Z' }],
        overrides: [{ user: BOB, start: '2026-03-02T14:00:00Z', end: '2026-03-02T16:00:00Z' }],
        emptyShifts: [{ start: '2026-03-02T20:00:00Z', end: '2026-03-02T22:00:00Z' }],
      },
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

const fake = useFakePagerDuty(tinyOrg, { token: TOKEN, now: () => NOW });

function get(path: string, authorization: string | null = AUTH) {
  return request(`${fake().url}${path}`, authorization === null ? {} : { authorization });
}

/** Runs `use` against a second fake started with `options` (same org, token and clock), then closes it. */
async function withFake<T>(
  options: Partial<Parameters<typeof startFakePagerDuty>[0]>,
  use: (other: FakePagerDuty) => Promise<T>,
): Promise<T> {
  const other = await startFakePagerDuty({ org: tinyOrg(), token: TOKEN, now: () => NOW, ...options });
  try {
    return await use(other);
  } finally {
    await other.close();
  }
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
    const res = await request(`${fake().url}/oncalls`, { method: 'POST', authorization: AUTH });
    expect(res.status).toBe(404);
  });

  it('answers JSON with an application/json content type', async () => {
    const res = await get('/oncalls');
    expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
  });

  it('records every request with its decoded, repeated query keys and its Accept and Content-Type', async () => {
    await get(`/oncalls?schedule_ids%5B%5D=${S1}&schedule_ids[]=${S2}&limit=5`);
    await get('/users/PADA001', null);
    expect(fake().requests).toEqual([
      {
        method: 'GET',
        path: '/oncalls',
        query: [
          ['schedule_ids[]', S1],
          ['schedule_ids[]', S2],
          ['limit', '5'],
        ],
        authorization: AUTH,
        accept: '*/*', // what fetch sends when told nothing
        contentType: undefined,
      },
      {
        method: 'GET',
        path: '/users/PADA001',
        query: [],
        authorization: undefined,
        accept: '*/*',
        contentType: undefined,
      },
    ]);
  });

  it('records Accept and Content-Type as sent, and refuses neither a missing nor an unusual one', async () => {
    const accept = 'application/vnd.pagerduty+json;version=2';
    const sent = await request(`${fake().url}/users/${ADA}`, {
      authorization: AUTH,
      headers: { accept, 'content-type': 'application/json' },
    });
    expect(sent.status).toBe(200);
    const odd = await request(`${fake().url}/users/${ADA}`, {
      authorization: AUTH,
      headers: { accept: 'text/plain', 'content-type': 'text/plain' },
    });
    expect(odd.status).toBe(200);
    expect(fake().requests.map((r) => [r.accept, r.contentType])).toEqual([
      [accept, 'application/json'],
      ['text/plain', 'text/plain'],
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
      // no EP2/1 row: S3 is a v3 schedule, left out of /oncalls by default
      `${EP2}/2/${S1}/${ADA} 2026-03-01T14:00:00Z..2026-03-03T14:00:00Z`,
    ]);
    expect(page.total).toBeNull();
  });

  it('filters by repeated schedule_ids[] (literal and %5B%5D-encoded alike)', async () => {
    const literal = await oncalls(`${point}&schedule_ids[]=${S2}&schedule_ids[]=${S1}`);
    const encoded = await oncalls(`${point}&schedule_ids%5B%5D=${S2}&schedule_ids%5B%5D=${S1}`);
    expect(lines(literal).map((l) => l.split(' ')[0])).toEqual([
      `${EP1}/1/${S1}/${ADA}`,
      `${EP1}/2/${S2}/${BOB}`,
      `${EP2}/2/${S1}/${ADA}`,
    ]);
    expect(lines(encoded)).toEqual(lines(literal));
  });

  it('ignores a key without brackets, like any unknown parameter', async () => {
    const all = await oncalls(point);
    const plain = await oncalls(`${point}&schedule_ids=${S2}&user_ids=${BOB}&escalation_policy_ids=${EP2}`);
    expect(all.oncalls).toHaveLength(4);
    expect(lines(plain)).toEqual(lines(all));
  });

  it.each(['schedule_ids', 'escalation_policy_ids', 'user_ids'])(
    'refuses a value repeated in %s[] (uniqueItems) with 400 / 2001',
    async (key) => {
      const body = await refused(`/oncalls?${point}&${key}[]=${S1}&${key}[]=${S2}&${key}[]=${S1}`, 400);
      expect(body.error).toMatchObject({ message: 'Invalid Input Provided', code: 2001 });
      expect(JSON.stringify(body.error.errors)).toContain(S1);
    },
  );

  it.each([
    ['earliest', 'yes'],
    ['earliest', '1'],
    ['total', 'TRUE'],
    ['total', ''],
  ])('refuses %s=%s (not a boolean) with 400 / 2001', async (key, value) => {
    const body = await refused(`/oncalls?${point}&${key}=${value}`, 400);
    expect(body.error.code).toBe(2001);
    expect((await get(`/oncalls?${point}&${key}=false`)).status).toBe(200);
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

  it('reads since/until by their own offset, whatever time_zone says', async () => {
    // ADA hands over to BOB at 14:00Z on 03-03: 09:30-05:00 (14:30Z) is BOB, 09:30Z is ADA.
    const ny = encodeURIComponent('2026-03-03T09:30:00-05:00');
    const byOffset = await oncalls(`since=${ny}&until=${ny}&${q}&time_zone=UTC`);
    expect(byOffset.oncalls.map((r) => r.user.id)).toEqual([BOB]);
    const utc = await oncalls(`since=2026-03-03T09:30:00Z&until=2026-03-03T09:30:00Z&${q}`);
    expect(utc.oncalls.map((r) => r.user.id)).toEqual([ADA]);
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
    ['no offset (not an RFC 3339 date-time)', 'since=2026-03-02T12:00:00'],
    ['a date only', 'until=2026-03-03'],
    ['no seconds', 'since=2026-03-02T12:00Z'],
    ['a compact offset', `since=${encodeURIComponent('2026-03-02T12:00:00+0100')}`],
    ['a space for T', 'since=2026-03-02%2012:00:00Z'],
    ['hour 24', 'since=2026-03-02T24:00:00Z'],
  ])('refuses %s with 400 / 2004', async (_label, query) => {
    const body = await refused(`/oncalls?${query}`, 400);
    expect(body.error.code).toBe(2004);
    expect(body.error.message).toBe('Invalid since or until');
  });

  it('accepts fractional seconds (what toISOString sends) and lower-case t/z', async () => {
    const page = await oncalls(
      `since=2026-03-02T13:00:00.000Z&until=2026-03-02t13:00:00.5z&schedule_ids[]=${S2}`,
    );
    expect(page.oncalls.map((r) => r.user.id)).toEqual([CY]);
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
      self: `${fake().url}/users/${CY}`,
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

  it('with oncallsIncludeV3, marks v3 schedules as schedule_v3_reference', async () => {
    await withFake({ oncallsIncludeV3: true }, async (other) => {
      const res = await request(`${other.url}/oncalls?${point}&schedule_ids[]=${S3}`, {
        authorization: AUTH,
      });
      const page = res.json() as OncallsPage;
      expect(page.oncalls[0]?.schedule).toMatchObject({ id: S3, type: 'schedule_v3_reference' });
      expect(page.oncalls[0]?.schedule?.self).toContain('/v3/schedules/');
    });
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

  it.each(['user', 'final_schedule', 'teams', ''])(
    'refuses include[]=%s (outside the enum)',
    async (name) => {
      const body = await refused(`/oncalls?include[]=${name}`, 400);
      expect(body.error.code).toBe(2001);
    },
  );

  it('refuses the same include[] twice (uniqueItems)', async () => {
    expect((await refused('/oncalls?include[]=users&include[]=users', 400)).error.code).toBe(2001);
  });
});

describe('GET /oncalls paging (bigOrg)', () => {
  const big = bigOrg(new Date(NOW));
  const span = window(at(NOW), at(NOW + DAY));

  beforeEach(() => fake().setOrg(big));

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
    expect((body.error.errors as string[])[0]).toMatch(/offset/i);
    // The clamped limit counts: 9950 + min(1000, 100) > 10000.
    expect((await get(`/oncalls?${span}&limit=1000&offset=9950`)).status).toBe(400);
  });

  it.each(['limit=ten', 'offset=-1', 'limit=2.5', 'limit=', 'offset=1e3', 'limit=%2B5', 'offset=0x10'])(
    'refuses %s (not a non-negative integer) with 400 / 2001',
    async (query) => {
      expect((await refused(`/oncalls?${query}`, 400)).error.code).toBe(2001);
    },
  );
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

  it("checks /users/{id}'s include[] against its own enum", async () => {
    expect((await get(`/users/${ADA}?include[]=teams&include[]=contact_methods`)).status).toBe(200);
    expect((await refused(`/users/${ADA}?include[]=users`, 400)).error.code).toBe(2001);
    expect((await refused(`/users/${ADA}?include[]=teams&include[]=teams`, 400)).error.code).toBe(2001);
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

  type Entries = { schedule: { final_schedule: { rendered_schedule_entries: Array<{ start: string }> } } };
  const entries = async (query: string) => {
    const res = await get(`/schedules/${S4}?${query}&time_zone=UTC`);
    expect(res.status, res.text).toBe(200);
    return (res.json() as Entries).schedule.final_schedule.rendered_schedule_entries;
  };

  it('renders entries only when since or until is given; the other defaults to 2 weeks away', async () => {
    expect(await entries('')).toEqual([]); // the action's bare GET: no entries at all
    const fromSince = await entries('since=2026-03-02T00:00:00Z'); // S4: hourly, ADA only -> one merged entry
    expect(fromSince).toEqual([
      expect.objectContaining({ start: '2026-03-02T00:00:00Z', end: '2026-03-16T00:00:00Z' }),
    ]);
    const toUntil = await entries('until=2026-03-16T00:00:00Z');
    expect(toUntil).toEqual(fromSince);
  });

  it('validates since/until/overflow/time_zone on /schedules/{id} like /oncalls', async () => {
    expect((await refused(`/schedules/${S2}?since=2026-03-02`, 400)).error.code).toBe(2004);
    expect((await refused(`/schedules/${S2}?overflow=1`, 400)).error.code).toBe(2001);
    expect((await refused(`/schedules/${S2}?time_zone=utc`, 400)).error.code).toBe(2001);
    expect((await refused(`/schedules/${S2}/users?until=2026-03-02T12:00`, 400)).error.code).toBe(2004);
  });

  it.each([
    ['a v3 schedule on the legacy endpoint', `/schedules/${S3}`],
    [
      'a v3 schedule on the legacy endpoint, with a window',
      `/schedules/${S5}?${window(at(NOW), at(NOW + DAY))}`,
    ],
    ["a v3 schedule's legacy users", `/schedules/${S3}/users`],
    ['a legacy schedule on the v3 endpoint', `/v3/schedules/${S1}?include[]=final_schedule`],
    ['an unknown schedule on the v3 endpoint', '/v3/schedules/PNOPE00'],
    ['users of a v3 schedule under /v3 (no such endpoint)', `/v3/schedules/${S3}/users`],
  ])('answers 404 / 2100 for %s', async (_label, path) => {
    expect(await refused(path, 404)).toEqual({ error: { message: 'Not Found', code: 2100 } });
  });
});

describe('GET /v3/schedules/{id}', () => {
  const day = window('2026-03-02T00:00:00Z', '2026-03-03T00:00:00Z');

  async function v3(query: string, id = S5): Promise<V3Schedule> {
    const res = await get(`/v3/schedules/${id}?${query}`);
    expect(res.status, res.text).toBe(200);
    return res.json() as V3Schedule;
  }
  const compact = (a: Assignment) =>
    `${a.member.user_id ?? a.member.type} ${a.start_time}..${a.end_time} ${a.source.type}`;

  it('answers the schedule_v3 object, with no final_schedule unless asked for with since and until', async () => {
    const plain = await v3('');
    expect(plain.schedule).toMatchObject({
      id: S5,
      type: 'schedule_v3',
      name: 'Shift-based',
      time_zone: 'Europe/Berlin',
      self: `${fake().url}/v3/schedules/${S5}`,
      rotations: [{ type: 'schedule_rotation' }],
    });
    expect(plain.schedule.rotations[0]?.id).toHaveLength(26);
    expect(plain.schedule).not.toHaveProperty('final_schedule');
    expect(await v3(day)).not.toHaveProperty('schedule.final_schedule');
    expect(await v3('include[]=final_schedule')).not.toHaveProperty('schedule.final_schedule');
    expect(await v3('include[]=final_schedule&since=2026-03-02T00:00:00Z')).not.toHaveProperty(
      'schedule.final_schedule',
    );
    const used = await v3('', S3);
    expect(used.schedule.escalation_policies.map((p) => p.id)).toEqual([EP2]);
  });

  it("returns the final schedule in the spec's v3 shape: unmerged pieces, each with its source", async () => {
    const body = await v3(`${day}&include[]=final_schedule&time_zone=UTC`);
    const final = body.schedule.final_schedule;
    const rotationId = body.schedule.rotations[0]?.id;
    expect(final?.type).toBe('final_schedule');
    expect(final?.rendered_coverage_percentage).toBe(91.67); // 22h of 24: the empty slot covers nothing
    expect(final?.computed_shift_assignments[0]).toEqual({
      type: 'computed_shift_assignment',
      start_time: '2026-03-02T00:00:00Z',
      end_time: '2026-03-02T12:00:00Z',
      member: { type: 'user_member', user_id: ADA },
      source: { type: 'schedule_rotation', rotation_id: rotationId },
    });
    // ADA's two back-to-back rotation turns stay two assignments; the override splits the second; DEE's custom
    // shift overlaps ADA (two people on call at once); the empty slot is an empty_member.
    expect(final?.computed_shift_assignments.map(compact)).toEqual([
      `${ADA} 2026-03-02T00:00:00Z..2026-03-02T12:00:00Z schedule_rotation`,
      `${DEE} 2026-03-02T06:00:00Z..2026-03-02T09:00:00Z custom_shift`,
      `${ADA} 2026-03-02T12:00:00Z..2026-03-02T14:00:00Z schedule_rotation`,
      `${BOB} 2026-03-02T14:00:00Z..2026-03-02T16:00:00Z schedule_rotation_override`,
      `${ADA} 2026-03-02T16:00:00Z..2026-03-02T20:00:00Z schedule_rotation`,
      `empty_member 2026-03-02T20:00:00Z..2026-03-02T22:00:00Z schedule_rotation`,
      `${ADA} 2026-03-02T22:00:00Z..2026-03-03T00:00:00Z schedule_rotation`,
    ]);
    const override = final?.computed_shift_assignments.find((a) => a.member.user_id === BOB);
    expect(override?.source).toEqual({
      type: 'schedule_rotation_override',
      rotation_id: rotationId,
      override_id: expect.stringMatching(/^[0-9A-Z]{26}$/) as unknown,
    });
    const custom = final?.computed_shift_assignments.find((a) => a.member.user_id === DEE);
    expect(custom?.source).toEqual({
      type: 'custom_shift',
      shift_id: expect.stringMatching(/^[0-9A-Z]{26}$/),
    });
    const empty = final?.computed_shift_assignments.find((a) => a.member.type === 'empty_member');
    expect(empty).toMatchObject({ member: { type: 'empty_member' }, source: { rotation_id: rotationId } });
    expect(empty?.member).not.toHaveProperty('user_id');
  });

  it('cuts assignments at since/until unless overflow=true, and renders in time_zone or the schedule zone', async () => {
    const w = window('2026-03-02T13:00:00Z', '2026-03-02T15:00:00Z');
    const cut = await v3(`${w}&include[]=final_schedule`);
    expect(cut.schedule.final_schedule?.computed_shift_assignments.map(compact)).toEqual([
      `${ADA} 2026-03-02T14:00:00+01:00..2026-03-02T15:00:00+01:00 schedule_rotation`, // Berlin
      `${BOB} 2026-03-02T15:00:00+01:00..2026-03-02T16:00:00+01:00 schedule_rotation_override`,
    ]);
    const whole = await v3(`${w}&include[]=final_schedule&overflow=true&time_zone=Asia/Kolkata`);
    expect(whole.schedule.final_schedule?.computed_shift_assignments.map(compact)).toEqual([
      `${ADA} 2026-03-02T17:30:00+05:30..2026-03-02T19:30:00+05:30 schedule_rotation`,
      `${BOB} 2026-03-02T19:30:00+05:30..2026-03-02T21:30:00+05:30 schedule_rotation_override`,
    ]);
  });

  it('reports the covered share of the window, gaps and empty slots excluded', async () => {
    const half = await v3(
      `${window('2026-02-28T00:00:00Z', '2026-03-02T00:00:00Z')}&include[]=final_schedule`,
      S3,
    );
    expect(half.schedule.final_schedule?.rendered_coverage_percentage).toBe(50);
    expect(half.schedule.final_schedule?.computed_shift_assignments).toHaveLength(1);
    const none = await v3(
      `${window('2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z')}&include[]=final_schedule`,
      S3,
    );
    expect(none.schedule.final_schedule).toEqual({
      type: 'final_schedule',
      rendered_coverage_percentage: 0,
      computed_shift_assignments: [],
    });
  });

  it('an override on a custom shift is a custom_shift_override naming the shift', async () => {
    const org = tinyOrg();
    org.schedules[2]!.overrides = [{ user: CY, start: '2026-03-10T00:00:00Z', end: '2026-03-11T00:00:00Z' }];
    fake().setOrg(org);
    const body = await v3(
      `${window('2026-03-09T12:00:00Z', '2026-03-10T12:00:00Z')}&include[]=final_schedule`,
      S3,
    );
    const sources = body.schedule.final_schedule?.computed_shift_assignments.map((a) => a.source);
    expect(sources?.map((x) => x.type)).toEqual(['custom_shift', 'custom_shift_override']);
    expect(sources?.[1]?.shift_id).toBe(sources?.[0]?.shift_id);
    expect(sources?.[1]?.override_id).toMatch(/^[0-9A-Z]{26}$/);
  });

  it.each([
    ['include[]=users (outside the enum)', 'include[]=users', 'include'],
    ['include[] twice', 'include[]=final_schedule&include[]=final_schedule', 'include'],
    ['since without an offset', 'since=2026-03-02T00:00:00', 'since'],
    ['until as a date', 'until=2026-03-03', 'until'],
    ['until before since', window('2026-03-03T00:00:00Z', '2026-03-02T00:00:00Z'), 'until'],
    ['an unknown time_zone', 'time_zone=Mars/Olympus', 'time_zone'],
    ['overflow=yes', 'overflow=yes', 'overflow'],
  ])('refuses %s with the v3 400 shape (errors keyed by field)', async (_label, query, field) => {
    const body = await refused(`/v3/schedules/${S5}?${query}`, 400);
    expect(body.error).toMatchObject({ message: 'Invalid Request', code: 2001 });
    expect(Object.keys(body.error.errors ?? {})).toEqual([field]);
    expect((body.error.errors as Record<string, string[]>)[field]).toHaveLength(1);
  });

  it('refuses emptyShifts on a legacy schedule in the seed', () => {
    const bad = tinyOrg();
    bad.schedules[0]!.emptyShifts = [{ start: '2026-03-02T00:00:00Z', end: '2026-03-02T01:00:00Z' }];
    expect(() => fake().setOrg(bad)).toThrow(/emptyShifts/);
  });
});

describe('GET /oncalls and v3 schedules', () => {
  const span = window('2026-03-02T00:00:00Z', '2026-03-03T00:00:00Z');

  it('leaves v3 schedules out by default, even when asked for by id', async () => {
    expect((await oncalls(`${span}&schedule_ids[]=${S3}`)).oncalls).toEqual([]);
    const beta = await oncalls(`${span}&escalation_policy_ids[]=${EP2}`);
    expect(beta.oncalls.length).toBeGreaterThan(0);
    expect(beta.oncalls.every((r) => r.escalation_level === 2 && r.schedule?.id === S1)).toBe(true);
    // The v3 schedule is still listed as a target of its policy.
    const full = await oncalls(
      `${span}&escalation_policy_ids[]=${EP2}&include[]=escalation_policies&limit=1`,
    );
    expect(JSON.stringify(full.oncalls[0]?.escalation_policy)).toContain('schedule_v3_reference');
  });

  it('with oncallsIncludeV3: true, returns their rows too', async () => {
    await withFake({ oncallsIncludeV3: true }, async (other) => {
      const res = await request(`${other.url}/oncalls?${span}&schedule_ids[]=${S3}&time_zone=UTC`, {
        authorization: AUTH,
      });
      expect(lines(res.json() as OncallsPage)).toEqual([
        `${EP2}/1/${S3}/${BOB} 2026-03-01T00:00:00Z..2026-04-01T00:00:00Z`,
      ]);
      // The legacy endpoint still does not know the schedule.
      expect((await request(`${other.url}/schedules/${S3}`, { authorization: AUTH })).status).toBe(404);
    });
  });

  it('with oncallsIncludeV3: true, shows merged periods and nobody in a slot left empty', async () => {
    const org = tinyOrg();
    org.escalationPolicies[1]!.levels[0]!.targets = [{ type: 'schedule', id: S5 }];
    await withFake({ org, oncallsIncludeV3: true }, async (other) => {
      const res = await request(`${other.url}/oncalls?${span}&schedule_ids[]=${S5}&time_zone=UTC`, {
        authorization: AUTH,
      });
      expect(lines(res.json() as OncallsPage)).toEqual([
        `${EP2}/1/${S5}/${ADA} 2026-03-02T00:00:00Z..2026-03-02T14:00:00Z`,
        `${EP2}/1/${S5}/${DEE} 2026-03-02T06:00:00Z..2026-03-02T09:00:00Z`,
        `${EP2}/1/${S5}/${BOB} 2026-03-02T14:00:00Z..2026-03-02T16:00:00Z`,
        `${EP2}/1/${S5}/${ADA} 2026-03-02T16:00:00Z..2026-03-02T20:00:00Z`,
        `${EP2}/1/${S5}/${ADA} 2026-03-02T22:00:00Z..2026-03-03T00:00:00Z`,
      ]);
    });
  });
});

describe('faults', () => {
  it('answers queued faults instead of the handler, `times` times, for matching paths only', async () => {
    fake().faults.push({
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
    expect(fake().faults).toEqual([]);
    expect((await get('/oncalls')).status).toBe(200);
  });

  it('sends string bodies as they are and empty bodies when absent', async () => {
    fake().faults.push({ path: '/oncalls', status: 502, body: '<html>Bad Gateway</html>', times: 1 });
    fake().faults.push({ path: '/oncalls', status: 503, body: undefined, times: 1 });
    const html = await get('/oncalls');
    expect([html.status, html.text]).toEqual([502, '<html>Bad Gateway</html>']);
    const empty = await get('/oncalls');
    expect([empty.status, empty.text]).toEqual([503, '']);
  });

  it('does not let a request with bad credentials consume a fault', async () => {
    fake().faults.push({ path: '/oncalls', status: 500, body: 'boom', times: 1 });
    expect((await get('/oncalls', 'Token token=wrong')).status).toBe(401);
    expect((await get('/oncalls')).status).toBe(500);
  });
});

describe('latencyMs', () => {
  const timed = async (other: FakePagerDuty, path: string, authorization = AUTH) => {
    const started = Date.now();
    const res = await request(`${other.url}${path}`, { authorization });
    return { status: res.status, ms: Date.now() - started };
  };

  it('delays every answer: success, error and fault alike; the request is recorded at once', async () => {
    await withFake({ latencyMs: 300 }, async (other) => {
      const pending = timed(other, `/users/${ADA}`);
      await new Promise((r) => setTimeout(r, 100));
      expect(other.requests.map((r) => r.path)).toEqual([`/users/${ADA}`]); // received, not answered yet
      const ok = await pending;
      expect(ok.status).toBe(200);
      expect(ok.ms).toBeGreaterThanOrEqual(290);
      const unauthenticated = await timed(other, '/oncalls', 'Token token=wrong');
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.ms).toBeGreaterThanOrEqual(290);
      const notFound = await timed(other, '/users/PNOPE00');
      expect(notFound.status).toBe(404);
      expect(notFound.ms).toBeGreaterThanOrEqual(290);
      other.faults.push({
        path: '/oncalls',
        status: 429,
        body: { error: { message: 'Rate Limit Exceeded' } },
      });
      const fault = await timed(other, '/oncalls');
      expect(fault.status).toBe(429);
      expect(fault.ms).toBeGreaterThanOrEqual(290);
      expect(other.faults).toEqual([]);
    });
  });

  it('concurrent requests overlap (two take about latencyMs, not twice it)', async () => {
    await withFake({ latencyMs: 300 }, async (other) => {
      const started = Date.now();
      const both = await Promise.all([timed(other, `/users/${ADA}`), timed(other, '/oncalls')]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
      expect(Date.now() - started).toBeLessThan(550);
    });
  });

  it('defaults to 0, refuses a negative value, and close() drops answers still waiting', async () => {
    expect((await timed(fake(), `/users/${ADA}`)).ms).toBeLessThan(250);
    await expect(startFakePagerDuty({ org: tinyOrg(), latencyMs: -1 })).rejects.toThrow(/latencyMs/);
    const other = await startFakePagerDuty({ org: tinyOrg(), token: TOKEN, latencyMs: 5_000 });
    const pending = request(`${other.url}/users/${ADA}`, { authorization: AUTH }).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((r) => setTimeout(r, 100));
    await other.close();
    expect(await pending).toBe('dropped');
  });
});

describe('seed orgs and lifecycle', () => {
  it('refuses broken seeds', async () => {
    const bad = tinyOrg();
    bad.schedules[0]!.rotation!.shiftMinutes = 0;
    await expect(startFakePagerDuty({ org: bad })).rejects.toThrow(/shiftMinutes/);
    const unknown = tinyOrg();
    unknown.escalationPolicies[0]!.levels[0]!.targets.push({ type: 'schedule', id: 'PMISSNG' });
    expect(() => fake().setOrg(unknown)).toThrow(/PMISSNG/);
  });

  it('close() stops the server and ends open sockets', async () => {
    const other = await startFakePagerDuty({ org: tinyOrg() });
    const res = await request(`${other.url}/users/${ADA}`, { authorization: 'Token token=pd-test-token' });
    expect(res.status).toBe(200);
    await other.close();
    await expect(request(`${other.url}/users/${ADA}`)).rejects.toThrow();
  });
});

describe('GET /escalation_policies/{id}', () => {
  it('answers a known policy with its name and rules, 404 for an unknown one, 400 for an include[] the spec refuses', async () => {
    const known = await get(`/escalation_policies/${EP1}`);
    expect(known.status).toBe(200);
    expect(known.json()).toMatchObject({
      escalation_policy: { id: EP1, type: 'escalation_policy', name: expect.any(String) },
    });
    expect(await refused('/escalation_policies/PNOPE00', 404)).toEqual({
      error: { message: 'Not Found', code: 2100 },
    });
    expect((await get(`/escalation_policies/${EP1}?include[]=users`)).status).toBe(400);
  });
});

describe('GET /services/{id}', () => {
  interface ServiceBody {
    service: Ref & {
      status: string;
      escalation_policy: Ref & { escalation_rules?: unknown[] };
      last_incident_timestamp?: string;
      auto_pause_notifications_parameters?: unknown;
    };
  }
  const DB = { id: 'PSVCDB1', name: 'Database' };
  const WEB = { id: 'PSVCWEB', name: 'Web' };
  const QUIET = { id: 'PSVCQT1', name: 'Quiet' };
  const incident = (number: number, status: 'triggered' | 'acknowledged' | 'resolved', service = DB) => ({
    id: `PINC00${number}`,
    number,
    title: `Incident ${number}`,
    status,
    service,
    escalationPolicy: EP2,
    createdAt: at(NOW - number * HOUR),
    ...(status === 'resolved' ? { resolvedAt: at(NOW) } : {}),
  });
  /** DB: #1 triggered, #2 acknowledged; WEB: #3 acknowledged; QUIET (seeded on EP1) and LONE (no policy): none. */
  const org = (): PagerDutyOrg => ({
    ...tinyOrg(),
    services: [{ ...QUIET, escalationPolicyId: EP1 }, { id: 'PSVCLON', name: 'Lone' }, DB],
    incidents: [incident(1, 'triggered'), incident(2, 'acknowledged'), incident(3, 'acknowledged', WEB)],
  });
  beforeEach(() => fake().setOrg(org()));
  const service = async (path: string) => {
    const res = await get(path);
    expect(res.status, res.text).toBe(200);
    return (res.json() as ServiceBody).service;
  };

  it("answers a seeded service in the spec's Service shape, with its escalation policy as a reference", async () => {
    expect(await service(`/services/${QUIET.id}`)).toEqual({
      id: QUIET.id,
      type: 'service',
      summary: 'Quiet',
      name: 'Quiet',
      self: `${fake().url}/services/${QUIET.id}`,
      html_url: `https://acme.pagerduty.com/service-directory/${QUIET.id}`,
      description: '',
      auto_resolve_timeout: 14400,
      acknowledgement_timeout: 1800,
      status: 'active',
      escalation_policy: {
        id: EP1,
        type: 'escalation_policy_reference',
        summary: 'Alpha',
        self: `${fake().url}/escalation_policies/${EP1}`,
        html_url: `https://acme.pagerduty.com/escalation_policies/${EP1}`,
      },
      teams: [],
      integrations: [],
      incident_urgency_rule: { type: 'constant', urgency: 'high' },
      scheduled_actions: [],
      addons: [],
      alert_creation: 'create_alerts_and_incidents',
    });
    // No escalationPolicyId and no incident: the org's first policy (PagerDuty requires one).
    expect((await service('/services/PSVCLON')).escalation_policy.id).toBe(EP1);
  });

  it("knows every incident's service, with its status from the open incidents and its incident's policy", async () => {
    const web = await service(`/services/${WEB.id}`); // only in an incident
    expect(web).toMatchObject({ name: 'Web', status: 'warning', escalation_policy: { id: EP2 } });
    expect(web.last_incident_timestamp).toBe('2026-03-02T09:00:00Z');
    const db = await service(`/services/${DB.id}`); // seeded without a policy, and in incidents
    expect(db).toMatchObject({ status: 'critical', escalation_policy: { id: EP2 } });
    expect(db.last_incident_timestamp).toBe('2026-03-02T11:00:00Z'); // #1, the latest created
    fake().setOrg({ ...org(), incidents: [incident(1, 'resolved'), incident(3, 'acknowledged', WEB)] });
    expect((await service(`/services/${DB.id}`)).status).toBe('active');
  });

  it('answers 404 / 2100 for a service nobody seeded, and for paths under a service', async () => {
    for (const path of ['/services/PNOPE00', `/services/${DB.id.toLowerCase()}`, `/services/${DB.id}/x`]) {
      expect(await refused(path, 404), path).toEqual({ error: { message: 'Not Found', code: 2100 } });
    }
    fake().setOrg(tinyOrg());
    expect((await refused(`/services/${DB.id}`, 404)).error.code).toBe(2100);
  });

  it("checks include[] against getService's enum; escalation_policies gives the full policy", async () => {
    const full = await service(
      `/services/${QUIET.id}?include[]=escalation_policies&include[]=auto_pause_notifications_parameters&include[]=teams`,
    );
    expect(full.escalation_policy).toMatchObject({ id: EP1, type: 'escalation_policy', name: 'Alpha' });
    expect(full.escalation_policy.escalation_rules).toHaveLength(3);
    expect(full.auto_pause_notifications_parameters).toEqual({ enabled: false, timeout: 0 });
    for (const query of ['include[]=services', 'include[]=teams&include[]=teams']) {
      expect((await refused(`/services/${QUIET.id}?${query}`, 400)).error.code, query).toBe(2001);
    }
    // Checked before the lookup, as on /escalation_policies/{id}.
    expect((await refused('/services/PNOPE00?include[]=users', 400)).error.code).toBe(2001);
  });

  it('refuses broken service seeds', () => {
    const seeds: Array<[PagerDutyOrg, RegExp]> = [
      [{ ...org(), services: [QUIET, QUIET] }, /duplicate service id PSVCQT1/],
      [{ ...org(), services: [{ id: 'PSVCX01', name: '' }] }, /service needs id and name/],
      [
        { ...org(), services: [{ ...QUIET, escalationPolicyId: 'PEPNONE' }] },
        /unknown escalation policy PEPNONE/,
      ],
      [{ ...org(), services: [{ ...DB, name: 'Orders' }] }, /PSVCDB1 is named both "Orders" and "Database"/],
      [{ ...tinyOrg(), escalationPolicies: [], services: [QUIET] }, /PSVCQT1 needs an escalation policy/],
    ];
    for (const [seed, message] of seeds) expect(() => fake().setOrg(seed), String(message)).toThrow(message);
  });
});
