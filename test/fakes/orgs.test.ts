// Tests of the seed organisations (orgs.mjs): each holds what it promises, as the fake PagerDuty serves it.
import { describe, expect, it } from 'vitest';
import { startFakePagerDuty } from './pagerduty.mjs';
import type { PagerDutyOrg } from './pagerduty.mjs';
import { bigOrg, demoOrg, DEMO, scheduleIdsOf, usedScheduleIdsOf } from './orgs.mjs';
import { request } from './http-testing.js';

const DAY = 24 * 3_600_000;

interface OncallsPage {
  oncalls: Array<{
    escalation_policy: { id: string };
    schedule: { id: string } | null;
    user: { id: string; email?: string };
  }>;
  total: number | null;
}

/** The /oncalls page a fake PagerDuty seeded with `org` answers to `query`. */
async function oncallsOf(org: { pagerduty: PagerDutyOrg }, query: URLSearchParams): Promise<OncallsPage> {
  const fake = await startFakePagerDuty({ org });
  try {
    const answer = await request(`${fake.url}/oncalls?${query}`, { authorization: 'Bearer pd-test-token' });
    return answer.json() as OncallsPage;
  } finally {
    await fake.close();
  }
}

describe('seed orgs', () => {
  it('demoOrg: two primaries in 24h, duplicate rows, a direct target, gaps in strongDM', async () => {
    const now = new Date();
    const demo = demoOrg(now);
    const query = new URLSearchParams();
    for (const id of scheduleIdsOf(demo)) query.append('schedule_ids[]', id);
    query.append('schedule_ids[]', 'null');
    query.set('since', now.toISOString());
    query.set('until', new Date(now.getTime() + DAY).toISOString());
    query.append('include[]', 'users');
    query.set('limit', '100');
    const page = await oncallsOf(demo, query);
    const primary = page.oncalls.filter(
      (r) =>
        r.schedule?.id === DEMO.schedules.platformPrimary &&
        r.escalation_policy.id === DEMO.escalationPolicies.platform,
    );
    expect(primary.map((r) => r.user.id)).toEqual([DEMO.users.katherine, DEMO.users.ada]);
    expect(page.oncalls.filter((r) => r.schedule?.id === DEMO.schedules.platformPrimary)).toHaveLength(4);
    expect(page.oncalls.some((r) => r.schedule?.id === DEMO.schedules.weekendSupport)).toBe(false);
    expect(page.oncalls.filter((r) => r.schedule === null).map((r) => r.user.id)).toEqual([
      DEMO.users.edsger,
    ]);
    const onCall = new Set(page.oncalls.map((r) => r.user.id));
    expect(onCall.has(DEMO.users.barbara)).toBe(true);
    expect(onCall.has(DEMO.users.margaret)).toBe(true);
    const database = page.oncalls.filter((r) => r.schedule?.id === DEMO.schedules.database);
    expect(database.map((r) => r.user.id)).toContain(DEMO.users.grace); // the override
    expect(database[0]?.user.id).toBe(DEMO.users.barbara); // on call now
    const margaret = page.oncalls.find((r) => r.user.id === DEMO.users.margaret);
    expect(margaret?.user).not.toHaveProperty('email');

    const sdmEmails = demo.strongdm.users.map((u) => u.email);
    expect(sdmEmails).not.toContain('barbara.liskov@example.com');
    expect(sdmEmails).toContain('Grace.Hopper@Example.com');
    expect(demo.pagerduty.users.find((u) => u.id === DEMO.users.grace)?.email).toBe(
      'grace.hopper@example.com',
    );
    expect(demo.strongdm.resources.map((r) => r.name)).toEqual([
      'prod-postgres',
      'prod-redis',
      'bastion-prod',
      'k8s-prod',
    ]);
    expect(usedScheduleIdsOf(demo)).not.toContain(DEMO.schedules.weekendSupport);
    for (const u of demo.pagerduty.users) expect(u.id).toMatch(/^P[0-9A-Z]{6}$/);
    expect(JSON.parse(JSON.stringify(demoOrg(now)))).toEqual(demo);
  });

  it('bigOrg yields 120-300 rows for a 24h lookahead at any time, all people in strongDM', async () => {
    const now = new Date();
    const big = bigOrg(now);
    const page = await oncallsOf(
      big,
      new URLSearchParams({
        since: now.toISOString(),
        until: new Date(now.getTime() + DAY).toISOString(),
        total: 'true',
        limit: '1',
      }),
    );
    expect(page.total).toBe(big.facts.expectedRowsNext24h);
    expect(page.total).toBeGreaterThan(120);
    expect(page.total).toBeLessThan(300);
    const sdm = new Set(big.strongdm.users.map((u) => u.email.toLowerCase()));
    for (const u of big.pagerduty.users) expect(sdm.has(u.email.toLowerCase())).toBe(true);
  });
});
