// End to end: what a first run against a real tenant must find out and say — sdm probed instead of assumed, the
// preflight checklist, v3 schedules, sdm in a private HOME, and PagerDuty requests as its spec describes them.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runChecked, worlds, type Invocation, type WorldSeed } from './harness.js';
import { clock, smallCompany } from './scenario.js';

type Org = import('../fakes/pagerduty.mjs').PagerDutyOrg;

const { start, startSeed } = worlds();

interface CheckLine {
  check: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const checksOf = (run: { outputs: Record<string, string> }): CheckLine[] =>
  JSON.parse(run.outputs.checks ?? '[]');
const checkNamed = (run: { outputs: Record<string, string> }, name: string) =>
  checksOf(run).find((check) => check.check === name);

/** Two schedules in one policy: a v2 one with Ada on call, and a v3 one (`v3Entries` its shifts). */
function v2AndV3(v3Entries: Array<{ user: string; start: string; end: string }>): WorldSeed {
  const { hours } = clock();
  const company = smallCompany();
  return {
    ...company.seed,
    pagerduty: {
      users: (company.seed.pagerduty as Org).users,
      schedules: [
        {
          id: 'PV2SHFT',
          name: 'Platform v2',
          entries: [{ user: 'PADA001', start: hours(-1), end: hours(6) }],
        },
        { id: 'PV3SHFT', name: 'Database v3', v3: true, entries: v3Entries },
      ],
      escalationPolicies: [
        {
          id: 'PEPMIXD',
          name: 'Mixed',
          levels: [
            { targets: [{ type: 'schedule', id: 'PV2SHFT' }] },
            { targets: [{ type: 'schedule', id: 'PV3SHFT' }] },
          ],
        },
      ],
    },
  };
}

describe('v3 (shift-based) schedules', () => {
  it('a quiet v3 schedule beside a v2 one: the run grants the v2 people and warns; an unknown ID still fails', async () => {
    const world = await startSeed(v2AndV3([]));
    const inputs = { ...world.baseInputs(), 'schedule-ids': 'PV2SHFT, PV3SHFT', resources: 'prod-db' };
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ granted: '1', failed: '0' });
    expect(run.plan.map((row) => row.email)).toEqual(['ada@example.com']);
    expect(run.stdout).toMatch(/^::warning::Nobody is on call in schedule PV3SHFT in this window/m);
    expect(checkNamed(run, 'schedule PV3SHFT')).toMatchObject({
      status: 'warn',
      detail: 'v3 schedule "Database v3": nobody on call in this window',
    });
    expect(checkNamed(run, 'schedule PV2SHFT')).toMatchObject({
      status: 'pass',
      detail: '"Platform v2": 1 on-call rows',
    });
    // The legacy endpoint does not know a v3 schedule; the v3 one does.
    const paths = world.pagerduty.requests.map((request: { path: string }) => request.path);
    expect(paths).toEqual(expect.arrayContaining(['/schedules/PV3SHFT', '/v3/schedules/PV3SHFT']));

    const unknown = await runChecked(world, { ...inputs, 'schedule-ids': 'PV2SHFT, PNOSUCH' });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stdout).toMatch(
      /^::error::Invalid input: schedule-ids: PagerDuty has no schedule PNOSUCH \(404\)/m,
    );
    expect(checkNamed(unknown, 'schedule PNOSUCH')).toMatchObject({ status: 'fail' });
    expect(unknown.summary).toContain('## On-call access: the run stopped');
    expect(unknown.summary).toContain('<details open>');
  });

  it('a v3 schedule whose people /oncalls does not return is said loudly, not silently granted nothing', async () => {
    const { hours } = clock();
    const world = await startSeed(v2AndV3([{ user: 'PBOB001', start: hours(1), end: hours(5) }]));
    const inputs = { ...world.baseInputs(), 'schedule-ids': 'PV2SHFT, PV3SHFT', resources: 'prod-db' };
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.plan.map((row) => row.email)).toEqual(['ada@example.com']); // Bob is invisible to /oncalls
    expect(run.stdout).toMatch(
      /^::warning::Schedule PV3SHFT \("Database v3"\) is a v3 schedule: its final schedule has 1 people on call in this window, but PagerDuty's \/oncalls returned none of them.*escalation-policies/m,
    );
    expect(checkNamed(run, 'schedule PV3SHFT')).toMatchObject({
      status: 'fail',
      fix: 'add a rule with escalation-policies naming the policy that uses this schedule',
    });
    expect(run.summary).toContain('<details open><summary>Preflight checklist:');
  });
});

