// End to end: the `message` output says what each run changed, in plain text for a chat step, and nothing when
// nothing changed.
import { describe, expect, it } from 'vitest';
import { runChecked, worlds } from './harness.js';
import { HOSTILE_NAME, smallCompany } from './scenario.js';

type Org = import('../fakes/pagerduty.mjs').PagerDutyOrg;

const { start } = worlds();
const SHORT_TIME = '\\w{3} \\d{1,2} \\w{3} \\d\\d:\\d\\d';

describe('the message output', () => {
  it('tells failures, grants and stale grants, and is empty for a run that changed nothing', async () => {
    const company = smallCompany();
    company.seed.strongdm.faults = [
      { command: 'grant-temporary', email: 'ada@example.com', action: 'fail', times: 2 },
    ];
    const { world, inputs } = await start(company);

    const first = await runChecked(world, { ...inputs, 'fail-on': 'never' });
    const firstLines = first.outputs.message?.split('\n') ?? [];
    expect(firstLines[0]).toMatch(
      /^On-call access: 2 failed, 14 granted — https:\/\/\S+\/actions\/runs\/\S+$/,
    );
    expect(firstLines[1]).toMatch(
      /^Failed: Ada Lovelace: bastion, prod-db until \w{3} \d{1,2} \w{3} \d\d:\d\d \(.+\)$/,
    );
    expect(firstLines[2]).toMatch(/^Granted: /);
    for (const name of ['Bob Moses', 'Carol Shaw', 'Dan Lead', 'Grace Hopper', HOSTILE_NAME]) {
      expect(firstLines[2]).toContain(`${name}: `);
    }
    expect(firstLines[2]).not.toContain('Ada Lovelace');
    expect(firstLines[2]).not.toContain('Erin'); // skipped: no strongDM account, nothing changed for her
    expect(firstLines).toHaveLength(3);

    const retried = await runChecked(world, inputs);
    expect(retried.outputs.message?.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^Granted: Ada Lovelace: bastion, prod-db until /),
    ]);

    const unchanged = await runChecked(world, inputs);
    expect(unchanged.outputs).toMatchObject({ granted: '0', failed: '0', stale: '0' });
    expect(unchanged.outputs.message).toBe('');

    const org = company.seed.pagerduty as Org;
    const database = org.schedules.find((schedule) => schedule.id === 'PDBONCL');
    if (!database?.entries) throw new Error('the small company has a database schedule');
    database.entries = database.entries.filter((shift) => shift.user !== 'PMALLO1');
    world.pagerduty.setOrg(org);
    const stale = await runChecked(world, inputs);
    // Mallory's shift starts in 12 hours: the message says from when.
    expect(stale.outputs.message?.split('\n').slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Stale \\(PagerDuty no longer backs it\\): ${HOSTILE_NAME.replace(/[()]/g, '\\$&')}: bastion, prod-db from ${SHORT_TIME} until ${SHORT_TIME}$`,
        ),
      ),
    ]);

    const revoked = await runChecked(world, { ...inputs, 'revoke-stale': 'true' });
    expect(revoked.outputs.message?.split('\n')[1]).toBe(`Revoked: ${HOSTILE_NAME}: bastion, prod-db`);
  });

  it('says what a dry run would grant, and what a refused plan did not', async () => {
    const { world, inputs } = await start();
    const dry = await runChecked(world, { ...inputs, 'dry-run': 'true' });
    expect(dry.outputs.message?.split('\n')[1]).toMatch(/^Would grant \(dry run\): Ada Lovelace: /);
    const refused = await runChecked(world, { ...inputs, 'max-new-grants': '3' });
    expect(refused.exitCode).toBe(1);
    const [, fatal, wouldGrant] = refused.outputs.message?.split('\n') ?? [];
    expect(fatal).toMatch(/^The step failed: .*max-new-grants/);
    expect(wouldGrant).toMatch(/^Would grant \(not applied\): /);
  });

  it('says the run stopped, and why, when it stops before a plan', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'pagerduty-token': 'wrong-token' });
    expect(run.exitCode).toBe(1);
    const [head, error] = run.outputs.message?.split('\n') ?? [];
    expect(head).toMatch(/^On-call access: the run stopped — https:\/\/\S+$/);
    expect(error).toMatch(/^Error: PagerDuty rejected pagerduty-token \(401/);
  });
});
