// Attacks on the ledger, end to end: anyone who can push to the state branch can write entries. Each scenario
// plants entries before the run and checks the fault invariants, plus that no planted entry was acted on
// (the suite's tally counts them: "0 forged entries honoured").
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runChecked, worlds, type Invocation, type World } from './harness.js';
import { runScenario, type ForgedEntry } from './invariants.js';
import { smallCompany } from './scenario.js';
import { ledgerEntry } from '../samples.js';
import type { LedgerEntry } from '../../src/types.js';

const { start, startSeed } = worlds({ 'request-timeout': '2s', 'sdm-timeout': '3s' });
const BRANCH = 'oncall-access-state';

/** An entry that looks like the action's own in every field, with a made-up signature. */
function forge(email: string, resource: string, from: string, until: string): ForgedEntry & LedgerEntry {
  return ledgerEntry(email, from, until, {
    id: randomBytes(8).toString('hex'), // unique, so 20,000 forgeries stay 20,000 entries
    resource,
    mac: `v1:${randomBytes(32).toString('hex')}`,
  });
}

function plant(world: World, grants: unknown[]): void {
  world.github.createBranch(BRANCH);
  world.github.writeFile(
    BRANCH,
    'ledger.json',
    JSON.stringify({ version: 1, grants }),
    'planted by an attacker',
  );
}

const checkOf = (run: { outputs: Record<string, string> }, name: string) =>
  (JSON.parse(run.outputs.checks ?? '[]') as Array<{ check: string; status: string; detail: string }>).find(
    (check) => check.check === name,
  );

const nowIso = () =>
  new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString().replace('.000Z', 'Z');

describe('a forged ledger', () => {
  it('an entry that "covers" an on-call shift does not stop the grant', async ({ task }) => {
    const { world, inputs, company } = await start();
    const forged = [forge('ada@example.com', 'prod-db', nowIso(), company.hours(6))];
    plant(world, forged);
    const run = await runScenario(task, world, inputs, 0, undefined, { forged });
    const ada = run.plan.filter((row) => row.email === 'ada@example.com' && row.resource === 'prod-db');
    expect(ada.map((row) => row.status)).toEqual(['granted']);
    expect(run.stdout).toMatch(/^::warning::1 entries of ledger\.json .* were not written by this action/m);
    expect(checkOf(run, 'ledger signatures')).toMatchObject({ status: 'fail' });
  });

  it("an entry for someone not on call, with revoke-stale, leaves that person's own grant alone", async ({
    task,
  }) => {
    const company = smallCompany();
    const { hours } = company;
    const manual = {
      email: 'zed@example.com',
      resourceName: 'prod-db',
      startFrom: nowIso(),
      validUntil: hours(24 * 30),
    };
    const world = await startSeed({
      ...company.seed,
      strongdm: { ...company.seed.strongdm, grants: [manual] },
    });
    const forged = [forge('zed@example.com', 'prod-db', nowIso(), hours(2))];
    plant(world, forged);
    const inputs = {
      ...world.baseInputs(),
      'schedule-ids': company.scheduleIds,
      resources: company.resources,
      'revoke-stale': 'true',
      'request-timeout': '2s',
      'sdm-timeout': '3s',
    };
    const run = await runScenario(task, world, inputs, 0, undefined, {
      forged,
      manualPairs: new Set(['zed@example.com prod-db']),
    });
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.filter((i) => i.argv.includes('zed@example.com'))).toEqual([]);
    const zed = ((await world.sdmState()).grants as Array<{ email: string; validUntil: string }>).filter(
      (grant) => grant.email === 'zed@example.com',
    );
    expect(zed.map((grant) => grant.validUntil)).toEqual([manual.validUntil]);
    expect(run.outputs.revoked).toBe('0');
  });

  it('an over-long entry for the person on call does not get their live grant revoked', async ({ task }) => {
    const { world, inputs, company } = await start();
    const forged = [forge('ada@example.com', 'bastion', nowIso(), company.hours(24 * 20))];
    plant(world, forged);
    const run = await runScenario(task, world, { ...inputs, 'revoke-stale': 'true' }, 0, undefined, {
      forged,
    });
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.filter((i) => i.argv[2] === 'revoke')).toEqual([]);
    expect(run.outputs).toMatchObject({ revoked: '0', failed: '0' });

    // The next run, with the grants it made itself signed, still revokes nothing and grants nothing again.
    // runChecked here: the fault invariants judge one run, and a permanent on-call's grant is extended only later.
    const again = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
    expect(again.exitCode, again.stdout).toBe(0);
    expect(again.outputs).toMatchObject({ granted: '0', revoked: '0', unchanged: '16' });
  });

  it('a wildcard or filter as a resource never reaches sdm', async ({ task }) => {
    const { world, inputs, company } = await start();
    const forged = [
      forge('bob@example.com', '*', nowIso(), company.hours(3)),
      forge('bob@example.com', 'name:prod-*,bastion', nowIso(), company.hours(3)),
    ];
    plant(world, forged);
    await runScenario(task, world, { ...inputs, 'revoke-stale': 'true' }, 0, undefined, { forged });
    const argv = ((await world.sdmState()).invocations as Invocation[]).flatMap((i) => i.argv);
    expect(argv.filter((arg) => arg.includes('*'))).toEqual([]);
  });

  it('entries missing fields neither crash the run nor lose the summary', async ({ task }) => {
    const { world, inputs, company } = await start();
    const { name: _name, ...noName } = forge('ada@example.com', 'prod-db', nowIso(), company.hours(6));
    const { source: _source, ...noSource } = forge('bob@example.com', 'prod-db', nowIso(), company.hours(6));
    plant(world, [noName, noSource, null, 'text']);
    const run = await runScenario(task, world, inputs, 0, undefined, {
      forged: [noName, noSource] as ForgedEntry[],
    });
    expect(run.outputs.granted).toBe('16');
    expect(run.summary).toContain('Preflight checklist');
    expect(checkOf(run, 'ledger signatures')?.detail).toMatch(/^4 foreign entries ignored \(4 malformed/);
  });

  it('a large ledger is read and planned within the time budget', async ({ task }) => {
    const { world, inputs, company } = await start();
    const from = Date.parse(nowIso());
    // 20,000 entries for one user and resource: quadratic handling would not finish in time.
    const forged = Array.from({ length: 20_000 }, (_, i) =>
      forge(
        'ada@example.com',
        'prod-db',
        new Date(from - (i + 1) * 60_000).toISOString().replace('.000Z', 'Z'),
        company.hours(1),
      ),
    );
    plant(world, forged);
    const run = await runScenario(task, world, { ...inputs, 'time-budget': '60s' }, 0, undefined, { forged });
    expect(run.outputs).toMatchObject({ granted: '16', failed: '0' });
    expect(checkOf(run, 'ledger signatures')?.detail).toMatch(/^20000 foreign entries ignored/);
  });
});
