// End to end across several runs: the ledger makes re-runs idempotent, notices overrides and survives races.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  runChecked,
  seconds,
  sortGrants,
  worlds,
  type Grant,
  type Invocation,
  type World,
  isHelp,
} from './harness.js';
import { smallCompany } from './scenario.js';

type Org = import('../fakes/pagerduty.mjs').PagerDutyOrg;

const startWorld = worlds().start;

async function start(company = smallCompany()) {
  return { ...(await startWorld(company)), org: company.seed.pagerduty as Org };
}

async function grantCalls(w: World): Promise<string[][]> {
  return ((await w.sdmState()).invocations as Invocation[])
    .filter((i) => i.argv[2] === 'grant-temporary' && !isHelp(i))
    .map((i) => i.argv);
}

async function revokeCalls(w: World): Promise<string[][]> {
  return ((await w.sdmState()).invocations as Invocation[])
    .filter((i) => i.argv[2] === 'revoke' && !isHelp(i))
    .map((i) => i.argv);
}

const grantsOf = async (w: World, email: string) =>
  sortGrants(((await w.sdmState()).grants as Grant[]).filter((g) => g.email.toLowerCase() === email));

describe('re-runs', () => {
  it('a second run on unchanged PagerDuty data makes zero grant calls and records nothing new', async () => {
    const { world, inputs } = await start();
    const first = await runChecked(world, inputs);
    expect(first.exitCode, first.stdout).toBe(0);
    expect(first.outputs).toMatchObject({ granted: '16', unchanged: '0' });
    expect(await grantCalls(world)).toHaveLength(16);
    expect(world.ledger().grants).toHaveLength(16);
    const [commit] = world.ledgerCommits();
    expect(commit?.message.split('\n')[0]).toBe('oncall-access: grant 16');
    expect(commit?.message).toContain('Run: https://github.com/acme/ops/actions/runs/4242');

    const second = await runChecked(world, inputs);
    expect(second.exitCode, second.stdout).toBe(0);
    expect(second.outputs).toMatchObject({
      granted: '0',
      unchanged: '16',
      skipped: '2',
      stale: '0',
      failed: '0',
    });
    expect(await grantCalls(world)).toHaveLength(16); // none added by the second run
    expect(world.ledgerCommits()).toHaveLength(1);
    expect(second.summary).toContain('**16 unchanged, 2 skipped, 0 failed**');
    expect(
      second.plan
        .filter((row) => row.status === 'unchanged')
        .every((row) => row.runUrl === 'https://github.com/acme/ops/actions/runs/4242'),
    ).toBe(true);
  });

  it('when the lookahead grows, only the new part is granted', async () => {
    const { world, inputs, company } = await start();
    const { hours } = company;
    const short = await runChecked(world, { ...inputs, lookahead: '3h30m' });
    expect(short.exitCode, short.stdout).toBe(0);
    // Ada (running), Dan (permanent) and Carol's merged database shift [1h, 5h]; twice each for two resources.
    expect(short.outputs.granted).toBe('6');
    expect((await grantsOf(world, 'carol@example.com')).map((g) => [g.startFrom, g.validUntil])).toEqual([
      [hours(1), hours(5)],
      [hours(1), hours(5)],
    ]);

    const long = await runChecked(world, { ...inputs, lookahead: '24h' });
    expect(long.exitCode, long.stdout).toBe(0);
    expect(long.outputs).toMatchObject({ granted: '12', unchanged: '6' });
    const newCalls = (await grantCalls(world)).slice(6);
    expect(newCalls).toHaveLength(12);
    // Carol's shift grew to [1h, 8h] with the secondary schedule: only [5h, 8h] is new, touching the first grant.
    expect((await grantsOf(world, 'carol@example.com')).map((g) => [g.startFrom, g.validUntil])).toEqual([
      [hours(1), hours(5)],
      [hours(1), hours(5)],
      [hours(5), hours(8)],
      [hours(5), hours(8)],
    ]);
  });
});

