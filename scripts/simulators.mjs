// @ts-check
// `node scripts/simulators.mjs`: starts the built-in simulators (PagerDuty, the sdm download site and `sdm`, the
// GitHub API) with the demo company on loopback, writes a dotenv file that points the action at them, and keeps
// them running for `npx @github/local-action` runs or a workflow job, until Ctrl-C, SIGTERM or --duration.
// Everything it made (servers, files, the env file unless someone edited it) is gone when it stops.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_REPOSITORY, DEMO_TOKENS, demoRules, startDemoWorld } from '../test/fakes/world.mjs';

/** The local-action release this was checked with (its runner reads INPUT_<NAME> with the hyphens kept). */
const LOCAL_ACTION = '@github/local-action@7.0.1';
/** First line of every env file this script writes: only such a file is ever replaced or removed. */
const MARKER = '# Written by scripts/simulators.mjs';
const DEFAULT_DURATION = '60m';
const MAX_DURATION_MS = 24 * 3_600_000;

const USAGE = `Usage: node scripts/simulators.mjs [--dotenv PATH] [--duration 60m] [--workspace DIR]

Starts simulated PagerDuty, strongDM (sdm download site and sdm) and GitHub API servers on 127.0.0.1 with a
demo company, writes PATH (default .env) for \`npx ${LOCAL_ACTION} run . src/main.ts PATH\`, and runs
until Ctrl-C, SIGTERM or --duration (units s, m, h; at most 24h).
An existing PATH is replaced only when this script wrote it. --workspace DIR: the workspace the action runs in
(GITHUB_WORKSPACE; the rules file is written there); default a temporary folder.`;

/**
 * "90s", "20m", "1h30m" → milliseconds; undefined for anything else. A small copy of src/durations.ts: this script
 * runs under plain node, which cannot import the TypeScript source (and --duration needs no days or weeks).
 * @param {string} text
 */
function parseDuration(text) {
  if (!/^(\d+[smh])+$/.test(text)) return undefined;
  const unitMs = { s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smh])/g))
    total += Number(amount) * unitMs[/** @type {'s' | 'm' | 'h'} */ (unit)];
  return total > 0 && total <= MAX_DURATION_MS ? total : undefined;
}

/**
 * @param {string} message
 * @returns {never}
 */
function usageError(message) {
  console.error(`simulators: ${message}\n\n${USAGE}`);
  return process.exit(2);
}

/**
 * @param {string} file
 * @returns {Promise<string | undefined>}
 */
