// End to end: incident rules (issue 12). The assignee of an open incident on a mapped service gets the rule's
// resources for the incident window, extended while the incident stays open, stale once it is resolved; a failed
// /incidents query is never read as "no incidents"; titles and event payloads are untrusted. Asserted on what the
// fakes recorded (sdm's argv and grants, the ledger on the state branch, PagerDuty's request log), outputs and the
// summary. Later runs are run "later" through the clock preload (test/fakes/clock.mjs).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clockEnv } from '../fakes/clock.mjs';
import { workflowCommands } from '../fakes/runner.mjs';
import { isHelp, runChecked, seconds, World, type ActionRun, type Invocation } from './harness.js';
import { grantsMadeTwice } from './invariants.js';
import { incidentCompany } from './scenario.js';
import type { LedgerEntry } from '../../src/types.js';

const MINUTE_MS = 60_000;
const WINDOW_S = 2 * 3600; // incident-window: 2h, the rules' default here

type Org = import('../fakes/pagerduty.mjs').PagerDutyOrg;
type CheckedRun = Awaited<ReturnType<typeof runChecked>>;
type Company = ReturnType<typeof incidentCompany>;

interface SdmCall {
  index: number;
  command: string; // grant-temporary, revoke
  resource: string;
  email: string;
  from?: string;
  until?: string;
  exitCode: number | null;
  at: string; // when sdm ran, by its own clock
  argv: string[];
}
interface Check {
  check: string;
  status: string;
  detail: string;
  fix?: string;
}

// Every world a test opens is closed after it (some tests compare two worlds).
const opened: World[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((world) => world.close()));
});

async function open(company: Company) {
  const world = await World.start(company.seed);
  opened.push(world);
  return world;
}

/** The inputs of a rules-mode run (no simple-mode schedule-ids/resources). */
function inputsFor(world: World, rules: string, extra: Record<string, string> = {}) {
  return { ...world.baseInputs(), rules, ...extra };
}

/** A run `laterMs` after now (through the clock preload, which the fake sdm the action starts shares). */
async function runAt(
  world: World,
  inputs: Record<string, string>,
  laterMs = 0,
  env: Record<string, string> = {},
): Promise<CheckedRun & { offsetS: number }> {
  const run = await runChecked(world, inputs, undefined, { ...(laterMs ? clockEnv(laterMs) : {}), ...env });
  return { ...run, offsetS: laterMs / 1000 };
}

/** The value of `--flag value` or `--flag=value`. */
function flag(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const arg = argv[i] as string;
  return arg.includes('=') ? arg.slice(name.length + 1) : argv[i + 1];
}

/** The grant and revoke commands sdm received, in order (help excluded), from invocation `since` on. */
async function sdmCalls(world: World, since = 0): Promise<SdmCall[]> {
  const invocations = (await world.sdmState()).invocations as Array<
    Invocation & { exitCode: number | null; at: string }
  >;
  return invocations.flatMap((invocation, index) => {
    const { argv } = invocation;
    const command = argv[2];
    if (index < since || isHelp(invocation) || (command !== 'grant-temporary' && command !== 'revoke')) {
      return [];
    }
    return [
      {
        index,
        command,
        resource: argv.at(-2) as string,
        email: argv.at(-1) as string,
        from: flag(argv, '--from'),
        until: flag(argv, '--until'),
        exitCode: invocation.exitCode,
        at: invocation.at,
        argv,
      },
    ];
  });
}

const sdmInvocationCount = async (world: World) => (await world.sdmState()).invocations.length;

const ledgerEntries = (world: World) => world.ledger().grants as unknown as LedgerEntry[];

const checksOf = (run: ActionRun) => JSON.parse(run.outputs.checks ?? '[]') as Check[];

/** Rows of the plan output for one person and resource. */
const rowsOf = (run: ActionRun, email: string, resource: string) =>
  run.plan.filter((row) => row.email === email && row.resource === resource);

/** PagerDuty requests from index `since` on (up to `end`), counted by path. */
function requestCounts(world: World, since = 0, end?: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of world.pagerduty.requests.slice(since, end) as Array<{ path: string }>) {
    counts[request.path] = (counts[request.path] ?? 0) + 1;
  }
  return counts;
}

/** The instant `iso` names lies within the run (moved by its clock offset), give or take a second. */
function expectDuringRun(iso: string | undefined, run: CheckedRun & { offsetS: number }) {
  const s = seconds(iso as string);
  expect(s).toBeGreaterThanOrEqual(run.startedAt + run.offsetS - 1);
  expect(s).toBeLessThanOrEqual(run.endedAt + run.offsetS + 1);
}

/** The org as it is now (the seed, changed in place by a test), served from the next request on. */
function publish(world: World, company: Company) {
  world.pagerduty.setOrg(company.seed.pagerduty as Org);
}

/** The event file of a scheduled run. */
const SCHEDULE_EVENT = { schedule: '*/15 * * * *' };

/**
 * Runs a fresh incidentCompany(base) with incident #101 open as a `event` run whose event file holds `payload`, and
 * gives what must not depend on the event: the sdm calls, plan and ledger (sorted; times relative to the run, so
 * that two runs a few seconds apart compare equal), the count outputs, the checks and the PagerDuty requests.
 */
async function runUnderEvent(base: number, event: string, payload: object) {
  const company = incidentCompany(base);
  company.incidents.push(company.incident(101));
  const world = await open(company);
  const eventPath = path.join(world.dir, 'event.json');
  await writeFile(eventPath, JSON.stringify(payload));
  const run = await runAt(world, inputsFor(world, company.rules()), 0, {
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: eventPath,
  });
  expect(run.exitCode, run.stdout).toBe(0);
  const relative = (iso: string | undefined, laterS = 0) => {
    const s = seconds(iso as string) - laterS;
    return s >= run.startedAt - 1 && s <= run.endedAt + 1 ? `now+${laterS}s` : iso;
  };
  const byPersonAndResource = (
    a: { email: string; resource: string },
    b: { email: string; resource: string },
  ) => `${a.email}${a.resource}`.localeCompare(`${b.email}${b.resource}`);
  const grants = (await sdmCalls(world))
    .map((call) => ({
      command: call.command,
      email: call.email,
      resource: call.resource,
      from: relative(call.from),
      until: relative(call.until, WINDOW_S),
    }))
    .sort(byPersonAndResource);
  const plan = run.plan.map((row) => ({
    ...row,
    from: relative(row.from as string),
    until: relative(row.until as string, WINDOW_S),
  }));
  const ledger = ledgerEntries(world)
    .map((e) => ({
      email: e.email,
      resource: e.resource,
      rule: e.rule,
      source: e.source,
      from: relative(e.from),
      until: relative(e.until, WINDOW_S),
    }))
    .sort(byPersonAndResource);
  const { checks, message: _message, plan: _plan, ...counts } = run.outputs;
  return {
    world,
    run,
    grants,
    plan,
    ledger,
    counts,
    checks: (JSON.parse(checks ?? '[]') as Check[]).map((c) => `${c.check} ${c.status}`),
    requests: requestCounts(world),
  };
}

