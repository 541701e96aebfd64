// `npm run demo`: the bundled action against the built-in simulators of PagerDuty, the sdm download site, sdm and
// the GitHub API, with a sample company, so a newcomer sees it work in one command with no accounts.
// A dry run shows the preflight checklist; then three scheduled runs: the first grants, the second finds nothing
// to do, the third follows an override.
// DEMO_SUMMARY_DIR=dir (opt-in, for scripts/screenshot.mjs) also writes each run's job summary to
// dir/run-<n>.md; the console output stays the same.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEMO } from '../test/fakes/orgs.mjs';
import { renderLog, runAction } from '../test/fakes/runner.mjs';
import { readSdmState } from '../test/fakes/sdm-state.mjs';
import { DEMO_TOKENS, demoRules, startDemoWorld } from '../test/fakes/world.mjs';

const PD_TOKEN = DEMO_TOKENS.pagerduty;
const SDM_TOKEN = DEMO_TOKENS.sdmAdmin;
const GITHUB_TOKEN = DEMO_TOKENS.github;

const dir = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-demo-'));
const world = await startDemoWorld({ dir });
const { org, pagerduty, downloads, github, sdmState } = world;
const rules = demoRules();
const { platformPrimary } = DEMO.schedules;

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

try {
  console.log('oncall-access demo: a sample company in simulated PagerDuty, strongDM and GitHub');
  console.log('Rules: platform schedules → prod-postgres + bastion-prod; database schedule → prod-postgres;');
  console.log(
    'the lead targeted directly at level 3 → bastion-prod. Lookahead 24h. Ledger on branch oncall-access-state.',
  );

  const dryRun = await scheduledRun('Run 0: a dry run with both tokens, the recommended first run', {
    'dry-run': 'true',
  });
  console.log('\n── Preflight checklist (also the `checks` output) ─────────────────────');
  for (const check of JSON.parse(dryRun.outputs.checks ?? '[]')) {
    const mark = { pass: '✅', warn: '⚠️', fail: '❌' }[check.status];
    console.log(`   ${mark} ${check.check}: ${check.detail}${check.fix ? ` (fix: ${check.fix})` : ''}`);
  }

  const first = await scheduledRun('Run 1: first scheduled run');
  console.log('\n── Step log ─────────────────────────────────────────────────────────────');
  console.log(renderLog(first.stdout).trim());
  console.log('\n── Job summary (GITHUB_STEP_SUMMARY) ───────────────────────────────────');
  console.log(first.summary.trim());

  const second = await scheduledRun('Run 2: 30 minutes later, nothing changed in PagerDuty');
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
  const third = await scheduledRun(
    'Run 3: Alan overrides the first 12h of the next Platform Primary shift (revoke-stale: true)',
    {
      'revoke-stale': 'true',
    },
  );
  const changed = third.plan.filter((row) => row.status !== 'unchanged');
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
  process.exitCode = [dryRun, first, third].every((run) => run.exitCode === 0) ? 0 : 1;
} finally {
  await world.close();
  await rm(dir, { recursive: true, force: true });
}