describe('failures and caps', () => {
  it('a strongDM that refuses any second grant for a user and resource defers the later window, without failing', async () => {
    const company = smallCompany();
    company.seed.strongdm.strict = true;
    const { world, inputs } = await start(company);
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ granted: '14', failed: '0', skipped: '4' }); // Erin ×2, Bob's second window ×2
    const deferred = run.plan.filter((row) => String(row.reason).startsWith('deferred:'));
    expect(deferred.map((row) => [row.email, row.from])).toEqual([
      ['bob@example.com', company.hours(14)],
      ['bob@example.com', company.hours(14)],
    ]);
    expect(world.ledger().grants).toHaveLength(14);
    const again = await runChecked(world, { ...inputs, 'fail-on': 'missing-user' });
    expect(again.stdout).toMatch(/^::error::1 on-call people get no access/m); // Erin only: deferred is not missing
  });

  it('max-grant-duration bounds a permanent on-call, and the summary draws the timeline', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'max-grant-duration': '2h', lookahead: '1h' });
    expect(run.exitCode, run.stdout).toBe(0);
    const dan = await grantsOf(world, 'dan@example.com');
    expect(dan).toHaveLength(2);
    for (const grant of dan) expect(seconds(grant.validUntil) - seconds(grant.startFrom)).toBe(2 * 3600);
    expect(run.summary).toMatch(
      /```mermaid\n%%\{init: .*\}%%\ngantt\n {2}title Who holds what over the next 1h \(UTC\)/,
    );
    expect(run.summary).toMatch(/ {2}section prod-db\n(?: {2}.+\n)* {2}Dan Lead :active, /);
  });
});

describe('overrides and stale grants', () => {
  it('an override moves a shift: the new person is granted, the old grant is stale, and revoke-stale revokes it', async () => {
    const { world, inputs, company, org } = await start();
    const { hours } = company;
    expect((await runChecked(world, inputs)).outputs.granted).toBe('16');

    // Zed takes over Bob's second shift.
    org.schedules[0]?.overrides?.push({ user: 'PZED001', start: hours(14), end: hours(30) });
    world.pagerduty.setOrg(org);
    const noticed = await runChecked(world, inputs);
    expect(noticed.exitCode, noticed.stdout).toBe(0);
    expect(noticed.outputs).toMatchObject({ granted: '2', stale: '2', revoked: '0' });
    expect(noticed.plan.filter((row) => row.status === 'granted')).toEqual([
      expect.objectContaining({
        email: 'zed@example.com',
        from: hours(14),
        until: hours(30),
        resource: 'bastion',
      }),
      expect.objectContaining({
        email: 'zed@example.com',
        from: hours(14),
        until: hours(30),
        resource: 'prod-db',
      }),
    ]);
    expect(noticed.stdout).toMatch(
      new RegExp(
        `^::warning::Stale grant: Bob Moses <bob@example.com> holds (prod-db|bastion) until ${hours(30)}, which PagerDuty no longer backs \\(set revoke-stale: true`,
        'm',
      ),
    );
    expect(await revokeCalls(world)).toEqual([]);
    expect(await grantsOf(world, 'bob@example.com')).toHaveLength(4); // nothing revoked without revoke-stale

    const revoked = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
    expect(revoked.exitCode, revoked.stdout).toBe(0);
    // The revoke command removes all of Bob's grants per resource; the still-backed [6h, 10h] is granted again.
    expect((await revokeCalls(world)).map((argv) => argv.slice(3)).sort()).toEqual([
      ['bastion', 'bob@example.com'],
      ['prod-db', 'bob@example.com'],
    ]);
    expect(revoked.outputs).toMatchObject({ revoked: '4', granted: '2', stale: '0', failed: '0' });
    expect(
      (await grantsOf(world, 'bob@example.com')).map((g) => [g.resource, g.startFrom, g.validUntil]),
    ).toEqual([
      ['bastion', hours(6), hours(10)],
      ['prod-db', hours(6), hours(10)],
    ]);
    const bobEntries = world.ledger().grants.filter((g) => g.email === 'bob@example.com');
    expect(bobEntries.filter((g) => g.revokedAt)).toHaveLength(4);
    expect(bobEntries.filter((g) => !g.revokedAt).map((g) => [g.from, g.until])).toEqual([
      [hours(6), hours(10)],
      [hours(6), hours(10)],
    ]);
    expect(world.ledgerCommits().map((c) => c.message.split('\n')[0])).toEqual([
      'oncall-access: grant 16',
      'oncall-access: grant 2',
      'oncall-access: grant 2, revoke 4',
    ]);

    const settled = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
    expect(settled.outputs).toMatchObject({ granted: '0', revoked: '0', stale: '0' });
  });

  it('PagerDuty answering with no on-calls at all revokes nothing, and the summary says why', async () => {
    const { world, inputs, org } = await start();
    expect((await runChecked(world, inputs)).outputs.granted).toBe('16');
    world.pagerduty.setOrg({ ...org, escalationPolicies: [] }); // every schedule unused: /oncalls is empty
    const run = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ unchanged: '16', stale: '0', revoked: '0', granted: '0' });
    expect(await revokeCalls(world)).toEqual([]);
    expect(run.summary).toContain('no on-call grant is treated as stale in this run');
  });
});

describe('ledger races', () => {
  it('two overlapping runs writing the ledger lose and duplicate nothing', async () => {
    const { world, inputs } = await start();
    const [a, b] = await Promise.all([
      runChecked(world, { ...inputs, resources: 'prod-db' }),
      runChecked(world, { ...inputs, resources: 'bastion' }),
    ]);
    expect([a.exitCode, b.exitCode], a.stdout + b.stdout).toEqual([0, 0]);
    expect([a.outputs.granted, b.outputs.granted]).toEqual(['8', '8']);
    const entries = world.ledger().grants;
    expect(entries).toHaveLength(16);
    expect(new Set(entries.map((e) => e.id)).size).toBe(16);
    expect(new Set(entries.map((e) => `${e.email}|${e.resource}|${e.from}|${e.until}`)).size).toBe(16);
    expect(world.ledgerCommits()).toHaveLength(2);
  });

  it('a write that finds the ledger changed since it was read (409) re-reads, merges and keeps both', async () => {
    const { world, inputs } = await start();
    const other = {
      id: 'from-another-run',
      email: 'zed@example.com',
      resource: 'prod-db',
      from: '2026-01-01T00:00:00Z',
      until: '2099-01-01T00:00:00Z',
    };
    world.github.faults.push({
      method: 'PUT',
      path: '/repos/acme/ops/contents/ledger.json',
      action: 'concurrentWrite',
      content: JSON.stringify({ version: 1, grants: [other] }),
    });
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    const ids = world.ledger().grants.map((e) => e.id);
    expect(ids).toContain('from-another-run');
    expect(ids).toHaveLength(17);
  });

  it('a ledger write refused by GitHub fails the step and says the grants were not recorded', async () => {
    const { world, inputs } = await start();
    world.github.faults.push({
      method: 'PUT',
      path: '/repos/acme/ops/contents/',
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    const run = await runChecked(world, inputs);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::16 grants and 0 revocations were made but not recorded in the ledger: .*permissions: contents: write/m,
    );
    expect(run.summary).toContain('The ledger was NOT fully updated');
  });
});

describe('rules, people, buffers and caps', () => {
  it('rules pick escalation levels and give each rule its own resources', async () => {
    const { world, inputs, company } = await start();
    const { hours } = company;
    const { 'schedule-ids': _s, resources: _r, ...rest } = inputs;
    const run = await runChecked(world, {
      ...rest,
      rules: [
        '- name: platform-first-line',
        '  escalation-policies: [PEPPLAT]',
        '  escalation-levels: [1, 3]',
        '  resources: [prod-db, bastion]',
        '- name: database',
        '  schedules: [PDBONCL]',
        '  resources: [prod-db]',
      ].join('\n'),
    });
    expect(run.exitCode, run.stdout).toBe(0);
    const granted = run.plan
      .filter((row) => row.status === 'granted')
      .map((row) => `${row.rule} ${row.email} ${row.resource} ${row.from === hours(0) ? 'now' : row.from}`);
    expect(granted.length).toBe(13);
    expect(granted).toEqual(
      expect.arrayContaining([
        `database carol@example.com prod-db ${hours(1)}`,
        `database Grace.Hopper@Example.com prod-db ${hours(9)}`,
        `platform-first-line bob@example.com bastion ${hours(6)}`,
        `platform-first-line frank@example.com prod-db ${hours(10)}`,
      ]),
    );
    expect(granted.some((g) => g.startsWith('database') && g.includes('bastion'))).toBe(false);
    expect(granted.some((g) => g.includes('carol@example.com bastion'))).toBe(false); // level 2 is not in the rule
    expect(run.plan.filter((row) => row.status === 'skipped').map((row) => row.name)).toEqual([
      'Erin Missing',
    ]);
    expect(world.pagerduty.requests.filter((r: { path: string }) => r.path === '/oncalls')).toHaveLength(2);
    expect(run.summary).toContain('· escalation level · rule.'); // the Source column names the rule
    expect(run.summary).toMatch(/\| [^|]+ · L1 · platform-first-line \|/);
  });

  it('grace-period keeps access after a shift that just ended, and a re-run does not call it stale', async () => {
    const company = smallCompany();
    const at = (minutes: number) =>
      new Date(company.t0 + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const primary = (company.seed.pagerduty as Org).schedules[0] as {
      entries: Array<{ user: string; start: string; end: string }>;
    };
    primary.entries[0] = { user: 'PADA001', start: at(-120), end: at(-10) }; // Ada went off call 10 minutes ago
    const { world, inputs } = await start(company);
    const graced = { ...inputs, 'grace-period': '30m', 'revoke-stale': 'true' };
    const first = await runChecked(world, graced);
    expect(first.exitCode, first.stdout).toBe(0);
    expect((await grantsOf(world, 'ada@example.com')).map((g) => g.validUntil)).toEqual([at(20), at(20)]);
    const again = await runChecked(world, graced);
    expect(again.outputs).toMatchObject({ granted: '0', stale: '0', revoked: '0' });
    expect(again.plan.filter((row) => row.email === 'ada@example.com').map((row) => row.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
  });

  it('the longest lookahead with lead-time and grace-period stays within the 90 days PagerDuty answers for', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, {
      ...inputs,
      lookahead: '90d',
      'lead-time': '1h',
      'grace-period': '1h',
    });
    expect(run.exitCode, run.stdout).toBe(0);
    // Dan, on call permanently, gets 7-day pieces that start within the 90 days: 13 per resource.
    expect(run.outputs.granted).toBe(String(14 + 2 * Math.ceil(90 / 7)));
  });

  it('lead-time and grace-period widen each window', async () => {
    const { world, inputs, company } = await start();
    const { t0 } = company;
    const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const run = await runChecked(world, { ...inputs, 'lead-time': '30m', 'grace-period': '15m' });
    expect(run.exitCode, run.stdout).toBe(0);
    expect((await grantsOf(world, 'carol@example.com')).map((g) => [g.startFrom, g.validUntil])).toEqual([
      [at(30), at(8 * 60 + 15)],
      [at(30), at(8 * 60 + 15)],
    ]);
    expect((await grantsOf(world, 'frank@example.com'))[0]).toMatchObject({
      startFrom: at(9 * 60 + 30),
      validUntil: at(14 * 60 + 15),
    });
  });

  it('user-map gives a person whose emails differ their access', async () => {
    const company = smallCompany();
    company.seed.strongdm.users.push({
      firstName: 'Erin',
      lastName: 'Real',
      email: 'erin.real@corp.example',
    });
    const { world, inputs } = await start(company);
    const run = await runChecked(world, {
      ...inputs,
      'user-map': 'erin@example.com: erin.real@corp.example',
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ granted: '18', skipped: '0' });
    expect((await grantsOf(world, 'erin.real@corp.example')).map((g) => g.startFrom)).toEqual([
      company.missing.from,
      company.missing.from,
    ]);
  });

  it('max-new-grants refuses a plan that is too big: nothing applied, the plan shown, the step failed', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'max-new-grants': '5' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::Refused to apply: the plan has 16 new grants, more than max-new-grants \(5\)/m,
    );
    expect(await grantCalls(world)).toEqual([]);
    expect(world.ledgerCommits()).toEqual([]);
    expect(run.plan.filter((row) => row.status === 'would-grant')).toHaveLength(16);
    expect(run.plan[0]?.reason ?? '').toMatch(/not applied: 16 new grants exceed max-new-grants \(5\)/);
    const wouldGrant = /^### \S+ 16 would-grant: .*\n\nReason: not applied: [^\n]+\n\n((?:\|.*\n)+)/m.exec(
      run.summary,
    );
    expect(wouldGrant?.[1]?.trim().split('\n')).toHaveLength(2 + 16); // header, separator, a row per grant
  });
});

describe('where the ledger lives', () => {
  it('state: none keeps nothing and calls no GitHub API', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, state: 'none' });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.granted).toBe('16');
    const again = await runChecked(world, { ...inputs, state: 'none', 'dry-run': 'true' });
    expect(again.plan.filter((row) => row.status === 'would-grant')).toHaveLength(16); // it remembers nothing
    expect(world.github.requests).toEqual([]);
  });

  it('state: file:<path> makes a re-run idempotent with a local file', async () => {
    const { world, inputs } = await start();
    // One workspace for both runs, as on a self-hosted runner; the ledger file must lie inside it.
    const workspace = path.join(world.dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    const env = { GITHUB_WORKSPACE: workspace };
    const file = path.join(workspace, 'state', 'ledger.json');
    const state = 'file:state/ledger.json';
    expect((await runChecked(world, { ...inputs, state }, undefined, env)).outputs.granted).toBe('16');
    const again = await runChecked(world, { ...inputs, state }, undefined, env);
    expect(again.outputs).toMatchObject({ granted: '0', unchanged: '16' });
    expect(await grantCalls(world)).toHaveLength(16);
    expect(JSON.parse(await readFile(file, 'utf8')).grants).toHaveLength(16);
    expect(world.github.requests).toEqual([]);
  });
});