const ADA_INCIDENT_ACCESS = ['ada@example.com', 'prod-db-write'] as const;

describe('incident rules', () => {
  it('give the on-call assignee of an open incident the rule’s resources for the incident window, with the incident recorded', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const run = await runAt(world, inputsFor(world, company.rules()));
    expect(run.exitCode, run.stdout).toBe(0);

    const calls = await sdmCalls(world);
    const incidentGrants = calls.filter((call) => call.resource === 'prod-db-write');
    expect(incidentGrants.map((call) => [call.command, call.email, call.exitCode])).toEqual([
      ['grant-temporary', 'ada@example.com', 0],
    ]);
    const [grant] = incidentGrants;
    expectDuringRun(grant?.from, run);
    expect(seconds(grant?.until as string) - seconds(grant?.from as string)).toBe(WINDOW_S);
    // The shift rule still does its part; nobody else gets the incident's resource.
    expect(calls.filter((call) => call.resource === 'bastion').map((call) => call.email)).toEqual([
      'carol@example.com',
    ]);
    expect(run.outputs).toMatchObject({ granted: '2', failed: '0', stale: '0' });

    const entry = ledgerEntries(world).find((e) => e.email === 'ada@example.com');
    expect(entry).toMatchObject({
      resource: 'prod-db-write',
      rule: 'incident-db-write',
      from: grant?.from,
      until: grant?.until,
      source: {
        escalationPolicyId: 'PEPDATA',
        escalationPolicyName: 'Data',
        scheduleId: 'PDBONCL',
        scheduleName: 'Database',
        escalationLevel: 1,
      },
    });
    expect(entry?.source.incident).toEqual({
      id: 'PINC101',
      number: 101,
      title: 'Orders DB latency #101',
      url: 'https://acme.pagerduty.com/incidents/PINC101',
      serviceId: 'PSVCDB1',
      serviceName: 'Orders DB',
    });
    expect(
      ledgerEntries(world).find((e) => e.email === 'carol@example.com')?.source.incident,
    ).toBeUndefined();
    expect(rowsOf(run, ...ADA_INCIDENT_ACCESS).map((row) => [row.status, row.from, row.until])).toEqual([
      ['granted', grant?.from, grant?.until],
    ]);
    // "#101", possibly with an invisible word joiner after "#" (no issue link): see forMarkdownCell.
    expect(run.summary).toMatch(/#\u2060?101\b/);
  });

  it('a re-run while the incident is open extends the grant where it ends, and not again while more than half is left', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const inputs = inputsFor(world, company.rules());
    const first = await runAt(world, inputs);
    expect(first.exitCode, first.stdout).toBe(0);
    const [initial] = (await sdmCalls(world)).filter((call) => call.resource === 'prod-db-write');

    // 70 minutes later: 50 minutes of the 2h window are left, less than half.
    const mark = await sdmInvocationCount(world);
    const later = await runAt(world, inputs, 70 * MINUTE_MS);
    expect(later.exitCode, later.stdout).toBe(0);
    const extensions = await sdmCalls(world, mark);
    expect(extensions.map((call) => [call.command, call.email, call.resource, call.exitCode])).toEqual([
      ['grant-temporary', 'ada@example.com', 'prod-db-write', 0],
    ]);
    const [extension] = extensions;
    // sdm (started by the action) ran on the same moved clock: it judged the grant at the action's "now".
    expectDuringRun(extension?.at, later);
    expect(extension?.from).toBe(initial?.until); // no gap, no overlap
    expect(seconds(extension?.until as string) - WINDOW_S).toBeGreaterThanOrEqual(
      later.startedAt + later.offsetS - 1,
    );
    expect(seconds(extension?.until as string) - WINDOW_S).toBeLessThanOrEqual(
      later.endedAt + later.offsetS + 1,
    );
    expect(later.outputs).toMatchObject({ granted: '1', stale: '0', revoked: '0', failed: '0' });
    const adaEntries = ledgerEntries(world).filter((e) => e.email === 'ada@example.com');
    expect(adaEntries.map((e) => [e.from, e.until, e.source.incident?.number, e.revokedAt])).toEqual([
      [initial?.from, initial?.until, 101, undefined],
      [extension?.from, extension?.until, 101, undefined],
    ]);
    expect(await grantsMadeTwice(world)).toBe(0);

    // 5 minutes after that: nearly the whole window is left, so nothing is granted.
    const mark2 = await sdmInvocationCount(world);
    const soon = await runAt(world, inputs, 75 * MINUTE_MS);
    expect(soon.exitCode, soon.stdout).toBe(0);
    expect(await sdmCalls(world, mark2)).toEqual([]);
    expect(soon.outputs).toMatchObject({ granted: '0', stale: '0' });
    expect(rowsOf(soon, ...ADA_INCIDENT_ACCESS).every((row) => row.status === 'unchanged')).toBe(true);
    expect(rowsOf(soon, ...ADA_INCIDENT_ACCESS).length).toBeGreaterThan(0);
    expect(ledgerEntries(world).filter((e) => e.email === 'ada@example.com')).toHaveLength(2);
  });

  it('where strongDM refuses any second grant of a resource, the extension waits for the grant in force to end', async () => {
    const company = incidentCompany();
    company.seed.strongdm.strict = true; // the stricter reading of strongDM (docs/strongdm-cli.md, unconfirmed)
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const inputs = inputsFor(world, company.rules());
    expect((await runAt(world, inputs)).exitCode).toBe(0);
    const [initial] = (await sdmCalls(world)).filter((call) => call.resource === 'prod-db-write');

    // 70 minutes later the extension is refused while the first grant is in force: deferred, not failed.
    const mark = await sdmInvocationCount(world);
    const later = await runAt(world, inputs, 70 * MINUTE_MS);
    expect(later.exitCode, later.stdout).toBe(0);
    expect((await sdmCalls(world, mark)).map((call) => [call.command, call.resource, call.exitCode])).toEqual(
      [['grant-temporary', 'prod-db-write', 1]],
    );
    expect(later.outputs).toMatchObject({ granted: '0', failed: '0', stale: '0' });
    expect(
      rowsOf(later, ...ADA_INCIDENT_ACCESS).map((row) => [row.status, String(row.reason).slice(0, 9)]),
    ).toEqual([
      ['unchanged', ''],
      ['skipped', 'deferred:'],
    ]);

    // 2h05m after the first grant it has ended: the next run grants from its own start, 5 minutes after the end.
    const mark2 = await sdmInvocationCount(world);
    const after = await runAt(world, inputs, 125 * MINUTE_MS);
    expect(after.exitCode, after.stdout).toBe(0);
    const [regrant, ...others] = await sdmCalls(world, mark2);
    expect(others).toEqual([]);
    expect([regrant?.command, regrant?.resource, regrant?.exitCode]).toEqual([
      'grant-temporary',
      'prod-db-write',
      0,
    ]);
    expectDuringRun(regrant?.from, after);
    const gap = seconds(regrant?.from as string) - seconds(initial?.until as string);
    expect(gap).toBeGreaterThanOrEqual(5 * 60 - 5);
    expect(gap).toBeLessThanOrEqual(5 * 60 + 30);
  });

  it('an acknowledged incident still backs its grant: unchanged, nothing revoked', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const inputs = inputsFor(world, company.rules(), { 'revoke-stale': 'true' });
    expect((await runAt(world, inputs)).outputs).toMatchObject({ granted: '2' });

    company.incidents[0] = company.incident(101, {
      status: 'acknowledged',
      acknowledgements: [{ user: 'PADA001', at: company.at(0) }],
      lastStatusChangeAt: company.at(0),
    });
    publish(world, company);
    const mark = await sdmInvocationCount(world);
    const run = await runAt(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ granted: '0', stale: '0', revoked: '0' });
    expect(rowsOf(run, ...ADA_INCIDENT_ACCESS).map((row) => row.status)).toEqual(['unchanged']);
    expect(await sdmCalls(world, mark)).toEqual([]);
    expect(ledgerEntries(world).filter((e) => e.revokedAt !== undefined)).toEqual([]);
  });

  it('a resolved incident makes its grant stale, and revoke-stale revokes it', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const inputs = inputsFor(world, company.rules());
    expect((await runAt(world, inputs)).outputs).toMatchObject({ granted: '2' });

    company.incidents[0] = company.resolvedIncident(101);
    publish(world, company);
    const mark = await sdmInvocationCount(world);
    const reported = await runAt(world, inputs);
    expect(reported.exitCode, reported.stdout).toBe(0);
    expect(reported.outputs).toMatchObject({ granted: '0', stale: '1', revoked: '0' });
    expect(rowsOf(reported, ...ADA_INCIDENT_ACCESS).map((row) => row.status)).toEqual(['stale']);
    expect(rowsOf(reported, 'carol@example.com', 'bastion').map((row) => row.status)).toEqual(['unchanged']);
    expect(await sdmCalls(world, mark)).toEqual([]);

    const revoked = await runAt(world, { ...inputs, 'revoke-stale': 'true' });
    expect(revoked.exitCode, revoked.stdout).toBe(0);
    expect(revoked.outputs).toMatchObject({ granted: '0', revoked: '1', stale: '0' });
    expect(
      (await sdmCalls(world, mark)).map((call) => [call.command, call.resource, call.email, call.exitCode]),
    ).toEqual([['revoke', 'prod-db-write', 'ada@example.com', 0]]);
    const ada = ledgerEntries(world).find((e) => e.email === 'ada@example.com');
    expect(ada?.revokedAt).toBeDefined();
    expectDuringRun(ada?.revokedAt, revoked);
    expect(ledgerEntries(world).find((e) => e.email === 'carol@example.com')?.revokedAt).toBeUndefined();
    const held = ((await world.sdmState()).grants as Array<{ email: string; resourceName: string }>).map(
      (g) => `${g.email} ${g.resourceName}`,
    );
    expect(held).toEqual(['carol@example.com bastion']);
  });

  it('an incident on a service no rule maps gives nothing, and /incidents is asked only about mapped services', async () => {
    const company = incidentCompany();
    company.incidents.push(
      company.incident(101),
      // Carol is on call in Platform, the policy of this incident: only the service keeps her out.
      company.incident(102, {
        service: company.services.web,
        escalationPolicy: 'PEPPLAT',
        assignments: [{ user: 'PCAROL1', at: company.at(-5) }],
      }),
    );
    const world = await open(company);
    const run = await runAt(world, inputsFor(world, company.rules()));
    expect(run.exitCode, run.stdout).toBe(0);
    expect((await sdmCalls(world)).map((call) => `${call.email} ${call.resource}`).sort()).toEqual([
      'ada@example.com prod-db-write',
      'carol@example.com bastion',
    ]);
    expect(
      ledgerEntries(world)
        .map((e) => e.source.incident?.number ?? null)
        .sort(),
    ).toEqual([101, null]);
    expect(JSON.stringify(run.plan)).not.toContain('PINC102');

    const asked = (
      world.pagerduty.requests as Array<{ path: string; query: Array<[string, string]> }>
    ).filter((request) => request.path === '/incidents');
    expect(asked).toHaveLength(1);
    const values = (key: string) =>
      (asked[0]?.query ?? []).filter(([name]) => name === key).map(([, value]) => value);
    expect(values('service_ids[]')).toEqual(['PSVCDB1']);
    expect(values('statuses[]').sort()).toEqual(['acknowledged', 'triggered']);
    expect(values('urgencies[]')).toEqual([]); // both urgencies: no filter (it needs the account's urgencies ability)
    expect(values('include[]')).toEqual(['assignees', 'services']);
    expect(values('total')).toEqual([]); // a list of one page is one snapshot: nothing to compare
    expect(values('date_range')).toEqual(['all']);
    expect(values('limit')).toEqual(['100']);
    expect([...values('since'), ...values('until')]).toEqual([]);
  });

  it('an assignee not on call in the incident’s escalation policy gets nothing, unless the rule does not require it', async () => {
    const company = incidentCompany();
    // Bob took the incident himself (he is on call nowhere); Carol is on call, but in Platform, not in Data.
    company.incidents.push(
      company.incident(103, {
        assignments: [
          { user: 'PBOB001', at: company.at(-2) },
          { user: 'PCAROL1', at: company.at(-2) },
        ],
      }),
    );
    const world = await open(company);
    const strict = await runAt(world, inputsFor(world, company.rules()));
    expect(strict.exitCode, strict.stdout).toBe(0);
    expect((await sdmCalls(world)).map((call) => `${call.email} ${call.resource}`)).toEqual([
      'carol@example.com bastion',
    ]);
    expect(strict.plan.filter((row) => row.resource === 'prod-db-write' && row.status !== 'skipped')).toEqual(
      [],
    );
    expect(ledgerEntries(world).map((e) => `${e.email} ${e.resource}`)).toEqual([
      'carol@example.com bastion',
    ]);

    const mark = await sdmInvocationCount(world);
    const lenient = await runAt(world, inputsFor(world, company.rules({ requireOnCall: false })));
    expect(lenient.exitCode, lenient.stdout).toBe(0);
    const calls = await sdmCalls(world, mark);
    expect(calls.map((call) => [call.command, call.email, call.resource, call.exitCode]).sort()).toEqual([
      ['grant-temporary', 'bob@example.com', 'prod-db-write', 0],
      ['grant-temporary', 'carol@example.com', 'prod-db-write', 0],
    ]);
    for (const call of calls) {
      expectDuringRun(call.from, lenient);
      expect(seconds(call.until as string) - seconds(call.from as string)).toBe(WINDOW_S);
    }
    for (const email of ['bob@example.com', 'carol@example.com']) {
      const entry = ledgerEntries(world).find((e) => e.email === email && e.resource === 'prod-db-write');
      expect(entry?.source, email).toMatchObject({
        scheduleId: null,
        scheduleName: '',
        escalationLevel: 0,
        escalationPolicyId: 'PEPDATA',
        incident: { number: 103, serviceId: 'PSVCDB1' },
      });
    }
  });

  it('moving an incident to a policy you are on call in gains nothing, and a hostile name never starts a log line', async () => {
    const company = incidentCompany();
    // Mallory is on call in Platform. She renamed herself, moved incident 104 (service Orders DB, whose policy is
    // Data) to Platform and took it.
    const users = (company.seed.pagerduty as Org).users as Array<{ id: string; name: string }>;
    const mallory = users.find((user) => user.id === 'PMALLO1');
    if (mallory) mallory.name = '  ::stop-commands::pwn';
    const platform = (company.seed.pagerduty as Org).escalationPolicies.find((p) => p.id === 'PEPPLAT');
    platform?.levels.push({ targets: [{ type: 'user', id: 'PMALLO1' }] }); // level 2, directly
    company.incidents.push(
      company.incident(104, {
        service: { ...company.services.ordersDb, escalationPolicyId: 'PEPDATA' },
        escalationPolicy: 'PEPPLAT',
        assignments: [{ user: 'PMALLO1', at: company.at(-1) }],
      }),
    );
    const world = await open(company);
    const run = await runAt(world, inputsFor(world, company.rules()));
    expect(run.exitCode, run.stdout).toBe(0);
    const calls = await sdmCalls(world);
    expect(calls.filter((call) => call.resource === 'prod-db-write')).toEqual([]);
    expect(calls.map((call) => `${call.email} ${call.resource}`)).toEqual(['carol@example.com bastion']);
    expect(ledgerEntries(world).filter((e) => e.resource === 'prod-db-write')).toEqual([]);
    for (const line of `${run.stdout}\n${run.stderr}`.split(/\r?\n/)) {
      expect(line).not.toMatch(/^\s*::stop-commands::pwn/);
    }
    expect(run.stdout).toMatch(
      /^Incident #104: ::stop-commands::pwn is assigned but not on call in the escalation policy of service Orders DB \(the incident is on policy Platform; access follows its service's\)/m,
    );
  });

  it('with require-on-call, incident access ends with the assignee’s shift (plus grace-period), not later', async () => {
    const company = incidentCompany();
    const database = (company.seed.pagerduty as Org).schedules.find((s) => s.id === 'PDBONCL');
    if (database) database.entries = [{ user: 'PADA001', start: company.hours(-2), end: company.at(30) }];
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const run = await runAt(world, inputsFor(world, company.rules(), { 'grace-period': '15m' }));
    expect(run.exitCode, run.stdout).toBe(0);
    const calls = (await sdmCalls(world)).filter((call) => call.resource === 'prod-db-write');
    expect(calls.map((call) => [call.email, call.until])).toEqual([['ada@example.com', company.at(45)]]);
    expectDuringRun(calls[0]?.from, run);
  });

  it('a failed /incidents query judges no incident grant, still makes shift grants, and fails the step saying so', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const inputs = inputsFor(world, company.rules(), { 'revoke-stale': 'true', 'request-timeout': '5s' });
    expect((await runAt(world, inputs)).outputs).toMatchObject({ granted: '2' });

    // PagerDuty now has the incident resolved and Bob on a new Platform shift; the incidents query will fail.
    company.incidents[0] = company.resolvedIncident(101);
    const platform = (company.seed.pagerduty as Org).schedules.find((s) => s.id === 'PPLATFM');
    platform?.entries?.push({ user: 'PBOB001', start: company.hours(11), end: company.hours(13) });
    publish(world, company);

    const faults = [
      {
        name: '403',
        fault: { path: '/incidents', status: 403, body: { error: { message: 'Access Denied', code: 2010 } } },
        attempts: 1,
        bob: 'granted',
      },
      {
        name: '500 until retries are exhausted',
        fault: { path: '/incidents', status: 500, times: 50 },
        attempts: 5,
        bob: 'unchanged',
      },
    ];
    for (const { name, fault, attempts, bob } of faults) {
      world.pagerduty.faults.splice(0, world.pagerduty.faults.length, fault);
      const mark = await sdmInvocationCount(world);
      const requestMark = world.pagerduty.requests.length;
      const run = await runAt(world, inputs);
      expect(run.exitCode, `${name}\n${run.stdout}`).toBe(1);
      expect(requestCounts(world, requestMark)['/incidents'], name).toBe(attempts);
      const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error'));
      expect(errors.join('\n'), name).toMatch(/incident access was not evaluated/i);
      const check = checksOf(run).find((c) => c.check === 'incidents');
      expect(check?.status, name).toBe('fail');
      // Nothing about incidents judged: the resolved incident's grant is neither stale nor revoked.
      expect(run.outputs, name).toMatchObject({ stale: '0', revoked: '0', failed: '0' });
      expect(
        run.plan.filter((row) => ['stale', 'revoked'].includes(row.status as string)),
        name,
      ).toEqual([]);
      const calls = await sdmCalls(world, mark);
      expect(
        calls.filter((call) => call.command === 'revoke'),
        name,
      ).toEqual([]);
      expect(
        ledgerEntries(world).filter((e) => e.revokedAt !== undefined),
        name,
      ).toEqual([]);
      expect(
        ((await world.sdmState()).grants as Array<{ email: string; resourceName: string }>).some(
          (g) => g.email === 'ada@example.com' && g.resourceName === 'prod-db-write',
        ),
        name,
      ).toBe(true);
      // Shift access proceeds: Bob's new shift is granted (by the first failed run; the second finds it held).
      expect(
        rowsOf(run, 'bob@example.com', 'bastion').map((row) => row.status),
        name,
      ).toEqual([bob]);
      expect(
        rowsOf(run, 'carol@example.com', 'bastion').map((row) => row.status),
        name,
      ).toEqual(['unchanged']);
    }
    expect(
      (await sdmCalls(world)).filter((call) => call.email === 'bob@example.com').map((call) => call.resource),
    ).toEqual(['bastion']);
  });
});

