// Fault injection, end to end: each scenario switches on one fault in a fake and checks the same invariants
// (test/e2e/invariants.ts). The suite's tally is printed after the run by test/faults-reporter.ts.
import { describe, it, expect } from 'vitest';
import {
  GITHUB_TOKEN,
  PD_TOKEN,
  runChecked,
  worlds,
  type ActionRun,
  type Invocation,
  isHelp,
} from './harness.js';
import { ledgerAndStrongdm, runScenario } from './invariants.js';
import { smallCompany } from './scenario.js';

const { start } = worlds({ 'request-timeout': '2s', 'sdm-timeout': '3s' });

const errorLine = (run: ActionRun) => /^::error::(.*)$/m.exec(run.stdout)?.[1] ?? '';

describe('PagerDuty faults', () => {
  it('429 with ratelimit-reset is waited out', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({
      path: '/oncalls',
      status: 429,
      headers: { 'ratelimit-reset': '1' },
      body: { error: { message: 'Rate Limit Exceeded', code: 2020 } },
      times: 2,
    });
    const run = await runScenario(task, world, inputs, 0);
    expect(run.stdout).toMatch(/PagerDuty \/oncalls: HTTP 429 .*trying again in 1 s/);
    expect(run.outputs.granted).toBe('16');
  });

  it('429 without headers or body backs off and succeeds', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({ path: '/oncalls', status: 429 });
    const run = await runScenario(task, world, inputs, 0);
    expect(run.outputs.granted).toBe('16');
  });

  it('503, then success', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({ path: '/oncalls', status: 503, body: 'upstream unavailable', times: 2 });
    const run = await runScenario(task, world, inputs, 0);
    expect(run.pagerdutyPaths.filter((p) => p === '/oncalls')).toHaveLength(3);
    expect(run.outputs.granted).toBe('16');
  });

  it('a hung response times out and is retried', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({ path: '/oncalls', action: 'hang' });
    const run = await runScenario(task, world, inputs, 0);
    expect(run.stdout).toMatch(/PagerDuty \/oncalls: .*(timeout|Timeout).*trying again/);
  });

  it('a truncated body and a body that is not JSON are retried', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({ path: '/oncalls', action: 'truncate' });
    world.pagerduty.faults.push({ path: '/oncalls', status: 200, body: '<html>proxy error</html>' });
    const run = await runScenario(task, world, inputs, 0);
    expect(run.stdout).toContain('body is not JSON');
    expect(run.outputs.granted).toBe('16');
  });

  it('PagerDuty down for the whole time budget fails the step clearly and changes nothing', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({ path: '/oncalls', status: 502, times: 100 });
    const run = await runScenario(task, world, { ...inputs, 'time-budget': '10s' }, 1);
    expect(errorLine(run)).toMatch(/did not answer \/oncalls successfully .*HTTP 502/);
    expect((await world.sdmState()).invocations).toEqual([]);
  });

  it('401, 403 and an unknown schedule are not retried and say what to fix', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({ path: '/oncalls', status: 401, body: 'Unauthorized' });
    const unauthorized = await runChecked(world, inputs);
    expect(errorLine(unauthorized)).toMatch(/^PagerDuty rejected pagerduty-token \(401: Unauthorized\)/);
    world.pagerduty.faults.push({
      path: '/oncalls',
      status: 403,
      body: { error: { message: 'Access Denied', code: 2010 } },
    });
    const forbidden = await runChecked(world, inputs);
    expect(errorLine(forbidden)).toMatch(
      /^pagerduty-token is not allowed to read \/oncalls \(403: Access Denied, code 2010\); it needs oncalls.read/,
    );
    expect(world.pagerduty.requests.filter((r: { path: string }) => r.path === '/oncalls')).toHaveLength(2); // no retries
    const unknown = await runScenario(task, world, { ...inputs, 'schedule-ids': 'PPRIMAR, PNOSUCH' }, 1);
    expect(errorLine(unknown)).toMatch(/schedule-ids: PagerDuty has no schedule PNOSUCH \(404\)/);
    expect(
      (await world.sdmState()).invocations.filter(
        (i: Invocation) => i.argv[2] === 'grant-temporary' && !isHelp(i),
      ),
    ).toEqual([]);
  });
});

