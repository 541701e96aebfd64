// End to end: the committed dist/index.js under Node 24, as the runner starts it, against loopback fakes.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowCommands } from '../fakes/runner.mjs';
import {
  GITHUB_TOKEN,
  PD_TOKEN,
  runChecked,
  secretLeaks,
  SDM_TOKEN,
  seconds,
  sortGrants,
  worlds,
  type Grant,
  type Invocation,
  isHelp,
} from './harness.js';
import { bigOrg, usedScheduleIdsOf } from '../fakes/orgs.mjs';
import { HOSTILE_NAME, smallCompany } from './scenario.js';

const { start, startSeed } = worlds();

describe('a scheduled run', () => {
  it('grants every on-call window exactly once, and reports it', async () => {
    const { world, company, inputs } = await start();
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);

    // The exact grants, in the fake's state.
    const grants = sortGrants((await world.sdmState()).grants as Grant[]);
    const expected = company.expectedGrants.flatMap((g) =>
      company.resourceNames.map((resource) => ({ ...g, resource })),
    );
    expect(grants).toHaveLength(expected.length);
    for (const want of expected) {
      const got = grants.filter(
        (g) =>
          g.email === want.email &&
          g.resource === want.resource &&
          (want.from === 'now' || g.startFrom === want.from),
      );
      expect(got, `${want.email} ${want.resource} ${want.from}`).toHaveLength(1);
      const [grant] = got as [ReturnType<typeof sortGrants>[number]];
      if (want.from === 'now') {
        // Clamped to the moment the action ran, whole seconds.
        expect(seconds(grant.startFrom)).toBeGreaterThanOrEqual(run.startedAt - 1);
        expect(seconds(grant.startFrom)).toBeLessThanOrEqual(run.endedAt);
      }
      if (want.until === 'now+7d')
        expect(seconds(grant.validUntil) - seconds(grant.startFrom)).toBe(7 * 24 * 3600);
      else expect(grant.validUntil).toBe(want.until);
    }
    expect(grants.some((g) => g.email.startsWith('zed'))).toBe(false); // schedule not asked for

    // Outputs.
    expect(run.outputs).toMatchObject({ granted: '16', skipped: '2', failed: '0', 'sdm-version': '46.0.0' });
    const plan = run.plan;
    expect(plan).toHaveLength(18);
    const erin = plan.filter((row) => row.name === company.missing.name);
    expect(erin).toHaveLength(2);
    for (const row of erin) {
      expect(row).toMatchObject({
        status: 'skipped',
        from: company.missing.from,
        until: company.missing.until,
      });
      expect(row.reason).toMatch(/no strongDM user/);
    }
    expect(plan.find((row) => row.name === 'Dan Lead')).toMatchObject({
      scheduleId: null,
      escalationLevel: 3,
    });
    expect(plan.find((row) => row.name === 'Carol Shaw')).toMatchObject({
      escalationLevel: 1,
      scheduleId: 'PDBONCL',
    });
    expect(plan.map((row) => Date.parse(row.from as string))).toEqual(
      [...plan.map((row) => Date.parse(row.from as string))].sort((a, b) => a - b),
    );

    // Summary: heading, totals, a group per status, a row per plan row, untrusted text escaped.
    expect(run.summary).toMatch(/^## On-call access\n/);
    expect(run.summary).toContain('**16 granted, 2 skipped, 0 failed**');
    expect(run.summary.split('\n').filter((line) => line.startsWith('### '))).toEqual([
      expect.stringMatching(/^### \S+ 16 granted: /),
      expect.stringMatching(/^### \S+ 2 skipped: /),
    ]);
    expect(run.summary.split('\n').filter((line) => /^\| (?!Person \||--- \|)/.test(line))).toHaveLength(18);
    expect(run.summary).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(run.summary).not.toContain(HOSTILE_NAME);

    // Step log: the same table, and one warning annotation for the missing person.
    expect(run.stdout).toMatch(/^\| Status +\| Person +\| Email +\| Schedule/m);
    expect(run.stdout.match(/^::warning::Erin Missing/gm)).toHaveLength(1);
    expect(run.stdout).toContain('::add-mask::' + PD_TOKEN);
    expect(run.stdout).toContain('::add-mask::' + SDM_TOKEN);

    // PagerDuty: one paged /oncalls request, and one /users lookup for the one user whose email was not included.
    const paths = world.pagerduty.requests.map((r: { path: string }) => r.path);
    expect(paths.filter((p: string) => p === '/oncalls')).toHaveLength(1);
    expect(paths.filter((p: string) => p.startsWith('/users/'))).toEqual(['/users/PCAROL1']);
    const oncallQuery = world.pagerduty.requests[0]?.query as Array<[string, string]>;
    expect(oncallQuery.filter(([k]) => k === 'schedule_ids[]').map(([, v]) => v)).toEqual([
      'PPRIMAR',
      'PDBONCL',
      'PSECOND',
      'null',
    ]);
    expect(oncallQuery).toContainEqual(['include[]', 'users']);

    // sdm: the resource lists and one users list, then one grant per window and resource, nothing else.
    const invocations = (await world.sdmState()).invocations as Invocation[];
    expect(invocations.filter((i) => i.argv.join(' ') === 'admin users list --json')).toHaveLength(1);
    expect(invocations.filter((i) => i.argv[2] === 'grant-temporary' && !isHelp(i))).toHaveLength(16);
    expect(invocations.filter((i) => i.argv[2] === 'list' && i.argv[1] !== 'users')).toHaveLength(3); // resource names
    expect(invocations.filter(isHelp)).toHaveLength(2); // grant-temporary's flags, and whether revoke exists
    expect(invocations).toHaveLength(22);
  });

  it('reuses the cached sdm on a second run, and a pinned cached version needs no network at all', async () => {
    const { world, inputs } = await start();
    expect((await runChecked(world, inputs)).exitCode).toBe(0);
    expect(world.downloads.counts).toMatchObject({ latest: 1, zip: 1 });

    const second = await runChecked(world, { ...inputs, 'dry-run': 'true' });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('sdm 46.0.0 found in the tool cache');
    expect(world.downloads.counts).toMatchObject({ latest: 2, zip: 1 }); // resolved "latest" again, downloaded nothing

    const pinned = await runChecked(world, { ...inputs, 'dry-run': 'true', 'sdm-version': '46.0.0' });
    expect(pinned.exitCode).toBe(0);
    expect(world.downloads.counts).toMatchObject({ latest: 2, zip: 1, upgrade: 0 });
  });

  it('downloads an exact version through the version endpoint and verifies sdm-sha256', async () => {
    const { world, inputs } = await start();
    await world.downloads.addVersion('45.9.1');
    const build = world.downloads.builds.get('45.9.1') as { sha256: string };
    const run = await runChecked(world, {
      ...inputs,
      'sdm-version': '45.9.1',
      'sdm-sha256': build.sha256.toUpperCase(),
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs['sdm-version']).toBe('45.9.1');
    expect(world.downloads.counts).toMatchObject({ upgrade: 1, latest: 0, zip: 1 });
    expect(run.stdout).toContain(`(SHA-256 ${build.sha256}, verified) and cached`);
  });
});

describe('hostile PagerDuty data', () => {
  it('names cannot start workflow commands in the step log, in either syntax', async () => {
    const company = smallCompany();
    const users = (company.seed.pagerduty as { users: Array<{ id: string; name: string }> }).users;
    const rename = (id: string, name: string) =>
      Object.assign(users.find((u) => u.id === id) as object, { name });
    rename('PMALLO1', '##[add-mask]example.com ##[set-output name=granted;]999');
    rename('PERIN01', '##[error]fake ::stop-commands::x');
    rename('PADA001', '::error::pwned');
    const { world, inputs } = await start(company);
    const run = await runChecked(world, inputs);
    expect(run.exitCode, run.stdout).toBe(0);
    const commands = workflowCommands(run.stdout);
    expect(commands.filter((c) => c.name === 'add-mask').map((c) => c.line)).toEqual([
      `::add-mask::${PD_TOKEN}`,
      `::add-mask::${SDM_TOKEN}`,
      `::add-mask::${GITHUB_TOKEN}`,
    ]);
    expect(
      commands
        .map((c) => c.name)
        .filter(
          (name) =>
            ![
              'add-mask',
              'group',
              'endgroup',
              'debug',
              'warning',
              'stop-commands',
              'resume-commands',
            ].includes(name),
        ),
    ).toEqual([]);
    expect(commands.filter((c) => c.name === 'warning')).toHaveLength(1); // Erin, whose name is data inside it
    expect(run.outputs.granted).toBe('16');
    // The table is still in the log for people to read.
    expect(run.stdout).toMatch(/^\| granted +\| ::error::pwned +\| ada@example\.com/m);
  });
});

describe('dry runs change nothing', () => {
  it('with an admin token: checks accounts, reports would-grant, runs no grant', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'dry-run': 'true' });
    expect(run.exitCode).toBe(0);
    const state = await world.sdmState();
    expect(state.grants).toEqual([]);
    // read concurrently, so in any order
    expect((state.invocations as Invocation[]).map((i) => i.argv.join(' ')).sort()).toEqual([
      'admin clusters list --json',
      'admin datasources list --json',
      'admin servers list --json',
      'admin users --help',
      'admin users grant-temporary --help',
      'admin users list --json',
    ]);
    expect(run.plan.filter((row) => row.status === 'would-grant')).toHaveLength(16);
    expect(run.plan.filter((row) => row.status === 'skipped')).toHaveLength(2);
    expect(run.outputs).toMatchObject({ granted: '0', skipped: '2', failed: '0' });
    expect(run.summary).toMatch(/^## On-call access \(dry run: nothing changed\)/);
    expect(run.summary).toContain('**16 would-grant, 2 skipped, 0 failed**');
  });

  it('without an admin token: downloads nothing, checks no accounts, and says so', async () => {
    const { world, inputs } = await start();
    const { 'sdm-admin-token': _, ...withoutToken } = inputs; // the workflow sets no token at all
    const run = await runChecked(world, { ...withoutToken, 'dry-run': 'true' });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(world.downloads.requests).toEqual([]);
    expect((await world.sdmState()).invocations).toEqual([]);
    expect(run.plan.filter((row) => row.status === 'would-grant')).toHaveLength(18);
    expect(run.summary).toContain('strongDM accounts and resource names were not checked');
  });
});

describe('failures are reported, not hidden', () => {
  it('fail-on: never keeps the step green; fail-on: missing-user fails it for a person without an account', async () => {
    const company = smallCompany();
    company.seed.strongdm.faults = [
      { command: 'grant-temporary', email: 'ada@example.com', action: 'fail', times: 2 },
    ];
    const { world, inputs } = await start(company);
    const never = await runChecked(world, { ...inputs, 'fail-on': 'never' });
    expect(never.exitCode).toBe(0);
    expect(never.outputs.failed).toBe('2');

    const missing = await runChecked(world, { ...inputs, 'dry-run': 'true', 'fail-on': 'missing-user' });
    expect(missing.exitCode).toBe(1);
    expect(missing.stdout).toMatch(/^::error::1 on-call people get no access \(fail-on: missing-user\)/m);
  });

  it('a wrong PagerDuty token fails clearly before sdm is touched', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, { ...inputs, 'pagerduty-token': 'wrong-token' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^::error::PagerDuty rejected pagerduty-token \(401/m);
    expect(world.downloads.requests).toEqual([]);
    expect((await world.sdmState()).invocations).toEqual([]);
    expect(await secretLeaks(world, run, ['wrong-token'])).toEqual([]);
  });

  it('an unreachable PagerDuty is retried, then fails the step clearly', async () => {
    const { world, inputs } = await start();
    const closedPort = world.pagerduty.url;
    await world.pagerduty.close(); // nothing listens there any more
    const run = await runChecked(world, { ...inputs, 'pagerduty-api-url': closedPort, 'time-budget': '10s' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::PagerDuty at http:\/\/127\.0\.0\.1:\d+ did not answer \/oncalls successfully (after \d attempts|within time-budget); last: .*ECONNREFUSED/m,
    );
    expect(world.downloads.requests).toEqual([]);
  });

  it('a redirect from the download site to plain http is refused before anything is fetched from it', async () => {
    const { world, inputs } = await start();
    world.downloads.faults.push({
      path: '/releases/cli/linux',
      status: 307,
      headers: { location: 'http://downloads.example.invalid/sdm-cli/sdmcli_46.0.0_linux_amd64.zip' },
    });
    const run = await runChecked(world, inputs);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::the sdm download redirected to http:\/\/downloads\.example\.invalid\/.*, which is not https; refusing it/m,
    );
    expect((await world.sdmState()).invocations).toEqual([]);
  });

  it('with sdm-sha256 pinned, a tampered binary in the tool cache never runs', async () => {
    const { world, inputs } = await start();
    const pinned = { ...inputs, 'dry-run': 'true', 'sdm-sha256': world.downloads.sha256 };
    expect((await runChecked(world, pinned)).exitCode).toBe(0);
    // An earlier step of the job replaces the cached binary with one that steals the admin token.
    const cached = path.join(world.toolCache, 'sdm', '46.0.0', 'x64', 'sdm');
    const stolen = path.join(world.dir, 'stolen');
    await writeFile(cached, `#!/bin/sh\necho "$SDM_ADMIN_TOKEN" > '${stolen}'\nexit 1\n`, { mode: 0o755 });

    const run = await runChecked(world, pinned);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.stdout).toContain('sdm 46.0.0 found in the tool cache; its zip matches sdm-sha256');
    expect(existsSync(stolen)).toBe(false);
    expect(world.downloads.counts.zip).toBe(1);
    expect(run.plan.filter((row) => row.status === 'would-grant')).toHaveLength(16); // accounts were checked
  });

  it('bad inputs are all named before anything runs', async () => {
    const { world, inputs } = await start();
    const run = await runChecked(world, {
      ...inputs,
      lookahead: '100d',
      'schedule-ids': 'PPRIMAR, not valid',
      concurrency: 'lots',
    });
    expect(run.exitCode).toBe(1);
    for (const name of ['lookahead', 'schedule-ids', 'concurrency'])
      expect(run.stdout).toContain(`%0A- ${name}`);
    expect(world.pagerduty.requests).toEqual([]);
    expect(world.downloads.requests).toEqual([]);
  });
});