// Every trick a title could try, each at the start of its own title (the summary shortens titles): HTML, a
// javascript: link, table pipes and a code span, workflow commands after a newline, Mermaid directives and
// statements. One incident per person (all four get access: the rule does not require being on call).
const HOSTILE_TITLES: Array<[number, string, string]> = [
  [108, 'PADA001', '<img src=x onerror=alert(1)> TITLEMARK'],
  [109, 'PBOB001', '[x](javascript:alert(1))|`rm`|| ") [y](javascript:alert(2)) TITLEMARK'],
  [110, 'PCAROL1', '\n::add-mask::x\n::stop-commands::pwned\n::error::TITLEMARK'],
  [111, 'PMALLO1', '%%{init: {"theme":"dark"}}%%\nclick A call alert(1)\nsection pwned TITLEMARK'],
];

/** Markdown tables whose rows do not have as many cell separators (unescaped "|") as their header. */
function brokenTableRows(markdown: string): string[] {
  const separators = (line: string) => line.match(/(?<!\\)\|/g)?.length ?? 0;
  const broken: string[] = [];
  let header: number | undefined;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    if (header === undefined) header = separators(line);
    else if (separators(line) !== header) broken.push(line);
  }
  return broken;
}

/** The lines of the summary's Mermaid blocks. */
function mermaidLines(markdown: string): string[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)```/g)].flatMap((match) =>
    (match[1] ?? '').split('\n'),
  );
}

describe('untrusted text', () => {
  it('hostile incident titles are harmless in the summary, the log, the outputs, the ledger and never on a command line', async () => {
    const company = incidentCompany();
    for (const [number, user, title] of HOSTILE_TITLES) {
      company.incidents.push(
        company.incident(number, { title, assignments: [{ user, at: company.at(-3) }] }),
      );
    }
    const world = await open(company);
    const run = await runAt(world, inputsFor(world, company.rules({ requireOnCall: false })));
    expect(run.exitCode, run.stdout).toBe(0);
    const granted = (await sdmCalls(world)).filter((call) => call.resource === 'prod-db-write');
    expect(granted.map((call) => call.email).sort()).toEqual([
      'ada@example.com',
      'bob@example.com',
      'carol@example.com',
      'mallory@example.com',
    ]);

    // Summary: every incident's row is there, its title shown as text, and nothing in it acts.
    const { summary } = run;
    for (const [number] of HOSTILE_TITLES)
      expect(summary).toMatch(new RegExp(`/incidents/PINC${number}[) ]`));
    expect(summary).toContain('&lt;img src=x');
    expect(summary).toContain('javascript');
    expect(summary).not.toContain('<img');
    expect(summary).not.toMatch(/(?<!\\)\]\(javascript/);
    expect(summary).not.toMatch(/"\) \\?\[y/); // a quote that would end a link title is escaped
    expect(summary).not.toMatch(/(?<!\\)`rm/);
    expect(brokenTableRows(summary)).toEqual([]);
    for (const line of summary.split('\n')) {
      expect(line.trimStart()).not.toMatch(/^(::|click |section pwned|%%\{init: \{"theme":"dark")/);
    }
    const mermaid = mermaidLines(summary);
    expect(mermaid.filter((line) => / #1(08|09|10|11) :/.test(line))).toHaveLength(4); // the incidents' bars are drawn
    expect(mermaid.filter((line) => line.includes('%%'))).toHaveLength(1); // the action's own init only
    expect(mermaid.filter((line) => /^\s*click\b/i.test(line))).toEqual([]);
    expect(mermaid.filter((line) => /^\s*section\b/.test(line)).map((line) => line.trim())).toEqual([
      'section prod-db-write',
      'section bastion',
    ]);
    expect(mermaid.join('\n')).not.toMatch(/TITLEMARK|onerror|javascript|pwned|alert|dark/);

    // Log: no workflow command comes from a title (on stdout or stderr, which the runner also reads). The action
    // may stop commands around its own table, with a token of its own that it resumes.
    for (const output of [run.stdout, run.stderr]) {
      const commands = workflowCommands(output);
      const stops = commands.filter((c) => c.name === 'stop-commands');
      expect(stops.filter((c) => !/^::stop-commands::[0-9a-f-]{32,}$/.test(c.line.trim()))).toEqual([]);
      expect(commands.filter((c) => c.name === 'resume-commands')).toHaveLength(stops.length);
      expect(commands.filter((c) => c.name === 'add-mask' && c.line.trim() === '::add-mask::x')).toEqual([]);
      expect(commands.filter((c) => /TITLEMARK|pwned|alert|dark/.test(c.line))).toEqual([]);
    }

    // Outputs: only the action's own, each parseable; no line of the message comes from a title.
    expect(Object.keys(run.outputs).sort()).toEqual(
      [
        'checks',
        'failed',
        'granted',
        'message',
        'plan',
        'revoked',
        'sdm-version',
        'skipped',
        'stale',
        'unchanged',
      ].sort(),
    );
    expect(run.outputs.granted).toBe('5');
    expect(() => JSON.parse(run.outputs.checks ?? '')).not.toThrow();
    for (const line of (run.outputs.message ?? '').split('\n')) {
      expect(line.trimStart()).not.toMatch(/^(::|click |section pwned|%%)/);
    }

    // Ledger: JSON keeps each title as PagerDuty gave it; commit messages carry no line of one.
    const titles = Object.fromEntries(
      ledgerEntries(world).flatMap((e) =>
        e.source.incident ? [[e.source.incident.number, e.source.incident.title]] : [],
      ),
    );
    expect(titles).toEqual(Object.fromEntries(HOSTILE_TITLES.map(([number, , title]) => [number, title])));
    for (const commit of world.ledgerCommits()) {
      for (const line of commit.message.split('\n')) {
        expect(line.trimStart()).not.toMatch(/^(::|click |section pwned|%%)/);
      }
      expect(commit.message).not.toMatch(/<img|TITLEMARK/);
    }

    // sdm: no title is on a command line.
    const argvs = JSON.stringify(((await world.sdmState()).invocations as Invocation[]).map((i) => i.argv));
    expect(argvs).not.toMatch(/TITLEMARK|onerror|pwned|alert/);
  });

  it('a repository_dispatch run reconciles exactly like a scheduled one, and nothing of its payload is used', async () => {
    const base = Date.now();
    const payload = {
      action: 'pagerduty-incident',
      client_payload: {
        incident: {
          id: 'PFORGED',
          number: 999,
          title: 'PAYLOADMARK <img src=x onerror=alert(1)>\n::add-mask::x',
          status: 'triggered',
          service: { id: 'PSVCDB1', name: 'Orders DB' },
          assignees: [{ id: 'PMALLO1', email: 'mallory@example.com' }],
        },
        email: 'mallory@example.com',
        resources: ['prod-db-write', 'bastion'],
        rules: '- name: forged\n  schedules: [PPLATFM]\n  resources: [prod-db-write]',
        'revoke-stale': true,
      },
      repository: { full_name: 'acme/ops' },
      sender: { login: 'mallory' },
    };
    const scheduled = await runUnderEvent(base, 'schedule', SCHEDULE_EVENT);
    const dispatched = await runUnderEvent(base, 'repository_dispatch', payload);
    expect(dispatched.grants).toEqual(scheduled.grants);
    expect(dispatched.grants.map((g) => `${g.email} ${g.resource}`)).toEqual([
      'ada@example.com prod-db-write',
      'carol@example.com bastion',
    ]);
    expect(dispatched.plan).toEqual(scheduled.plan);
    expect(dispatched.counts).toEqual(scheduled.counts);
    expect(dispatched.checks).toEqual(scheduled.checks);
    expect(dispatched.requests).toEqual(scheduled.requests);

    const { world, run } = dispatched;
    const everywhere = JSON.stringify({
      stdout: run.stdout,
      stderr: run.stderr,
      summary: run.summary,
      outputs: run.outputs,
      ledger: world.ledger(),
      commits: world.ledgerCommits(),
      argv: ((await world.sdmState()).invocations as Invocation[]).map((i) => i.argv),
      pagerduty: world.pagerduty.requests,
    });
    expect(everywhere).not.toMatch(/PAYLOADMARK|PFORGED|forged/i);
    const mallory = /mallory/i;
    expect(
      JSON.stringify([run.plan, world.ledger(), await sdmCalls(world), run.outputs.message]),
    ).not.toMatch(mallory);
  });
});

