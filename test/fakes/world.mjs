// @ts-check
/**
 * The demo company in all the simulators at once: fake PagerDuty seeded with demoOrg, the fake sdm download site,
 * the sdm state file the fake `sdm` reads, and a fake GitHub for the ledger, on loopback ports chosen by the OS.
 * Shared by `npm run demo` (scripts/demo.mjs) and `node scripts/simulators.mjs` (local runs), so both show the same
 * company with the same rules and the same fake credentials.
 */
import path from 'node:path';
import { startFakeSdmDownloads } from './downloads.mjs';
import { startFakeGitHub } from './github.mjs';
import { demoOrg, DEMO } from './orgs.mjs';
import { startFakePagerDuty } from './pagerduty.mjs';
import { writeSdmState } from './sdm-state.mjs';

/** Fake, fixed credentials: the simulators accept these and nothing else. Fine to print. */
export const DEMO_TOKENS = Object.freeze({
  pagerduty: 'demo-pagerduty-key',
  sdmAdmin: 'demo-sdm-admin-token',
  github: 'ghs_demoWorkflowToken',
});

/** The repository the fake GitHub holds (the fake's defaults), as GITHUB_REPOSITORY names it. */
export const DEMO_REPOSITORY = 'acme/ops';

/**
 * The demo's rules: both platform schedules → prod-postgres + bastion-prod; the database schedule → prod-postgres;
 * whoever the platform policy targets directly at level 3 (the lead, on call permanently) → bastion-prod.
 * @returns {string} YAML for the `rules` input
 */
export function demoRules() {
  const { platformPrimary, platformSecondary, database } = DEMO.schedules;
  return [
    '- name: platform',
    `  schedules: [${platformPrimary}, ${platformSecondary}]`,
    '  resources: [prod-postgres, bastion-prod]',
    '- name: database',
    `  schedules: [${database}]`,
    '  resources: [prod-postgres]',
    '- name: leads',
    `  escalation-policies: [${DEMO.escalationPolicies.platform}]`,
    '  escalation-levels: [3]',
    '  resources: [bastion-prod]',
    '',
  ].join('\n');
}

/**
 * @typedef {object} DemoWorld
 * @property {import('./orgs.mjs').SeedOrg} org the demo company as seeded (change it, then pagerduty.setOrg)
 * @property {Awaited<ReturnType<typeof startFakePagerDuty>>} pagerduty
 * @property {import('./downloads.mjs').FakeSdmDownloads} downloads
 * @property {Awaited<ReturnType<typeof startFakeGitHub>>} github
 * @property {string} sdmState path of the fake sdm's state file (FAKE_SDM_STATE)
 * @property {() => Promise<void>} close stops every server (the files in `dir` stay: the caller owns `dir`)
 */

/**
 * Starts the simulators with the demo company, relative to `now`.
 * @param {{ dir: string, now?: Date }} options `dir`: an existing folder for the zips and the sdm state
 * @returns {Promise<DemoWorld>}
 */
export async function startDemoWorld({ dir, now = new Date() }) {
  const org = demoOrg(now);
  const sdmState = path.join(dir, 'sdm-state.json');
  await writeSdmState(sdmState, { token: DEMO_TOKENS.sdmAdmin, ...org.strongdm });
  /** @type {Array<{ close(): Promise<void> }>} */
  const started = [];
  try {
    const pagerduty = await startFakePagerDuty({ org: org.pagerduty, token: DEMO_TOKENS.pagerduty });
    started.push(pagerduty);
    const downloads = await startFakeSdmDownloads({ outDir: path.join(dir, 'downloads') });
    started.push(downloads);
    const github = await startFakeGitHub({ tokens: { [DEMO_TOKENS.github]: 'write' } });
    started.push(github);
    return {
      org,
      pagerduty,
      downloads,
      github,
      sdmState,
      async close() {
        await Promise.all(started.map((server) => server.close()));
      },
    };
  } catch (error) {
    // One simulator failed to start: stop the others, or they would keep the process alive.
    await Promise.all(started.map((server) => server.close()));
    throw error;
  }
}
