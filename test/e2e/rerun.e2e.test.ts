// End to end: a re-run that changes nothing touches nothing but PagerDuty and the ledger — no sdm download, no sdm
// command, not even on a fresh runner — and sdm is set up again as soon as something is to be granted or revoked.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isHelp, runChecked, worlds, type Invocation, type World } from './harness.js';
import { smallCompany } from './scenario.js';

type Org = import('../fakes/pagerduty.mjs').PagerDutyOrg;

const { start } = worlds();

/** The small company with Erin given a strongDM account: everyone on call can be granted. */
function everyoneInStrongDm() {
  const company = smallCompany();
  company.seed.strongdm.users.push({ firstName: 'Erin', lastName: 'Missing', email: 'erin@example.com' });
  return company;
}

/** What one run cost, counted by the fakes. */
async function costOf(world: World, run: () => Promise<unknown>) {
  const before = {
    pagerduty: world.pagerduty.requests.length,
    sdm: (await world.sdmState()).invocations.length,
    zips: world.downloads.counts.zip,
    latest: world.downloads.counts.latest,
    github: world.github.requests.length,
  };
  await run();
  const github = world.github.requests.slice(before.github);
  return {
    pagerduty: world.pagerduty.requests.length - before.pagerduty,
    sdm: ((await world.sdmState()).invocations as Invocation[]).slice(before.sdm),
    downloads: world.downloads.counts.zip - before.zips + (world.downloads.counts.latest - before.latest),
    ledgerReads: github.filter((request) => request.method === 'GET' && request.path.includes('/contents/'))
      .length,
    githubWrites: github.filter((request) => request.method !== 'GET').length,
  };
}

/** A fresh runner: GitHub-hosted runners start with an empty tool cache. */
async function emptyToolCache(world: World): Promise<void> {
  for (const entry of await readdir(world.toolCache)) {
    await rm(path.join(world.toolCache, entry), { recursive: true, force: true });
  }
}

describe('a re-run that changes nothing', () => {
  it('makes no sdm call and no download, even on a fresh runner, and the same PagerDuty requests as before', async () => {
    const { world, inputs } = await start(everyoneInStrongDm());
    let first: Awaited<ReturnType<typeof runChecked>> | undefined;
    const firstCost = await costOf(world, async () => (first = await runChecked(world, inputs)));
    expect(first?.exitCode, first?.stdout).toBe(0);
    expect(first?.outputs).toMatchObject({ granted: '18', skipped: '0' });
    expect(firstCost.sdm.length).toBeGreaterThan(18);

    await emptyToolCache(world);
    let second: Awaited<ReturnType<typeof runChecked>> | undefined;
    const cost = await costOf(world, async () => (second = await runChecked(world, inputs)));
    expect(second?.exitCode, second?.stdout).toBe(0);
    expect(second?.outputs).toMatchObject({ granted: '0', unchanged: '18', stale: '0', failed: '0' });
    expect(cost.sdm).toEqual([]);
    expect(cost.downloads).toBe(0);
    expect(cost.pagerduty).toBe(firstCost.pagerduty);
    expect(cost.ledgerReads).toBe(1);
    expect(cost.githubWrites).toBe(0);
    expect(second?.outputs['sdm-version']).toBeUndefined();
    const checks = JSON.parse(second?.outputs.checks ?? '[]') as Array<{ check: string; detail: string }>;
    expect(checks.find((check) => check.check === 'sdm')?.detail).toBe(
      'not needed: every on-call window is already granted (ledger) and nothing is to be revoked',
    );
    expect(second?.summary).toContain('**18 unchanged, 0 failed**');
  });

  it('sets sdm up again while someone on call has no strongDM account, to check again each run', async () => {
    const { world, inputs } = await start(smallCompany()); // Erin has no strongDM account
    expect((await runChecked(world, inputs)).outputs).toMatchObject({ granted: '16', skipped: '2' });
    const cost = await costOf(world, () => runChecked(world, inputs));
    expect(cost.sdm.map((invocation) => invocation.argv.slice(1, 3).join(' '))).toContain('users list');
    expect(cost.sdm.filter((call) => call.argv[2] === 'grant-temporary' && !isHelp(call))).toEqual([]);
  });

  it('reports a grant PagerDuty no longer backs without sdm, and sets sdm up to revoke it with revoke-stale', async () => {
    const company = everyoneInStrongDm();
    const { world, inputs } = await start(company);
    expect((await runChecked(world, inputs)).outputs).toMatchObject({ granted: '18' });
    const org = company.seed.pagerduty as Org;
    const database = org.schedules.find((schedule) => schedule.id === 'PDBONCL');
    if (!database?.entries) throw new Error('the small company has a database schedule');
    database.entries = database.entries.filter((shift) => shift.user !== 'PMALLO1'); // Mallory's shift removed
    world.pagerduty.setOrg(org);

    const reported = await costOf(world, async () => {
      const run = await runChecked(world, inputs);
      expect(run.outputs).toMatchObject({ granted: '0', stale: '2', revoked: '0' });
    });
    expect(reported.sdm).toEqual([]);
    expect(reported.downloads).toBe(0);

    const revoked = await costOf(world, async () => {
      const run = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
      expect(run.outputs).toMatchObject({ granted: '0', revoked: '2' });
    });
    expect(revoked.sdm.filter((invocation) => invocation.argv[2] === 'revoke')).toHaveLength(2);
  });
});

describe('a run that needs sdm', () => {
  it('reads sdm help and the four lists at the same time, then refuses an unknown resource before any grant', async () => {
    const company = everyoneInStrongDm();
    company.seed.strongdm.latencyMs = 3000; // every list answers 3 s after strongDM received it
    const { world, inputs } = await start(company);
    const run = await runChecked(world, { ...inputs, resources: 'prod-db\nno-such-db' });
    expect(run.exitCode).toBe(1);
    const calls = ((await world.sdmState()).invocations as Array<Invocation & { at: string }>)
      .filter((call) => !isHelp(call))
      .map((call) => ({ what: call.argv.slice(0, 3).join(' '), at: Date.parse(call.at) }));
    const lists = calls.filter((call) => call.what.endsWith(' list'));
    expect(lists.map((call) => call.what).sort()).toEqual([
      'admin clusters list',
      'admin datasources list',
      'admin servers list',
      'admin users list',
    ]);
    // all four reached strongDM before the first of them was answered: they ran concurrently
    const received = lists.map((call) => call.at);
    expect(Math.max(...received)).toBeLessThan(Math.min(...received) + 3000);
    expect(calls.filter((call) => call.what === 'admin users grant-temporary')).toEqual([]);
    expect(run.stdout).toContain('strongDM has no datasource, server or cluster named "no-such-db"');
  });
});
