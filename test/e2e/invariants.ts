// What must hold after every run, whatever failed: no on-call window silently dropped, no grant made twice, the
// ledger in step with strongDM, no secret anywhere. Computed from the fakes, never from the action's own logic.
import { existsSync } from 'node:fs';
import { expect, type TestContext } from 'vitest';
import {
  isHelp,
  PD_TOKEN,
  runChecked,
  secretLeaks,
  type ActionRun,
  type Grant,
  type Invocation,
  type World,
} from './harness.js';

interface OnCall {
  user: { id: string; name?: string; summary?: string };
  start: string | null;
  end: string | null;
}

const MAX_GRANT_S = 7 * 24 * 3600;
// Rows that account for a window; stale and revoked rows are about grants, not about someone being on call.
const COVERING = ['granted', 'unchanged', 'failed', 'skipped', 'would-grant']; // the default max-grant-duration bounds open-ended on-calls
const toSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The on-call rows PagerDuty had for the window the action asked about (its first /oncalls request of the run). */
async function onCallsSeenBy(
  world: World,
  firstRequest: number,
  token: string,
): Promise<{ rows: OnCall[]; since: number } | undefined> {
  const request = world.pagerduty.requests
    .slice(firstRequest)
    .find((r: { path: string }) => r.path === '/oncalls');
  if (!request) return undefined;
  const query = new URLSearchParams(request.query as Array<[string, string]>);
  const rows: OnCall[] = [];
  for (let offset = 0; offset < 10_000; offset += 100) {
    query.set('offset', String(offset));
    query.set('limit', '100');
    const response = await fetch(`${world.pagerduty.url}/oncalls?${query}`, {
      headers: { authorization: `Token token=${token}` },
    });
    const page = (await response.json()) as { oncalls: OnCall[]; more: boolean };
    rows.push(...page.oncalls);
    if (!page.more) break;
  }
  return { rows, since: toSeconds(query.get('since') as string) };
}

/** Windows (person × resource) that are neither a row of the plan nor covered by a loud failure of the step. */
export async function windowsLost(
  world: World,
  run: ActionRun,
  options: { firstRequest: number; resources: string[]; token: string },
): Promise<number> {
  const failedLoudly = run.exitCode !== 0 && /^::error::/m.test(run.stdout);
  if (run.plan.length === 0 && failedLoudly) return 0;
  const seen = await onCallsSeenBy(world, options.firstRequest, options.token);
  if (!seen) return failedLoudly ? 0 : Number.POSITIVE_INFINITY;
  let lost = 0;
  for (const row of seen.rows) {
    const from = Math.max(row.start ? toSeconds(row.start) : seen.since, seen.since);
    const until = row.end ? toSeconds(row.end) : seen.since + MAX_GRANT_S;
    if (until <= from) continue;
    for (const resource of options.resources) {
      const spans = run.plan
        // By user ID: names are shown cut (a 5,000-character name would not fit the ledger).
        .filter(
          (p) =>
            p.pagerdutyUserId === row.user.id &&
            p.resource === resource &&
            COVERING.includes(p.status as string),
        )
        .map((p) => [toSeconds(p.from as string), toSeconds(p.until as string)] as const)
        .sort((a, b) => a[0] - b[0]);
      let cursor = from; // walk the rows' union from the window's start
      for (const [a, b] of spans) if (a <= cursor && b > cursor) cursor = b;
      if (cursor < until && !(failedLoudly && spans.length === 0)) lost++;
    }
  }
  return lost;
}

/**
 * Grant commands attempted for time that an earlier successful grant of the same user and resource already held
 * (and no successful revoke had ended): the fake refuses them, so counting successes alone would prove nothing.
 */
export async function grantsMadeTwice(world: World): Promise<number> {
  const state = await world.sdmState();
  const held = new Map<string, Array<[number, number]>>();
  let twice = 0;
  for (const invocation of state.invocations as Array<{ argv: string[]; exitCode: number | null }>) {
    const { argv } = invocation;
    if (argv[2] === 'revoke' && invocation.exitCode === 0)
      held.delete(`${argv[4]?.toLowerCase()} ${argv[3]}`);
    if (argv[2] !== 'grant-temporary' || argv.includes('--help')) continue;
    const from = Date.parse(argv[argv.indexOf('--from') + 1] ?? '');
    const until = Date.parse(argv[argv.indexOf('--until') + 1] ?? '');
    const pair = `${argv.at(-1)?.toLowerCase()} ${argv.at(-2)}`;
    const spans = held.get(pair) ?? [];
    if (spans.some(([a, b]) => from < b && a < until)) twice++;
    if (invocation.exitCode === 0) held.set(pair, [...spans, [from, until]]);
  }
  return twice;
}

/** The ledger's grants in force, and strongDM's, as comparable keys. */
export async function ledgerAndStrongdm(
  world: World,
  ledger = world.ledger(),
  forgedIds: ReadonlySet<string> = new Set(),
  manualPairs: ReadonlySet<string> = new Set(), // "email resource" of grants made by hand, outside the action
): Promise<{ ledger: string[]; strongdm: string[] }> {
  const now = Date.now();
  const key = (email: string, resource: string, from: string, until: string) =>
    `${email.toLowerCase()} ${resource} ${from} ${until}`;
  return {
    ledger: ledger.grants
      .filter(
        (g) =>
          g &&
          typeof g === 'object' &&
          !forgedIds.has(g.id as string) &&
          !g.revokedAt &&
          Date.parse(g.until ?? '') > now,
      )
      .map((g) => key(g.email as string, g.resource as string, g.from as string, g.until as string))
      .sort(),
    strongdm: ((await world.sdmState()).grants as Grant[])
      .filter(
        (g) =>
          Date.parse(g.validUntil) > now && !manualPairs.has(`${g.email.toLowerCase()} ${g.resourceName}`),
      )
      .map((g) => key(g.email, g.resourceName, g.startFrom, g.validUntil))
      .sort(),
  };
}