describe('sdm probed, not assumed', () => {
  it('without a revoke command: no revoke is run, stale grants say why, the new person is granted, the step fails', async () => {
    const company = smallCompany();
    const { hours } = company;
    const world = await startSeed({
      ...company.seed,
      strongdm: { ...company.seed.strongdm, revokeCommand: false },
    });
    const inputs = {
      ...world.baseInputs(),
      'schedule-ids': company.scheduleIds,
      resources: company.resources,
      'revoke-stale': 'true',
    };
    const first = await runChecked(world, inputs);
    expect(first.outputs.granted).toBe('16');
    expect(first.exitCode).toBe(1); // revoke-stale asks for what this sdm cannot do
    expect(checkNamed(first, 'revoke command')).toMatchObject({ status: 'fail' });

    const org = structuredClone(company.seed.pagerduty as Org);
    org.schedules[0]?.overrides?.push({ user: 'PZED001', start: hours(14), end: hours(30) });
    world.pagerduty.setOrg(org);
    const run = await runChecked(world, inputs);
    expect(run.exitCode).toBe(1);
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.filter((i) => i.argv[2] === 'revoke')).toEqual([]);
    expect(run.outputs).toMatchObject({ granted: '2', stale: '2', revoked: '0', failed: '0' });
    expect(run.plan.filter((row) => row.status === 'granted').map((row) => row.email)).toEqual([
      'zed@example.com',
      'zed@example.com',
    ]);
    for (const row of run.plan.filter((row) => row.status === 'stale')) {
      expect(row.reason).toMatch(
        /PagerDuty no longer .*; this sdm offers no revoke command \(sdm admin users revoke\)$/,
      );
    }
    const error = run.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? '';
    expect(error).toMatch(
      /revoke-stale is true, but this sdm offers no revoke command: "sdm admin users revoke"/,
    );
    expect(error).toMatch(/\(.*grant-temporary.*\)/); // lists the subcommands sdm does offer
  });

  it('with the revoke command listed, the checklist says so and revoke-stale works as before', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(checkNamed(run, 'revoke command')).toEqual({
      check: 'revoke command',
      status: 'pass',
      detail: 'sdm admin users revoke is offered',
    });
  });

  it('a grant-temporary without --from fails before any grant, quoting the flags sdm lists', async () => {
    const company = smallCompany();
    const world = await startSeed({
      ...company.seed,
      strongdm: { ...company.seed.strongdm, grantFlags: ['--until'] },
    });
    const run = await runChecked(world, {
      ...world.baseInputs(),
      'schedule-ids': company.scheduleIds,
      resources: company.resources,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::this sdm's "admin users grant-temporary" does not offer --from and --until \(its help lists: --until/m,
    );
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.filter((i) => i.argv[2] === 'grant-temporary' && !i.argv.includes('--help'))).toEqual(
      [],
    );
    expect(checkNamed(run, 'grant-temporary flags')).toMatchObject({ status: 'fail' });
  });
});