describe('sdm download faults', () => {
  it('404 stops the run with one clear message and runs nothing', async ({ task }) => {
    const { world, inputs } = await start();
    world.downloads.faults.push({ path: '/builds/', status: 404, times: 1 });
    const run = await runScenario(task, world, inputs, 1);
    expect(errorLine(run)).toMatch(
      /^downloading sdm from http:\/\/127\.0\.0\.1:\d+\/builds\/.* failed with HTTP 404; check sdm-download-url and sdm-version/,
    );
    expect(run.stdout.match(/^::error::/gm)).toHaveLength(1);
    expect((await world.sdmState()).invocations).toEqual([]);
  });

  it('503 twice, then the download succeeds', async ({ task }) => {
    const { world, inputs } = await start();
    world.downloads.faults.push({ path: '/builds/', status: 503, times: 2 });
    const run = await runScenario(task, world, inputs, 0);
    expect(world.downloads.counts.zip).toBe(3);
    expect(run.outputs.granted).toBe('16');
  });

  it('503 for good fails after retries', async ({ task }) => {
    const { world, inputs } = await start();
    world.downloads.faults.push({ path: '/builds/', status: 503, times: 100 });
    const run = await runScenario(task, world, { ...inputs, 'time-budget': '10s' }, 1);
    expect(errorLine(run)).toMatch(/failed with HTTP 503 after retries/);
  });

  it('a corrupt zip is refused by the published checksum, and without any checksum it fails to unzip; neither is cached', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    world.downloads.corruptZip = true;
    const checked = await runChecked(world, inputs);
    expect(errorLine(checked)).toMatch(/not the one strongDM publishes/);
    const unchecked = await runScenario(task, world, { ...inputs, 'sdm-checksum-url': 'none' }, 1);
    expect(errorLine(unchecked)).toMatch(/the sdm 46\.0\.0 zip could not be unzipped/);
    world.downloads.corruptZip = false;
    const healed = await runChecked(world, inputs);
    expect(healed.exitCode).toBe(0);
    expect(world.downloads.counts.zip).toBe(3); // nothing broken was cached
  });

  it('a zip that does not match sdm-sha256 is refused, runs nothing and is not cached', async ({ task }) => {
    const { world, inputs } = await start();
    const run = await runScenario(task, world, { ...inputs, 'sdm-sha256': 'f'.repeat(64) }, 1);
    expect(errorLine(run)).toMatch(
      /^the downloaded sdm 46\.0\.0 zip has SHA-256 [0-9a-f]{64}, not the sdm-sha256 given/,
    );
    expect((await world.sdmState()).invocations).toEqual([]);

    const retry = await runChecked(world, { ...inputs, 'sdm-sha256': world.downloads.sha256 });
    expect(retry.exitCode).toBe(0);
    expect(world.downloads.counts.zip).toBe(2); // the refused zip was not cached
  });
});