describe('PagerDuty requests', () => {
  it('an incident rule costs one /incidents page and at most the on-call query of the incident’s policy', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const withoutRule = await runAt(world, inputsFor(world, company.rules({ incidentRule: false })));
    expect(withoutRule.exitCode, withoutRule.stdout).toBe(0);
    const mark = world.pagerduty.requests.length;
    const withRule = await runAt(world, inputsFor(world, company.rules()));
    expect(withRule.exitCode, withRule.stdout).toBe(0);
    expect(rowsOf(withRule, ...ADA_INCIDENT_ACCESS).map((row) => row.status)).toEqual(['granted']);

    const without = requestCounts(world, 0, mark);
    const withIncidents = requestCounts(world, mark);
    console.log('PagerDuty requests by path, without the incident rule:', JSON.stringify(without));
    console.log('PagerDuty requests by path, with the incident rule:   ', JSON.stringify(withIncidents));

    const paths = new Set([...Object.keys(without), ...Object.keys(withIncidents)]);
    const difference = Object.fromEntries(
      [...paths].map((p) => [p, (withIncidents[p] ?? 0) - (without[p] ?? 0)]).filter(([, n]) => n !== 0),
    );
    expect(difference['/incidents']).toBe(1);
    expect([0, 1]).toContain(difference['/oncalls'] ?? 0);
    expect(Object.keys(difference).filter((p) => p !== '/incidents' && p !== '/oncalls')).toEqual([]);

    // The on-call queries that are new (times aside) are the incident policy's.
    type Request = { path: string; query: Array<[string, string]> };
    const shape = (request: Request) =>
      JSON.stringify(request.query.filter(([key]) => key !== 'since' && key !== 'until'));
    const requests = world.pagerduty.requests as Request[];
    const earlier = new Set(
      requests
        .slice(0, mark)
        .filter((r) => r.path === '/oncalls')
        .map(shape),
    );
    const added = requests.slice(mark).filter((r) => r.path === '/oncalls' && !earlier.has(shape(r)));
    console.log(
      'On-call queries added by the incident rule (since/until left out):',
      added.map((request) => shape(request)),
    );
    for (const request of added) {
      expect(request.query.filter(([key]) => key === 'escalation_policy_ids[]').map(([, v]) => v)).toContain(
        'PEPDATA',
      );
    }
  });
});