describe("strongDM's users", () => {
  it('a user whose permissionLevel is suspended counts as suspended: no grant is attempted', async () => {
    const company = smallCompany();
    const users = company.seed.strongdm.users.map((user) =>
      (user as { email: string }).email === 'bob@example.com'
        ? { ...user, permissionLevel: 'suspended' }
        : user,
    );
    const world = await startSeed({ ...company.seed, strongdm: { ...company.seed.strongdm, users } });
    const run = await runChecked(world, {
      ...world.baseInputs(),
      'schedule-ids': company.scheduleIds,
      resources: company.resources,
    });
    expect(run.exitCode, run.stdout).toBe(0);
    const bob = run.plan.filter((row) => row.email === 'bob@example.com');
    expect(bob.length).toBeGreaterThan(0);
    for (const row of bob) {
      expect(row).toMatchObject({
        status: 'skipped',
        reason: expect.stringMatching(/no strongDM user has this email/),
      });
    }
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.filter((i) => i.argv.at(-1) === 'bob@example.com')).toEqual([]);
  });
});

describe('the preflight checklist', () => {
  it('a dry run with both tokens shows everything a real run needs, first, and changes nothing', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, {
      ...inputs,
      'dry-run': 'true',
      rules: '',
      'schedule-ids': 'PPRIMAR, PDBONCL',
    });
    expect(run.exitCode, run.stdout).toBe(0);
    const checks = checksOf(run);
    expect(checks.map((check) => check.check)).toEqual([
      'ledger read',
      'ledger signatures',
      'PagerDuty',
      'schedule PPRIMAR',
      'schedule PDBONCL',
      'sdm download',
      'sdm verified',
      'grant-temporary flags',
      'revoke command',
      'sdm admin datasources list',
      'sdm admin servers list',
      'sdm admin clusters list',
      'resource prod-db',
      'resource bastion',
      'sdm admin users list',
      'ledger write',
    ]);
    expect(checkNamed(run, 'sdm download')).toMatchObject({ status: 'pass', detail: 'sdm 46.0.0' });
    expect(checkNamed(run, 'sdm verified')).toMatchObject({
      status: 'pass',
      detail: "the zip matches strongDM's published SHA-256",
    });
    expect(checkNamed(run, 'grant-temporary flags')).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/--from.*--until/),
    });
    expect(checkNamed(run, 'schedule PPRIMAR')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('"Platform Primary"'),
    });
    expect(checkNamed(run, 'ledger write')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('not written in a dry run'),
    });
    // First in the summary of a dry run, open because one line is a warning.
    expect(run.summary.indexOf('Preflight checklist')).toBeLessThan(run.summary.indexOf('| Person'));
    expect(run.summary).toContain('<details open><summary>Preflight checklist:');
    expect(run.stdout).toMatch(/^✅ grant-temporary flags: offers --from, --until/m);
    // Nothing changed.
    expect((await world.sdmState()).grants).toEqual([]);
    expect(world.ledgerCommits()).toEqual([]);
  });

  it('a real run that passes every check folds the checklist at the end of the summary', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(checksOf(run).filter((check) => check.status !== 'pass')).toEqual([]);
    expect(run.summary).toMatch(/<details><summary>Preflight checklist: \d+ passed<\/summary>/);
    expect(run.summary.indexOf('Preflight checklist')).toBeGreaterThan(run.summary.indexOf('| Person'));
    expect(checkNamed(run, 'ledger write')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('recorded 16 grants'),
    });
  });

  it('names each escalation policy; a quiet one is a warning, an unknown one fails the step naming it', async () => {
    const { world, inputs } = await start();
    const rules = (policy: string, level: number) =>
      `- name: leads\n  escalation-policies: [${policy}]\n  escalation-levels: [${level}]\n  resources: [bastion]`;
    const base = { ...inputs, 'schedule-ids': '', resources: '' };
    const quiet = await runChecked(world, { ...base, rules: rules('PEPPLAT', 9) });
    expect(quiet.exitCode, quiet.stdout).toBe(0);
    expect(checkNamed(quiet, 'escalation policy PEPPLAT')).toMatchObject({
      status: 'warn',
      detail: '"Platform": no on-call rows at the levels the rules ask for',
    });
    const unknown = await runChecked(world, { ...base, rules: rules('PNOSUCH', 1) });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stdout).toMatch(
      /^::error::Invalid input: rules: PagerDuty has no escalation policy PNOSUCH \(404\)/m,
    );
    expect(checkNamed(unknown, 'escalation policy PNOSUCH')).toMatchObject({ status: 'fail' });
  });

  it('looks up a policy nobody is on call in, to name it', async () => {
    const company = smallCompany();
    const org = structuredClone(company.seed.pagerduty as Org);
    org.schedules.push({ id: 'PQUIETS', name: 'Quiet', entries: [] });
    org.escalationPolicies.push({
      id: 'PEPQUIT',
      name: 'Quiet policy',
      levels: [{ targets: [{ type: 'schedule', id: 'PQUIETS' }] }],
    });
    const world = await startSeed({ ...company.seed, pagerduty: org });
    const rules = '- name: quiet\n  escalation-policies: [PEPQUIT]\n  resources: [bastion]';
    const run = await runChecked(world, { ...world.baseInputs(), rules });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(checkNamed(run, 'escalation policy PEPQUIT')).toMatchObject({
      status: 'warn',
      detail: '"Quiet policy": nobody on call in this window',
    });
    expect(world.pagerduty.requests.map((request: { path: string }) => request.path)).toContain(
      '/escalation_policies/PEPQUIT',
    );
  });

  it('a rejected PagerDuty key stops the run with the checklist as far as it got', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'pagerduty-token': 'wrong-key' });
    expect(run.exitCode).toBe(1);
    expect(checkNamed(run, 'PagerDuty')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('401'),
    });
    expect(run.summary).toContain('## On-call access: the run stopped');
  });
});

