// "The seed": a RE-IMPLEMENTATION, for comparison only, of the algorithm of strongDM's sample cron script that gave
// on-call people temporary access (PagerDuty on-calls → `sdm admin users grant-temporary`). It is NOT the original
// script and contains none of its code; it follows its algorithm step by step so that the benchmark can run it
// against the same loopback fakes as the action:
//   1. one GET /oncalls for the schedules over the window (since/until, schedule_ids[]), WITHOUT paging, so
//      PagerDuty's default page (25 rows) is all it sees; `paged: true` adds offset paging (limit=100) so the
//      comparison can also be made at equal coverage;
//   2. for every row, GET /users/{id} for the email;
//   3. for every row, one `sdm admin users grant-temporary --from <start> --until <end> <resource> <email>`;
// strictly one thing at a time, and with no record kept, so every run costs the same.
// One deliberate difference: the original passed the strongDM admin token on sdm's command line (visible to every
// process on the machine); this re-implementation passes it in the environment (SDM_ADMIN_TOKEN) instead.
import { spawn } from 'node:child_process';

const ACCEPT = 'application/vnd.pagerduty+json;version=2';
const PAGE_LIMIT = 100;
/** PagerDuty refuses offset + limit above 10,000: no more pages than that can exist. */
const MAX_PAGES = 10_000 / PAGE_LIMIT;
const REQUEST_TIMEOUT_MS = 30_000;
const SDM_TIMEOUT_MS = 60_000;

/**
 * @typedef {object} SeedOptions
 * @property {string} apiUrl PagerDuty API base URL
 * @property {string} token PagerDuty API key
 * @property {string[]} scheduleIds
 * @property {string} since RFC3339
 * @property {string} until RFC3339
 * @property {string} resource the strongDM resource every on-call person gets
 * @property {boolean} paged add offset paging (not in the original)
 * @property {{ command: string, args: string[], env: Record<string, string> }} sdm how to start `sdm` (the admin
 *   token goes in env as SDM_ADMIN_TOKEN)
 *
 * @typedef {object} SeedResult
 * @property {number} rowsSeen on-call rows the /oncalls request(s) returned
 * @property {number} granted grant commands that exited 0
 * @property {string[]} failures one line per failed row
 */

/**
 * @param {string} url
 * @param {string} token
 */
async function getJson(url, token) {
  const response = await fetch(url, {
    headers: { Authorization: `Token token=${token}`, Accept: ACCEPT },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await response.json();
  if (!response.ok)
    throw new Error(`GET ${new URL(url).pathname}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * @param {SeedOptions} options
 * @returns {Promise<Array<{ user: { id: string }, start: string, end: string }>>}
 */
async function onCalls({ apiUrl, token, scheduleIds, since, until, paged }) {
  const rows = [];
  for (let page = 0, offset = 0; page < (paged ? MAX_PAGES : 1); page++) {
    const query = new URLSearchParams({ since, until });
    for (const id of scheduleIds) query.append('schedule_ids[]', id);
    if (paged) {
      query.set('limit', String(PAGE_LIMIT));
      query.set('offset', String(offset));
    }
    const body = await getJson(`${apiUrl}/oncalls?${query}`, token);
    rows.push(...body.oncalls);
    offset += body.oncalls.length;
    if (!body.more || body.oncalls.length === 0) break;
  }
  return rows;
}

/**
 * @param {{ command: string, args: string[], env: Record<string, string> }} sdm
 * @param {string[]} argv
 * @returns {Promise<{ code: number | null, stderr: string }>}
 */
function runSdm(sdm, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(sdm.command, [...sdm.args, ...argv], {
      env: sdm.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SDM_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/**
 * One run of the seed's algorithm.
 * @param {SeedOptions} options
 * @returns {Promise<SeedResult>}
 */
export async function runSeed(options) {
  const rows = await onCalls(options);
  let granted = 0;
  /** @type {string[]} */
  const failures = [];
  for (const row of rows) {
    const { user } = await getJson(
      `${options.apiUrl}/users/${encodeURIComponent(row.user.id)}`,
      options.token,
    );
    const result = await runSdm(options.sdm, [
      'admin',
      'users',
      'grant-temporary',
      '--from',
      row.start,
      '--until',
      row.end,
      options.resource,
      user.email,
    ]);
    if (result.code === 0) granted++;
    else failures.push(`${user.email}: exit ${result.code}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
  }
  return { rowsSeen: rows.length, granted, failures };
}