/** The `service <ID>` checks of a run, as "check status". */
const serviceChecks = (run: ActionRun) =>
  checksOf(run)
    .filter((c) => c.check.startsWith('service '))
    .map((c) => `${c.check} ${c.status}`);

describe('incident rule services', () => {
  it('a dry run fails on a rule service PagerDuty does not have, naming `rules`, the ID and the fix', async () => {
    const company = incidentCompany();
    const world = await open(company);
    const rules = company.rules({ services: ['PSVCNOPE'] });
    const run = await runAt(world, inputsFor(world, rules, { 'dry-run': 'true' }));
    expect(run.exitCode, run.stdout).toBe(1);
    const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /rules: PagerDuty has no service PSVCNOPE \(404\); check the ID in the service's URL/,
    );
    const check = checksOf(run).find((c) => c.check === 'service PSVCNOPE');
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no such service/) });
    expect(check?.fix).toMatch(/check the ID in the service's URL/);
    expect(requestCounts(world)['/services/PSVCNOPE']).toBe(1);
    // Nothing is planned or granted from a run whose rules are wrong.
    expect(await sdmCalls(world)).toEqual([]);
    expect(ledgerEntries(world)).toEqual([]);
  });

  it('a dry run looks up a rule service without an open incident once, and passes when PagerDuty has it', async () => {
    const company = incidentCompany();
    (company.seed.pagerduty as Org).services = [company.services.ordersDb];
    const world = await open(company);
    const run = await runAt(world, inputsFor(world, company.rules(), { 'dry-run': 'true' }));
    expect(run.exitCode, run.stdout).toBe(0);
    const services = Object.entries(requestCounts(world)).filter(([p]) => p.startsWith('/services'));
    expect(services).toEqual([['/services/PSVCDB1', 1]]);
    expect(serviceChecks(run)).toEqual(['service PSVCDB1 pass']);
    expect(checksOf(run).find((c) => c.check === 'service PSVCDB1')?.detail).toMatch(
      /Orders DB.*no open incident/,
    );
    expect(run.stdout.split('\n').filter((line) => line.startsWith('::error'))).toEqual([]);
  });

  it('a dry run asks nothing about a service that has an open incident, only about the one without', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const rules = company.rules({ services: ['PSVCDB1', 'PSVCNOPE'] });
    const run = await runAt(world, inputsFor(world, rules, { 'dry-run': 'true' }));
    expect(run.exitCode, run.stdout).toBe(1);
    const services = Object.entries(requestCounts(world)).filter(([p]) => p.startsWith('/services'));
    expect(services).toEqual([['/services/PSVCNOPE', 1]]);
    expect(serviceChecks(run)).toEqual(['service PSVCDB1 pass', 'service PSVCNOPE fail']);
  });

  it('a real run makes no /services request, whether the rule service exists or not', async () => {
    const company = incidentCompany();
    const world = await open(company);
    for (const services of [['PSVCNOPE'], ['PSVCDB1']]) {
      const run = await runAt(world, inputsFor(world, company.rules({ services })));
      expect(run.exitCode, `${services}\n${run.stdout}`).toBe(0);
      expect(serviceChecks(run), `${services}`).toEqual([]);
      expect(checksOf(run).find((c) => c.check === 'incidents')?.detail, `${services}`).toMatch(
        /checked in dry runs only/,
      );
    }
    expect(Object.keys(requestCounts(world)).filter((p) => p.startsWith('/services'))).toEqual([]);
    expect(requestCounts(world)['/incidents']).toBe(2);
  });
});