async function readIfExists(file) {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Values go unquoted: dotenv and a workflow's GITHUB_ENV then read them the same way (GITHUB_ENV keeps quotes).
 * @param {Array<string | [string, string]>} lines comments (strings) and variables
 */
function envFileText(lines) {
  return lines
    .map((line) => {
      if (typeof line === 'string') return line;
      const [name, value] = line;
      if (!/^[^\s#'"`\\]*$/.test(value))
        throw new Error(
          `${name}: ${JSON.stringify(value)} cannot be written unquoted (set TMPDIR to a plain path)`,
        );
      return `${name}=${value}`;
    })
    .join('\n');
}

const { values: options } = (() => {
  try {
    return parseArgs({
      options: {
        dotenv: { type: 'string', default: '.env' },
        duration: { type: 'string', default: DEFAULT_DURATION },
        workspace: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(/** @type {Error} */ (error).message);
  }
})();
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const durationMs = parseDuration(options.duration);
if (durationMs === undefined)
  usageError(`--duration ${options.duration}: expected e.g. 90s, 20m, 1h30m (at most 24h)`);
const envFile = path.resolve(options.dotenv);
const existing = await readIfExists(envFile);
if (existing !== undefined && !existing.startsWith(MARKER)) {
  console.error(
    `simulators: ${envFile} exists and was not written by this script; it is left alone. ` +
      'Move it away or pass --dotenv with another path.',
  );
  process.exit(2);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-simulators-'));
const workspace = options.workspace ? path.resolve(options.workspace) : path.join(dir, 'workspace');
// In a given workspace the rules go into a folder of their own, so no file of the repository is touched.
const rulesDir = options.workspace ? path.join(workspace, '.oncall-access-simulators') : workspace;
const rulesFile = path.join(rulesDir, 'rules.yml');
const paths = {
  temp: path.join(dir, 'runner-temp'),
  toolCache: path.join(dir, 'toolcache'),
  summary: path.join(dir, 'summary.md'),
};
/** @type {Awaited<ReturnType<typeof startDemoWorld>> | undefined} */
let world;
/** @type {string | undefined} */
let written;
let stopping = false;

/**
 * Stops the servers and removes what this script made; the env file only if it is still as written.
 * @param {string} reason
 */
async function stop(reason) {
  if (stopping) return;
  stopping = true;
  clearTimeout(timer);
  console.log(`\nsimulators: stopping (${reason})`);
  await world?.close();
  if (written !== undefined && (await readIfExists(envFile)) === written) await rm(envFile, { force: true });
  if (options.workspace) {
    await rm(rulesFile, { force: true });
    await rmdir(rulesDir).catch(() => {}); // kept if someone put files of their own there
  }
  await rm(dir, { recursive: true, force: true });
}

const timer = setTimeout(
  () => void stop(`--duration ${options.duration} is over`).then(() => process.exit(0)),
  durationMs,
);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    // A second signal while stopping: give up on cleaning up.
    if (stopping) process.exit(130);
    void stop(signal).then(() => process.exit(0));
  });
}

try {
  await Promise.all([
    mkdir(paths.temp),
    mkdir(paths.toolCache),
    mkdir(rulesDir, { recursive: true }),
    writeFile(paths.summary, ''),
  ]);
  await writeFile(rulesFile, demoRules());
  world = await startDemoWorld({ dir });
  const until = new Date(Date.now() + /** @type {number} */ (durationMs));
  const sdmDownloadUrl = world.downloads.latestUrl;
  const sdmChecksumUrl = `${world.downloads.url}/sha`;
  written = `${envFileText([
    `${MARKER} for the simulators it started; they stop at ${until.toISOString()}.`,
    '# Ports change on every start: this file is rewritten then, and removed when they stop (unless edited).',
    "# Every variable is explained in .env.example. Tokens are the simulators' fake ones.",
    '',
    '# Where the run keeps its files (the runner sets these in a workflow)',
    ['GITHUB_WORKSPACE', workspace],
    ['RUNNER_TEMP', paths.temp],
    ['RUNNER_TOOL_CACHE', paths.toolCache],
    ['GITHUB_STEP_SUMMARY', paths.summary],
    ['ACTIONS_STEP_DEBUG', 'false'],
    '',
    '# The ledger: ledger.json on branch oncall-access-state of the fake GitHub',
    ['GITHUB_API_URL', world.github.url],
    ['GITHUB_REPOSITORY', DEMO_REPOSITORY],
    '',
    '# The fake sdm inside the downloaded zip keeps its users, resources and grants here',
    ['FAKE_SDM_STATE', world.sdmState],
    '',
    '# Inputs, named as the runner names them (hyphens kept)',
    ['INPUT_PAGERDUTY-TOKEN', DEMO_TOKENS.pagerduty],
    ['INPUT_PAGERDUTY-API-URL', world.pagerduty.url],
    ['INPUT_RULES', rulesFile],
    ['INPUT_SDM-ADMIN-TOKEN', DEMO_TOKENS.sdmAdmin],
    ['INPUT_SDM-DOWNLOAD-URL', sdmDownloadUrl],
    ['INPUT_SDM-CHECKSUM-URL', sdmChecksumUrl],
    ['INPUT_GITHUB-TOKEN', DEMO_TOKENS.github],
    '',
    '# The same for a workflow job that passes them as inputs itself',
    ['PAGERDUTY_API_URL', world.pagerduty.url],
    ['PAGERDUTY_TOKEN', DEMO_TOKENS.pagerduty],
    ['SDM_ADMIN_TOKEN', DEMO_TOKENS.sdmAdmin],
    ['SDM_DOWNLOAD_URL', sdmDownloadUrl],
    ['SDM_CHECKSUM_URL', sdmChecksumUrl],
    ['RULES', rulesFile],
  ])}\n`;
  // Written whole, then renamed: whoever waits for the file never reads half of it.
  const partial = `${envFile}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(partial, written);
  await rename(partial, envFile);

  const shownEnvFile = path.relative(process.cwd(), envFile) || envFile;
  console.log(`oncall-access simulators, with a demo company, until ${until.toISOString()} (Ctrl-C stops them):
  PagerDuty        ${world.pagerduty.url}  (4 schedules, 2 escalation policies, 9 people, 1 open incident; key ${DEMO_TOKENS.pagerduty})
  sdm downloads    ${world.downloads.url}  (the zip holds a fake sdm: state ${world.sdmState})
  GitHub API       ${world.github.url}  (${DEMO_REPOSITORY}; the ledger goes to branch oncall-access-state)
  rules            ${rulesFile}
Wrote ${envFile}. From the repository root, run the action from its TypeScript source:
  npx -y ${LOCAL_ACTION} run . src/main.ts ${shownEnvFile}
The first run grants, a re-run finds nothing to do. Job summaries: ${paths.summary}`);
} catch (error) {
  console.error(`simulators: could not start: ${/** @type {Error} */ (error).stack ?? String(error)}`);
  await stop('start failed');
  process.exit(1);
}
