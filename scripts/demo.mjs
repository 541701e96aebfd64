// `npm run demo`: the bundled action against the built-in simulators of PagerDuty, the sdm download site, sdm and
// the GitHub API, with a sample company, so a newcomer sees it work in one command with no accounts.
// A dry run shows the preflight checklist; then three scheduled runs: the first grants (an open incident's assignee
// gets write access too), the second finds nothing to do (the incident is acknowledged: its access is held), the
// third follows an override and revokes the incident's access once it is resolved.
// DEMO_SUMMARY_DIR=dir (opt-in, for scripts/screenshot.mjs) also writes each run's job summary to
// dir/run-<n>.md; the console output stays the same.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEMO } from '../test/fakes/orgs.mjs';
import { renderLog, runAction } from '../test/fakes/runner.mjs';
import { readSdmState } from '../test/fakes/sdm-state.mjs';
import {
  DEMO_INCIDENT,
  DEMO_INCIDENT_RESOURCE,
  DEMO_INCIDENT_RULE,
  DEMO_TOKENS,
  demoRules,
  startDemoWorld,
} from '../test/fakes/world.mjs';

const PD_TOKEN = DEMO_TOKENS.pagerduty;
const SDM_TOKEN = DEMO_TOKENS.sdmAdmin;
const GITHUB_TOKEN = DEMO_TOKENS.github;

const dir = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-demo-'));
const world = await startDemoWorld({ dir });
const { org, pagerduty, downloads, github, sdmState } = world;
const rules = demoRules();
const { platformPrimary } = DEMO.schedules;
const assignee =
  org.pagerduty.users.find((u) => u.id === DEMO_INCIDENT.assignee)?.name ?? DEMO_INCIDENT.assignee;
const incident = `incident #${DEMO_INCIDENT.number} "${DEMO_INCIDENT.title}" (${DEMO_INCIDENT.service.name})`;

const summaryDir = process.env.DEMO_SUMMARY_DIR;
if (summaryDir) await mkdir(summaryDir, { recursive: true });

let sdmCallsSoFar = 0;
let runNumber = 0;
async function scheduledRun(title, inputs = {}) {
  const run = await runAction({
    workDir: path.join(dir, 'runs'),
    toolCache: path.join(dir, 'toolcache'),
    env: { FAKE_SDM_STATE: sdmState, GITHUB_API_URL: github.url },
    githubToken: GITHUB_TOKEN,
    inputs: {
      'pagerduty-token': PD_TOKEN,
      'pagerduty-api-url': pagerduty.url,
      rules,
      lookahead: '24h',
      'sdm-admin-token': SDM_TOKEN,
      'sdm-download-url': downloads.latestUrl,
      'sdm-checksum-url': `${downloads.url}/sha`,
      ...inputs,
    },
  });
  if (summaryDir) await writeFile(path.join(summaryDir, `run-${runNumber}.md`), run.summary);
  runNumber += 1;
  const invocations = (await readSdmState(sdmState)).invocations;
  const calls = invocations.slice(sdmCallsSoFar);
  sdmCallsSoFar = invocations.length;
  const help = (c) => c.argv.includes('--help');
  const count = (verb) => calls.filter((c) => c.argv[2] === verb && !help(c)).length;
  const totals = /^\*\*(.*)\*\*/m.exec(run.summary)?.[1] ?? '';
  console.log(`\n━━ ${title}`);
  console.log(`   ${totals}; exit ${run.exitCode}; ${(run.durationMs / 1000).toFixed(2)} s`);
  console.log(
    `   sdm commands: ${calls.length} (${calls.filter(help).length} help pages, ${count('grant-temporary')} grants, ${count('revoke')} revokes, ${count('list')} lists of users and resources)`,
  );
  // The `message` output, as a chat step would post it; empty when the run changed nothing.
  const message = run.outputs.message ? run.outputs.message.split('\n') : ['(empty: nothing changed)'];
  console.log(`   message output: ${message.join('\n                   ')}`);
  return run;
}

/** 2026-11-30T09:07:00Z → 09:07 UTC: incident access lasts hours, not days. */
const clock = (/** @type {unknown} */ time) => `${String(time).slice(11, 16)} UTC`;

/**
 * What the run did with the incident's access, in plain words, read from its plan rows (not assumed, so a run that
 * misbehaves shows it).
 * @param {{ plan: Array<Record<string, unknown>> }} run
 */
function showIncidentAccess(run) {
  const rows = run.plan.filter((row) => row.rule === DEMO_INCIDENT_RULE);
  if (rows.length === 0)
    console.log(`   incident access: none (no row of rule ${DEMO_INCIDENT_RULE} in the plan)`);
  for (const row of rows) {
    const { name, resource, from, until } = /** @type {Record<string, string>} */ (row);
    const said = {
      'would-grant': `${name} would get ${resource} ${clock(from)} → ${clock(until)}`,
      granted: `${name} gets ${resource} ${clock(from)} → ${clock(until)}`,
      unchanged: `${name} keeps ${resource} until ${clock(until)} (granted earlier; nothing to do)`,
      revoked: `${name} loses ${resource} now, instead of at ${clock(until)}`,
      stale: `${name}'s ${resource} is no longer backed; it lapses at ${clock(until)}`,
    }[String(row.status)];
    const reason = row.reason ? `  (${String(row.reason)})` : '';
    console.log(
      `   incident access: ${String(row.status)}: ${said ?? `${name} ${resource} ${from} → ${until}`}${reason}`,
    );
  }
}