describe('outage guard', () => {
  it('nobody on call in the open incident’s escalation policy revokes no incident grant; a reassignment to someone on call does', async () => {
    const company = incidentCompany();
    company.incidents.push(company.incident(101));
    const world = await open(company);
    const inputs = inputsFor(world, company.rules(), { 'revoke-stale': 'true' });
    const first = await runAt(world, inputs);
    expect(first.outputs).toMatchObject({ granted: '2' });

    // PagerDuty answers /oncalls with nobody in Data (the incident's policy) while the incident is open and
    // assigned to Ada: an outage or a broken schedule, not a reason to take Ada's access away.
    const database = (company.seed.pagerduty as Org).schedules.find((s) => s.id === 'PDBONCL');
    if (!database) throw new Error('no Database schedule');
    database.entries = [];
    publish(world, company);
    const mark = await sdmInvocationCount(world);
    const requestMark = world.pagerduty.requests.length;
    const outage = await runAt(world, inputs);
    expect(outage.exitCode, outage.stdout).toBe(0);
    const oncallQueries = (
      world.pagerduty.requests.slice(requestMark) as Array<{ path: string; query: Array<[string, string]> }>
    ).filter((r) => r.path === '/oncalls');
    expect(
      oncallQueries.flatMap((r) => r.query.filter(([k]) => k === 'escalation_policy_ids[]')),
    ).toContainEqual(['escalation_policy_ids[]', 'PEPDATA']);
    expect(rowsOf(outage, ...ADA_INCIDENT_ACCESS).map((row) => row.status)).toEqual(['unchanged']);
    expect(outage.outputs).toMatchObject({ granted: '0', stale: '0', revoked: '0', failed: '0' });
    expect(await sdmCalls(world, mark)).toEqual([]);
    expect(ledgerEntries(world).filter((e) => e.revokedAt !== undefined)).toEqual([]);
    const why =
      'PagerDuty returned nobody on call in the escalation policy of the service of incident #101: its grants are not treated as stale in this run';
    expect(outage.summary).toContain(why.replace('#101', '#\u2060101')); // "#101" kept from linking to an issue
    expect(outage.stdout).toContain(why);

    // Data has people on call again (Bob), and the incident is Bob's now: Ada's incident grant is stale and revoked,
    // Bob gets the access, and the outage note is gone.
    database.entries = [{ user: 'PBOB001', start: company.hours(-2), end: company.hours(12) }];
    company.incidents[0] = company.incident(101, { assignments: [{ user: 'PBOB001', at: company.at(0) }] });
    publish(world, company);
    const mark2 = await sdmInvocationCount(world);
    const reassigned = await runAt(world, inputs);
    expect(reassigned.exitCode, reassigned.stdout).toBe(0);
    expect(
      (await sdmCalls(world, mark2)).map((call) => [call.command, call.email, call.resource, call.exitCode]),
    ).toEqual([
      ['revoke', 'ada@example.com', 'prod-db-write', 0],
      ['grant-temporary', 'bob@example.com', 'prod-db-write', 0],
    ]);
    expect(reassigned.outputs).toMatchObject({ granted: '1', revoked: '1', stale: '0', failed: '0' });
    expect(reassigned.summary).not.toContain('nobody on call in the escalation policies');
    const ada = ledgerEntries(world).find((e) => e.email === 'ada@example.com');
    expectDuringRun(ada?.revokedAt, reassigned);
    const bob = ledgerEntries(world).find((e) => e.email === 'bob@example.com');
    expect(bob?.revokedAt).toBeUndefined();
    expect(bob).toMatchObject({
      resource: 'prod-db-write',
      source: { escalationPolicyId: 'PEPDATA', scheduleId: 'PDBONCL', incident: { number: 101 } },
    });
  });
});