describe('sdm in a private HOME', () => {
  it('every sdm command runs with HOME and SDM_HOME in RUNNER_TEMP, no inherited SDM_* setting, and the folder is gone after', async () => {
    const { world, inputs } = await start();
    const run = await world.run(inputs, undefined, { SDM_API_HOST: 'evil.example', SDM_HOME: '/root/.sdm' });
    expect(run.exitCode, run.stdout).toBe(0);
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.length).toBeGreaterThan(6);
    const homes = new Set(invocations.map((i) => i.home));
    expect(homes.size).toBe(1);
    const [home] = [...homes] as [string];
    expect(home.startsWith(`${run.temp}/sdm-home-`)).toBe(true);
    expect(existsSync(home)).toBe(false);
    for (const invocation of invocations) {
      expect(invocation.sdmHome).toBe(home);
      const expected = invocation.argv.includes('--help') ? ['SDM_HOME'] : ['SDM_ADMIN_TOKEN', 'SDM_HOME'];
      expect([...invocation.sdmEnv].sort()).toEqual(expected);
    }
  });

  it('the private HOME is removed when the run fails too', async () => {
    const company = smallCompany();
    const world = await startSeed({
      ...company.seed,
      strongdm: {
        ...company.seed.strongdm,
        faults: [{ command: 'servers list', action: 'fail', stderr: 'permission denied' }],
      },
    });
    const run = await world.run({
      ...world.baseInputs(),
      'schedule-ids': company.scheduleIds,
      resources: company.resources,
    });
    expect(run.exitCode).toBe(1);
    expect(checkNamed(run, 'sdm admin servers list')).toMatchObject({ status: 'fail' });
    const homes = ((await world.sdmState()).invocations as Invocation[]).map((i) => i.home);
    expect(homes.length).toBeGreaterThan(0);
    for (const home of homes) expect(existsSync(home as string)).toBe(false);
  });
});

describe('PagerDuty requests as its spec describes them', () => {
  it('every request carries Accept, Authorization and Content-Type', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    const requests = world.pagerduty.requests as Array<{
      accept?: string;
      authorization?: string;
      contentType?: string;
    }>;
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect(request.accept).toBe('application/vnd.pagerduty+json;version=2');
      expect(request.authorization).toMatch(/^Token token=/);
      expect(request.contentType).toBe('application/json');
    }
  });
});