try {
  console.log('oncall-access demo: a sample company in simulated PagerDuty, strongDM and GitHub');
  console.log('Rules: platform schedules → prod-postgres + bastion-prod; database schedule → prod-postgres;');
  console.log(
    'the lead targeted directly at level 3 → bastion-prod; the assignee of an open Checkout API incident,',
  );
  console.log(
    `while on call in its service's escalation policy → ${DEMO_INCIDENT_RESOURCE} for 2h, extended while it stays open.`,
  );
  console.log('Lookahead 24h. Ledger on branch oncall-access-state.');
  console.log(
    `PagerDuty: ${incident} was triggered 4 minutes ago and paged ${assignee}, on call in Platform Primary.`,
  );

  const dryRun = await scheduledRun('Run 0: a dry run with both tokens, the recommended first run', {
    'dry-run': 'true',
  });
  console.log('\n── Preflight checklist (also the `checks` output) ─────────────────────');
  for (const check of JSON.parse(dryRun.outputs.checks ?? '[]')) {
    const mark = { pass: '✅', warn: '⚠️', fail: '❌' }[check.status];
    console.log(`   ${mark} ${check.check}: ${check.detail}${check.fix ? ` (fix: ${check.fix})` : ''}`);
  }

  const first = await scheduledRun(`Run 1: first scheduled run; incident #${DEMO_INCIDENT.number} is open`);
  console.log(
    `   PagerDuty: incident #${DEMO_INCIDENT.number} is triggered and assigned to ${assignee}, on call in its service's escalation policy.`,
  );
  showIncidentAccess(first);
  console.log('\n── Step log ─────────────────────────────────────────────────────────────');
  console.log(renderLog(first.stdout).trim());
  console.log('\n── Job summary (GITHUB_STEP_SUMMARY) ───────────────────────────────────');
  console.log(first.summary.trim());

  world.setIncidentStatus('acknowledged');
  const second = await scheduledRun(
    `Run 2: a later run; ${assignee} has acknowledged incident #${DEMO_INCIDENT.number}; nothing else changed`,
  );
  console.log(
    `   PagerDuty: ${assignee} acknowledged incident #${DEMO_INCIDENT.number}; it is still open, so its access is held.`,
  );
  showIncidentAccess(second);
  console.log(
    `   (sdm is set up again only because ${second.outputs.skipped} on-call windows have no strongDM account, to check again;\n` +
      '    with everyone mapped, a run that changes nothing makes no sdm command and no download)',
  );

  const handover = Date.parse(org.facts.primaryHandover);
  const override = {
    user: DEMO.users.alan,
    start: new Date(handover).toISOString(),
    end: new Date(handover + 12 * 3_600_000).toISOString(),
  };
  const primary = org.pagerduty.schedules.find((s) => s.id === platformPrimary);
  primary.overrides = [...(primary.overrides ?? []), override];
  pagerduty.setOrg(org.pagerduty);
  world.setIncidentStatus('resolved');
  const third = await scheduledRun(
    `Run 3: incident #${DEMO_INCIDENT.number} is resolved, and Alan overrides the first 12h of the next Platform Primary shift (revoke-stale: true)`,
    {
      'revoke-stale': 'true',
    },
  );
  console.log(
    `   PagerDuty: incident #${DEMO_INCIDENT.number} is resolved; the write access it gave is stale, and revoke-stale revokes it.`,
  );
  showIncidentAccess(third);
  console.log(
    '   The other rows that are not unchanged (the override, and Barbara still without a strongDM account):',
  );
  const changed = third.plan.filter((row) => row.status !== 'unchanged' && row.rule !== DEMO_INCIDENT_RULE);
  for (const row of changed) {
    console.log(
      `   ${row.status.padEnd(8)} ${row.name} ${row.resource} ${row.from} → ${row.until}${row.reason ? `  (${row.reason})` : ''}`,
    );
  }

  console.log('\n── Audit trail: commits on oncall-access-state ─────────────────────────');
  for (const commit of github.commits('oncall-access-state').slice(1))
    console.log(`   ${commit.message.split('\n')[0]}`);
  console.log(
    `\nzip downloads of sdm over four runs: ${downloads.counts.zip} (the tool cache served the rest)`,
  );
  process.exitCode = [dryRun, first, second, third].every((run) => run.exitCode === 0) ? 0 : 1;
} finally {
  await world.close();
  await rm(dir, { recursive: true, force: true });
}
