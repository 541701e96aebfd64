// `npm run demo`: the bundled action against the built-in simulators of PagerDuty, the sdm download site and sdm,
// with a sample company, so a newcomer sees it work in one command with no accounts.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeSdmDownloads } from '../test/fakes/downloads.mjs';
import { demoOrg, DEMO } from '../test/fakes/orgs.mjs';
import { startFakePagerDuty } from '../test/fakes/pagerduty.mjs';
import { runAction, renderLog } from '../test/fakes/runner.mjs';
import { readSdmState, writeSdmState } from '../test/fakes/sdm-state.mjs';

const PD_TOKEN = 'demo-pagerduty-key';
const SDM_TOKEN = 'demo-sdm-admin-token';

const dir = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-demo-'));
const org = demoOrg(new Date());
const pagerduty = await startFakePagerDuty({ org: org.pagerduty, token: PD_TOKEN });
const downloads = await startFakeSdmDownloads({ outDir: path.join(dir, 'downloads') });
const sdmState = path.join(dir, 'sdm-state.json');
await writeSdmState(sdmState, { token: SDM_TOKEN, ...org.strongdm });

const { platformPrimary, platformSecondary, database } = DEMO.schedules;
const run = (inputs) =>
  runAction({
    workDir: path.join(dir, 'runs'),
    toolCache: path.join(dir, 'toolcache'),
    env: { FAKE_SDM_STATE: sdmState },
    inputs: {
      'pagerduty-token': PD_TOKEN,
      'pagerduty-api-url': pagerduty.url,
      'schedule-ids': `${platformPrimary}, ${platformSecondary}, ${database}, null`,
      resources: 'prod-postgres, bastion-prod',
      lookahead: '24h',
      'sdm-admin-token': SDM_TOKEN,
      'sdm-download-url': downloads.latestUrl,
      ...inputs,
    },
  });

try {
  console.log('oncall-access demo: a sample company in simulated PagerDuty and strongDM\n');
  console.log(
    'Workflow inputs: schedule-ids Platform Primary, Platform Secondary, Database On-Call and direct',
  );
  console.log('targets (null); resources prod-postgres, bastion-prod; lookahead 24h.\n');

  const first = await run({});
  console.log('── Step log ─────────────────────────────────────────────────────────────');
  console.log(renderLog(first.stdout).trim());
  console.log('\n── Job summary (GITHUB_STEP_SUMMARY) ───────────────────────────────────');
  console.log(first.summary.trim());

  const second = await run({ 'dry-run': 'true' });
  const state = await readSdmState(sdmState);
  console.log('\n── What happened ───────────────────────────────────────────────────────');
  console.log(
    `exit status: ${first.exitCode}; outputs granted=${first.outputs.granted} skipped=${first.outputs.skipped} failed=${first.outputs.failed}`,
  );
  console.log(
    `PagerDuty requests: ${pagerduty.requests.length}; sdm commands run: ${state.invocations.length}; grants held in the simulated strongDM: ${state.grants.length}`,
  );
  console.log(
    `a second run (dry run) reused the cached sdm: ${/found in the tool cache/.test(second.stdout) ? 'yes' : 'no'} (zip downloads: ${downloads.counts.zip})`,
  );
  console.log(
    `wall time: first run ${(first.durationMs / 1000).toFixed(2)} s, second run ${(second.durationMs / 1000).toFixed(2)} s`,
  );
  process.exitCode = first.exitCode === 0 && second.exitCode === 0 ? 0 : 1;
} finally {
  await Promise.all([pagerduty.close(), downloads.close()]);
  await rm(dir, { recursive: true, force: true });
}