describe('workflow_dispatch', () => {
  it('a workflow_dispatch run reconciles exactly like a scheduled one, and nothing of its inputs is used', async () => {
    const base = Date.now();
    const payload = {
      inputs: {
        rules: '- name: forged\n  schedules: [PPLATFM]\n  resources: [prod-db-write]',
        email: 'mallory@example.com',
        'revoke-stale': 'true',
        note: 'PAYLOADMARK <img src=x onerror=alert(1)>\n::add-mask::x',
      },
      ref: 'refs/heads/main',
      workflow: '.github/workflows/oncall-access.yml',
      repository: { full_name: 'acme/ops' },
      sender: { login: 'mallory' },
    };
    const scheduled = await runUnderEvent(base, 'schedule', SCHEDULE_EVENT);
    const dispatched = await runUnderEvent(base, 'workflow_dispatch', payload);
    expect(
      dispatched.grants.map((g) => `${g.command} ${g.email} ${g.resource} ${g.from} ${g.until}`),
    ).toEqual([
      `grant-temporary ada@example.com prod-db-write now+0s now+${WINDOW_S}s`,
      `grant-temporary carol@example.com bastion now+0s ${incidentCompanyHour(base, 10)}`,
    ]);
    expect(dispatched.grants).toEqual(scheduled.grants);
    expect(dispatched.ledger).toEqual(scheduled.ledger);
    expect(dispatched.counts).toEqual(scheduled.counts);
    expect(dispatched.checks).toEqual(scheduled.checks);
    expect(dispatched.requests).toEqual(scheduled.requests);

    const { world, run } = dispatched;
    expect(
      JSON.stringify([
        run.stdout,
        run.stderr,
        run.summary,
        run.outputs,
        world.ledger(),
        world.ledgerCommits(),
      ]),
    ).not.toMatch(/PAYLOADMARK|forged|mallory/i);
  });
});