describe('sdm command faults', () => {
  it('a grant that hangs is killed after sdm-timeout, reported, and granted by the next run', async ({
    task,
  }) => {
    const company = smallCompany();
    company.seed.strongdm.faults = [
      { command: 'grant-temporary', email: 'frank@example.com', resource: 'bastion', action: 'hang' },
    ];
    const { world, inputs } = await start(company);
    const run = await runScenario(task, world, inputs, 1);
    const hung = run.plan.find((row) => row.email === 'frank@example.com' && row.resource === 'bastion');
    expect(hung).toMatchObject({
      status: 'failed',
      reason: 'sdm did not finish within sdm-timeout and was stopped',
    });
    expect(run.outputs.granted).toBe('15');
    const next = await runChecked(world, inputs);
    expect(next.outputs).toMatchObject({ granted: '1', unchanged: '15' });
  });

  it('"resource exhausted" twice, then the grant succeeds', async ({ task }) => {
    const company = smallCompany();
    company.seed.strongdm.faults = [
      {
        command: 'grant-temporary',
        email: 'ada@example.com',
        resource: 'prod-db',
        action: 'exhausted',
        times: 2,
      },
    ];
    const { world, inputs } = await start(company);
    const run = await runScenario(task, world, inputs, 0);
    expect(run.outputs.granted).toBe('16');
    const adaCalls = ((await world.sdmState()).invocations as Invocation[]).filter(
      (i) =>
        i.argv[2] === 'grant-temporary' &&
        !isHelp(i) &&
        i.argv.at(-1) === 'ada@example.com' &&
        i.argv.at(-2) === 'prod-db',
    );
    expect(adaCalls).toHaveLength(3);
  });

  it('one failing grant of many fails the step with its error as the reason, is not recorded, and the next run grants exactly it', async ({
    task,
  }) => {
    const company = smallCompany();
    company.seed.strongdm.faults = [
      {
        command: 'grant-temporary',
        email: 'grace.hopper@example.com',
        resource: 'prod-db',
        action: 'fail',
        stderr: 'PermissionDenied: nope',
      },
    ];
    const { world, inputs } = await start(company);
    const run = await runScenario(task, world, inputs, 1);
    expect(run.stdout).toMatch(/^::error::1 of 16 sdm changes failed/m);
    expect(run.outputs).toMatchObject({ granted: '15', failed: '1', skipped: '2' });
    expect(run.plan.filter((row) => row.status === 'failed')).toEqual([
      expect.objectContaining({
        email: 'Grace.Hopper@Example.com',
        resource: 'prod-db',
        reason: 'exit 1: PermissionDenied: nope',
      }),
    ]);
    expect(run.summary).toMatch(
      /^### ❌ 1 failed: .*\n\nReason: exit 1: PermissionDenied: nope\n\n\| Person \| Email \| Resource \| When \|\n.*\n\| [^|]+ \| Grace\.Hopper@Example\.com \| prod-db \| [^|]+ \|\n\n/m,
    );
    // The rest went through; the failed grant is not in the ledger.
    expect((await world.sdmState()).grants).toHaveLength(15);
    expect(world.ledger().grants).toHaveLength(15);
    expect(
      world
        .ledger()
        .grants.some(
          (g) => g.email?.toLowerCase() === 'grace.hopper@example.com' && g.resource === 'prod-db',
        ),
    ).toBe(false);

    const next = await runChecked(world, inputs);
    expect(next.exitCode, next.stdout).toBe(0);
    expect(next.outputs).toMatchObject({ granted: '1', unchanged: '15', failed: '0' });
    const grantCalls = ((await world.sdmState()).invocations as Invocation[]).filter(
      (i) => i.argv[2] === 'grant-temporary' && !isHelp(i),
    );
    expect(grantCalls.slice(16).map((i) => i.argv.slice(-2))).toEqual([
      ['prod-db', 'Grace.Hopper@Example.com'],
    ]);
    expect(world.ledger().grants).toHaveLength(16);
  });

  it('a run cancelled mid-way records what it granted, and the next run grants the rest once', async ({
    task,
  }) => {
    const company = smallCompany();
    company.seed.strongdm.faults = [
      { command: 'grant-temporary', email: 'frank@example.com', resource: 'prod-db', action: 'hang' },
    ];
    const { world, inputs } = await start(company);
    const cancelled = await runScenario(
      task,
      world,
      { ...inputs, concurrency: '1', 'sdm-timeout': '60s' },
      1,
      (child) => {
        // Cancel the job (the runner sends SIGINT) once the hung grant is running.
        const poll = setInterval(async () => {
          const invocations = (await world.sdmState()).invocations as Array<Invocation & { hung?: boolean }>;
          if (invocations.some((i) => i.hung)) {
            clearInterval(poll);
            // As the runner cancels a job: SIGINT, then SIGTERM (after 7.5 s there; sooner here).
            child.kill('SIGINT');
            setTimeout(() => child.kill('SIGTERM'), 500);
          }
        }, 100);
        child.on('exit', () => clearInterval(poll));
      },
    );
    expect(errorLine(cancelled)).toMatch(/^The run was cancelled: what was done is recorded in the ledger/);
    const granted = Number(cancelled.outputs.granted);
    expect(granted).toBeGreaterThan(0);
    expect(granted).toBeLessThan(16);
    expect(world.ledger().grants).toHaveLength(granted);
    expect(cancelled.plan.filter((row) => row.status === 'failed').length).toBe(16 - granted);

    const next = await runChecked(world, inputs);
    expect(next.exitCode, next.stdout).toBe(0);
    expect(next.outputs).toMatchObject({ granted: String(16 - granted), unchanged: String(granted) });
    const books = await ledgerAndStrongdm(world);
    expect(books.ledger).toEqual(books.strongdm);
    expect(books.strongdm).toHaveLength(16);
  });
});

describe('GitHub faults', () => {
  it('409 on the ledger write: re-read, merge, write', async ({ task }) => {
    const { world, inputs } = await start();
    world.github.faults.push({
      method: 'PUT',
      path: '/repos/acme/ops/contents/ledger.json',
      status: 409,
      body: { message: 'ledger.json does not match' },
    });
    const run = await runScenario(task, world, inputs, 0);
    expect(
      world.github.requests.filter((r: { method: string }) => r.method === 'PUT').length,
    ).toBeGreaterThanOrEqual(2);
    expect(run.outputs.granted).toBe('16');
  });

  it('a 502 on the ledger write is retried, so nothing goes unrecorded', async ({ task }) => {
    const { world, inputs } = await start();
    world.github.faults.push({
      method: 'PUT',
      path: '/repos/acme/ops/contents/ledger.json',
      status: 502,
      body: '<html>Bad Gateway</html>',
    });
    const run = await runScenario(task, world, inputs, 0);
    expect(world.ledger().grants).toHaveLength(16);
    expect(run.outputs.granted).toBe('16');
  });

  it('GitHub down: the ledger cannot be read, so nothing is granted and the step says why', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    world.github.faults.push({
      path: '/repos/',
      status: 503,
      body: { message: 'Service Unavailable' },
      times: 100,
    });
    const run = await runScenario(task, world, inputs, 1);
    expect(errorLine(run)).toMatch(
      /could not read ledger\.json on branch oncall-access-state of acme\/ops \(503/,
    );
    expect((await world.sdmState()).invocations).toEqual([]);
  });
});

