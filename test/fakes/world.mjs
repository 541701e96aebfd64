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
 * The demo's incident: on the Checkout API service, paged through "Platform Engineering" to Katherine Johnson,
 * who holds Platform Primary (level 1) until the next handover, so she is on call in the incident's policy.
 * Its title is what a real alert might say; the action treats it as untrusted text.
 */
export const DEMO_INCIDENT = Object.freeze({
  id: 'Q2CK7TW5RZ9L4M',
  number: 1042,
  title: 'Checkout API 5xx above 5%',
  service: Object.freeze({ id: 'PCK4T7Q', name: 'Checkout API' }),
  escalationPolicy: DEMO.escalationPolicies.platform,
  assignee: DEMO.users.katherine,
});

/** The rule that gives access for DEMO_INCIDENT (plan rows name it in `rule`). */
export const DEMO_INCIDENT_RULE = 'incident-db-write';
/** The strongDM resource only an open incident gives (write access to the database); shifts give prod-postgres. */
export const DEMO_INCIDENT_RESOURCE = 'prod-postgres-write';
/** How long before the world starts the incident was triggered. */
const INCIDENT_AGE_MS = 4 * 60_000;

/**
 * @typedef {'triggered' | 'acknowledged' | 'resolved'} IncidentStatus
 */

/**
 * DEMO_INCIDENT as PagerDuty holds it after moving to `status` at `changedAt` (triggered: at `createdAt`).
 * @param {IncidentStatus} status
 * @param {number} createdAt epoch ms
 * @param {number} changedAt epoch ms
 * @returns {import('./pagerduty-incidents.mjs').SeedIncident}
 */
function demoIncidentSeed(status, createdAt, changedAt) {
  const iso = (/** @type {number} */ ms) => new Date(ms).toISOString();
  const assigned = [{ user: DEMO_INCIDENT.assignee, at: iso(createdAt) }];
  return {
    id: DEMO_INCIDENT.id,
    number: DEMO_INCIDENT.number,
    title: DEMO_INCIDENT.title,
    status,
    urgency: 'high',
    service: { ...DEMO_INCIDENT.service },
    escalationPolicy: DEMO_INCIDENT.escalationPolicy,
    createdAt: iso(createdAt),
    lastStatusChangeAt: iso(status === 'triggered' ? createdAt : changedAt),
    // As PagerDuty shows them: no assignments once resolved, acknowledgements only while acknowledged.
    assignments: status === 'resolved' ? [] : assigned,
    ...(status === 'acknowledged'
      ? { acknowledgements: [{ user: DEMO_INCIDENT.assignee, at: iso(changedAt) }] }
      : {}),
    ...(status === 'resolved' ? { resolvedAt: iso(changedAt) } : {}),
  };
}

/**
 * The demo's rules: both platform schedules → prod-postgres + bastion-prod; the database schedule → prod-postgres;
 * whoever the platform policy targets directly at level 3 (the lead, on call permanently) → bastion-prod;
 * whoever is assigned an open Checkout API incident while on call in its policy → prod-postgres-write for 2h.
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
    `- name: ${DEMO_INCIDENT_RULE}`,
    `  incidents: { services: [${DEMO_INCIDENT.service.id}] }`,
    '  incident-window: 2h',
    `  resources: [${DEMO_INCIDENT_RESOURCE}]`,
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
 * @property {(status: IncidentStatus, at?: Date) => void} setIncidentStatus moves DEMO_INCIDENT to `status`
 *   (acknowledged or resolved by its assignee at `at`, default now) in `org` and in the fake PagerDuty
 * @property {() => Promise<void>} close stops every server (the files in `dir` stay: the caller owns `dir`)
 */

/**
 * Starts the simulators with the demo company, relative to `now`; DEMO_INCIDENT was triggered a few minutes before.
 * @param {{ dir: string, now?: Date }} options `dir`: an existing folder for the zips and the sdm state
 * @returns {Promise<DemoWorld>}
 */
export async function startDemoWorld({ dir, now = new Date() }) {
  const org = demoOrg(now);
  const incidentCreatedAt = now.getTime() - INCIDENT_AGE_MS;
  org.pagerduty.incidents = [demoIncidentSeed('triggered', incidentCreatedAt, incidentCreatedAt)];
  org.strongdm = {
    ...org.strongdm,
    // A fixed id, as for the other demo resources (orgs.mjs), so every demo run shows the same one.
    resources: [
      ...org.strongdm.resources,
      { id: 'rs-7d3e9a41c05b8f62', name: DEMO_INCIDENT_RESOURCE, kind: 'datasource' },
    ],
  };
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
      setIncidentStatus(status, at = new Date()) {
        const moved = demoIncidentSeed(status, incidentCreatedAt, at.getTime());
        org.pagerduty.incidents = (org.pagerduty.incidents ?? []).map((i) => (i.id === moved.id ? moved : i));
        pagerduty.setOrg(org.pagerduty);
      },
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