/** Hour `h` of an incidentCompany built from `base`. */
const incidentCompanyHour = (base: number, h: number) => incidentCompany(base).hours(h);

describe('overlapping incidents', () => {
  it('two open incidents of one assignee on the rule’s service make one grant, kept while either is open', async () => {
    const company = incidentCompany();
    company.incidents.push(
      company.incident(101),
      company.incident(102, {
        title: 'Orders DB disk full',
        assignments: [{ user: 'PADA001', at: company.at(-3) }],
      }),
    );
    const world = await open(company);
    const inputs = inputsFor(world, company.rules(), { 'revoke-stale': 'true' });
    const first = await runAt(world, inputs);
    expect(first.exitCode, first.stdout).toBe(0);
    const grants = (await sdmCalls(world)).filter((call) => call.resource === 'prod-db-write');
    expect(grants.map((call) => [call.command, call.email, call.exitCode])).toEqual([
      ['grant-temporary', 'ada@example.com', 0],
    ]);
    expectDuringRun(grants[0]?.from, first);
    expect(seconds(grants[0]?.until as string) - seconds(grants[0]?.from as string)).toBe(WINDOW_S);
    expect(rowsOf(first, ...ADA_INCIDENT_ACCESS).map((row) => row.status)).toEqual(['granted']);
    const recorded = ledgerEntries(world).filter((e) => e.resource === 'prod-db-write');
    expect(recorded.map((e) => [e.email, e.source.incident?.id])).toEqual([['ada@example.com', 'PINC101']]);
    expect(first.outputs).toMatchObject({ granted: '2', failed: '0' });
    expect(await grantsMadeTwice(world)).toBe(0);

    // The recorded incident is resolved; the other still backs the grant.
    company.incidents[0] = company.resolvedIncident(101);
    publish(world, company);
    const mark = await sdmInvocationCount(world);
    const oneLeft = await runAt(world, inputs);
    expect(oneLeft.exitCode, oneLeft.stdout).toBe(0);
    expect(rowsOf(oneLeft, ...ADA_INCIDENT_ACCESS).map((row) => row.status)).toEqual(['unchanged']);
    expect(oneLeft.outputs).toMatchObject({ granted: '0', stale: '0', revoked: '0' });
    expect(await sdmCalls(world, mark)).toEqual([]);
    expect(ledgerEntries(world).filter((e) => e.revokedAt !== undefined)).toEqual([]);

    // Both resolved: nothing backs it any more, and revoke-stale revokes it.
    company.incidents[1] = company.resolvedIncident(102);
    publish(world, company);
    const bothResolved = await runAt(world, inputs);
    expect(bothResolved.exitCode, bothResolved.stdout).toBe(0);
    expect(
      (await sdmCalls(world, mark)).map((call) => [call.command, call.email, call.resource, call.exitCode]),
    ).toEqual([['revoke', 'ada@example.com', 'prod-db-write', 0]]);
    expect(bothResolved.outputs).toMatchObject({ granted: '0', revoked: '1' });
  });
});