describe('hostile PagerDuty data', () => {
  it('flag-like and spaced emails, HTML, pipes, newlines and 5,000-character names', async ({ task }) => {
    const company = smallCompany();
    const org = company.seed.pagerduty as { users: Array<{ id: string; name: string; email: string }> };
    const set = (id: string, fields: object) =>
      Object.assign(org.users.find((u) => u.id === id) as object, fields);
    set('PADA001', { email: '--admin-token=x' });
    set('PBOB001', { email: 'a b@c.d' });
    set('PCAROL1', { name: '<img src=x onerror=alert(1)>' });
    set('PDAN001', { name: 'Dan | Lead | ::error::x' });
    set('PFRANK1', { name: 'Frank\n##[error]injected\r\n' });
    set('PGRACE1', { name: 'G'.repeat(5000) });
    const { world, inputs } = await start(company);
    const run = await runScenario(task, world, inputs, 0);
    const skipped = run.plan.filter((row) => row.status === 'skipped').map((row) => row.reason);
    expect(skipped.filter((reason) => /starts with "-"/.test(reason as string))).toHaveLength(2);
    expect(skipped.filter((reason) => /whitespace/.test(reason as string))).toHaveLength(4); // Bob: two windows × 2
    const argv = JSON.stringify(((await world.sdmState()).invocations as Invocation[]).map((i) => i.argv));
    expect(argv).not.toContain('--admin-token');
    expect(argv).not.toContain('a b@c.d');
    expect(run.summary).not.toMatch(/<img|##\[error\]/);
    expect(run.summary).toContain('Dan &#124; Lead &#124; ::\u2060error::x');
    expect(run.summary).not.toContain('G'.repeat(100));
    // The ledger keeps names of at most 1,000 characters: a longer one would make the entry malformed (foreign).
    const grace = world.ledger().grants.filter((entry) => entry.pagerdutyUserId === 'PGRACE1');
    expect(grace.length).toBeGreaterThan(0);
    for (const entry of grace) expect(entry.name).toBe(`${'G'.repeat(499)}…`);
    expect(run.stdout).not.toMatch(/^::error::/m);
  });
});

describe('bad input', () => {
  it('an unknown resource name is refused before any grant, naming the input', async ({ task }) => {
    const { world, inputs } = await start();
    const run = await runScenario(task, world, { ...inputs, resources: 'prod-db\nprod-dbb' }, 1);
    expect(errorLine(run)).toBe(
      'Invalid input: resources: strongDM has no datasource, server or cluster named "prod-dbb"; check the spelling in strongDM',
    );
    expect(
      ((await world.sdmState()).invocations as Invocation[]).some(
        (i) => i.argv[2] === 'grant-temporary' && !isHelp(i),
      ),
    ).toBe(false);
  });

  it('a boolean typo, an unknown unit and a lookahead over 90 days are all named at once', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    const run = await runScenario(
      task,
      world,
      { ...inputs, 'dry-run': 'yes', 'grace-period': '10 minutes', lookahead: '13w' },
      1,
    );
    expect(run.stdout).toMatch(
      /^::error::Invalid inputs:%0A- lookahead: "13w" is over 90d.*%0A- grace-period: .*unit s, m, h, d or w.*%0A- dry-run: "yes" is not a boolean; use true or false/m,
    );
    expect(world.pagerduty.requests).toEqual([]);
  });
});

describe('servers echoing secrets back', () => {
  it('a PagerDuty error body that repeats the token does not put it in the error', async ({ task }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({
      path: '/oncalls',
      status: 400,
      body: { error: { message: `Invalid token ${PD_TOKEN}`, code: 2001, errors: [PD_TOKEN] } },
    });
    const run = await runScenario(task, world, inputs, 1);
    expect(errorLine(run)).toMatch(
      /^PagerDuty refused the request to \/oncalls \(400: Invalid token \*\*\*, code 2001, \*\*\*\)/,
    );
  });

  it('a GitHub error that repeats the token does not put it in the error', async ({ task }) => {
    const { world, inputs } = await start();
    world.github.faults.push({
      path: '/repos/',
      status: 500,
      body: { message: `token ${GITHUB_TOKEN} rejected` },
      times: 100,
    });
    const run = await runScenario(task, world, inputs, 1);
    expect(errorLine(run)).toMatch(/could not read ledger\.json .*\(500: token \*\*\* rejected\)/);
  });
});