export interface Measurement {
  windowsLost: number;
  secretsLeaked: number;
  grantsMadeTwice: number;
  books: { ledger: string[]; strongdm: string[] };
  tokenOutsideEnvironment: number; // sdm invocations whose token did not come (only) through the environment
  homesLeft: number; // private sdm HOMEs of this run still there after it ended (cancelled and failed runs too)
  forgedHonoured: number; // ledger entries planted by the attack that the action acted on
}

/** A ledger entry an attack planted: the action must neither count it as granted access nor revoke for it. */
export interface ForgedEntry {
  id: string;
  email: string;
  resource: string;
  from: string;
  until: string;
}

/** Forged entries the run acted on: a revoke aimed at one's user and resource, or a plan row built from one. */
function forgedHonoured(run: ActionRun, invocations: Invocation[], forged: ForgedEntry[]): number {
  return forged.filter((entry) => {
    const revoked = invocations.some(
      (i) =>
        i.argv[2] === 'revoke' &&
        !isHelp(i) &&
        i.argv.at(-1)?.toLowerCase() === entry.email.toLowerCase() &&
        i.argv.at(-2) === entry.resource,
    );
    const planned = run.plan.some(
      (row) =>
        row.status !== 'granted' &&
        row.status !== 'would-grant' &&
        row.email === entry.email &&
        row.resource === entry.resource &&
        row.from === entry.from &&
        row.until === entry.until,
    );
    return revoked || planned;
  }).length;
}

/** Measures one run against the invariants; the caller records the tally, then asserts (so failures still count). */
export async function measure(
  world: World,
  run: ActionRun,
  options: {
    firstRequest: number;
    resources: string[];
    token: string;
    forged?: ForgedEntry[];
    manualPairs?: ReadonlySet<string>;
  },
): Promise<Measurement> {
  const forged = options.forged ?? [];
  const invocations = (await world.sdmState()).invocations as Invocation[];
  return {
    windowsLost: await windowsLost(world, run, options),
    secretsLeaked: (await secretLeaks(world, run)).length,
    grantsMadeTwice: await grantsMadeTwice(world),
    books: await ledgerAndStrongdm(
      world,
      world.ledger(),
      new Set(forged.map((entry) => entry.id)),
      options.manualPairs,
    ),
    tokenOutsideEnvironment: invocations.filter((i) => (!i.tokenFromEnv && !isHelp(i)) || i.tokenInArgv)
      .length,
    homesLeft: new Set(
      invocations.flatMap((i) => (i.home?.startsWith(`${run.temp}/`) && existsSync(i.home) ? [i.home] : [])),
    ).size,
    forgedHonoured: forgedHonoured(run, invocations, forged),
  };
}

export function assertInvariants(run: ActionRun, measured: Measurement, exitCode: number): void {
  expect(run.exitCode, run.stdout).toBe(exitCode);
  expect(measured.windowsLost, 'on-call windows that ended as no row').toBe(0);
  expect(measured.grantsMadeTwice, 'grants made twice').toBe(0);
  expect(measured.books.ledger, 'ledger vs strongDM').toEqual(measured.books.strongdm);
  expect(measured.secretsLeaked, 'places where a secret leaked').toBe(0);
  expect(measured.tokenOutsideEnvironment, 'sdm runs with the token outside the environment').toBe(0);
  expect(measured.homesLeft, "sdm's private HOME left behind").toBe(0);
  expect(measured.forgedHonoured, 'forged ledger entries acted on').toBe(0);
}

/**
 * Runs the action once and checks the scenario's invariants, keeping its tally in the test's meta (for the
 * small company's resources, prod-db and bastion).
 */
export async function runScenario(
  task: TestContext['task'],
  w: World,
  inputs: Record<string, string>,
  exitCode: number,
  onSpawn?: Parameters<typeof runChecked>[2],
  attack: { forged?: ForgedEntry[]; manualPairs?: ReadonlySet<string> } = {},
): Promise<ActionRun & { pagerdutyPaths: string[] }> {
  const firstRequest = w.pagerduty.requests.length;
  const run = await w.run(inputs, onSpawn);
  // The action's own requests, before the invariant check replays some of its own.
  const pagerdutyPaths = w.pagerduty.requests.slice(firstRequest).map((r: { path: string }) => r.path);
  const measured = await measure(w, run, {
    firstRequest,
    resources: ['prod-db', 'bastion'],
    token: PD_TOKEN,
    ...attack,
  });
  task.meta.fault = {
    windowsLost: measured.windowsLost,
    secretsLeaked: measured.secretsLeaked,
    forgedHonoured: measured.forgedHonoured,
  };
  assertInvariants(run, measured, exitCode);
  return { ...run, pagerdutyPaths };
}