describe('a large organisation', () => {
  it("pages through more than 100 on-call rows and grants exactly the union of each person's shifts", async () => {
    const org = bigOrg(new Date());
    const world = await startSeed(org);
    const run = await runChecked(world, {
      ...world.baseInputs(),
      'schedule-ids': [...usedScheduleIdsOf(org.pagerduty), 'null'].join(','),
      resources: 'prod-postgres',
      'max-new-grants': '500', // a big first run is intended here
    });
    expect(run.exitCode, run.stdout).toBe(0);

    // Replay the action's own /oncalls requests to see exactly the rows it was given.
    const oncallRequests = world.pagerduty.requests.filter((r: { path: string }) => r.path === '/oncalls');
    const rows: Array<{ user: { email: string }; start: string | null; end: string | null }> = [];
    for (const request of oncallRequests) {
      const response = await fetch(`${world.pagerduty.url}/oncalls?${new URLSearchParams(request.query)}`, {
        headers: { authorization: `Token token=${PD_TOKEN}` },
      });
      rows.push(...((await response.json()) as { oncalls: typeof rows }).oncalls);
    }
    expect(rows.length).toBe(org.facts.expectedRowsNext24h);
    expect(rows.length).toBeGreaterThan(100);
    expect(oncallRequests).toHaveLength(Math.ceil(rows.length / 100));
    expect(world.pagerduty.requests.filter((r: { path: string }) => r.path.startsWith('/users/'))).toEqual(
      [],
    );

    const query = new URLSearchParams(oncallRequests[0]?.query);
    const since = Math.floor(Date.parse(query.get('since') as string) / 1000);

    const shifts = new Map<string, Array<[number, number]>>();
    for (const row of rows) {
      const from = Math.max(row.start ? seconds(row.start) : since, since);
      const to = row.end ? seconds(row.end) : since + 7 * 24 * 3600; // open-ended: max-grant-duration
      shifts.set(row.user.email, [...(shifts.get(row.user.email) ?? []), [from, to]]);
    }
    const grants = new Map<string, Array<[number, number]>>();
    for (const grant of (await world.sdmState()).grants as Grant[]) {
      const email = grant.email.toLowerCase();
      grants.set(email, [
        ...(grants.get(email) ?? []),
        [seconds(grant.startFrom), seconds(grant.validUntil)],
      ]);
    }
    expect([...grants.keys()].sort()).toEqual([...shifts.keys()].sort());
    for (const [email, personShifts] of shifts) {
      // The grants are the union of the shifts: the same intervals, none overlapping or touching another.
      expect(union(grants.get(email) ?? []), email).toEqual(union(personShifts));
      expect((grants.get(email) ?? []).length, email).toBe(union(personShifts).length);
    }
    expect(run.outputs.granted).toBe(String([...grants.values()].flat().length));
  });
});

/** Sorted union of intervals; touching intervals join. */
function union(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}
