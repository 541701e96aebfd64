// A stand-in for the GitHub runner: starts the committed dist/index.js under Node 24 the way the runner does
// (INPUT_* variables that keep their hyphens, action.yml defaults applied, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files, RUNNER_TEMP, RUNNER_TOOL_CACHE) and collects what it left behind. Used by the e2e tests and the demo.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { resolveNode24 } from './node24.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(root, 'dist/index.js');
const RUN_TIMEOUT_MS = 120_000;

/**
 * @typedef {object} ActionRun
 * @property {number | null} exitCode
 * @property {string} stdout
 * @property {string} stderr
 * @property {Record<string, string>} outputs
 * @property {string} summary
 * @property {Array<Record<string, unknown>>} plan
 * @property {number} durationMs
 * @property {string} temp RUNNER_TEMP of the run
 */

/**
 * @param {object} options
 * @param {Record<string, string>} options.inputs as a workflow's `with:` would give them
 * @param {string} options.workDir a folder for this run's files (created)
 * @param {string} options.toolCache RUNNER_TOOL_CACHE, shared between runs on the same "runner"
 * @param {Record<string, string>} [options.env] more environment (e.g. FAKE_SDM_STATE, GITHUB_API_URL)
 * @param {string} [options.githubToken] what `${{ github.token }}` stands for in action.yml defaults
 * @param {(child: import('node:child_process').ChildProcess) => void} [options.onSpawn] e.g. to cancel the run
 * @param {number} [options.timeoutMs] the run is killed after this long (default 120 s)
 * @returns {Promise<ActionRun>}
 */
export async function runAction({
  inputs,
  workDir,
  toolCache,
  env = {},
  githubToken = '',
  onSpawn,
  timeoutMs = RUN_TIMEOUT_MS,
}) {
  await mkdir(workDir, { recursive: true });
  const runDir = await mkdtemp(path.join(workDir, 'run-'));
  const outputFile = path.join(runDir, 'output');
  const summaryFile = path.join(runDir, 'summary.md');
  const temp = path.join(runDir, 'temp');
  const workspace = path.join(runDir, 'workspace');
  await Promise.all([writeFile(outputFile, ''), writeFile(summaryFile, ''), mkdir(temp), mkdir(workspace)]);

  /** @type {Record<string, string>} */
  const runnerEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: runDir,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_REPOSITORY: 'acme/ops',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9', // nothing listens there unless env gives a fake GitHub
    GITHUB_RUN_ID: '4242',
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: toolCache,
    ...env,
  };
  for (const [name, value] of Object.entries({ ...(await actionDefaults()), ...inputs })) {
    // The runner keeps hyphens (INPUT_PAGERDUTY-TOKEN) and evaluates expressions in defaults.
    runnerEnv[`INPUT_${name.toUpperCase()}`] = value.replace('${{ github.token }}', githubToken);
  }

  const started = performance.now();
  const { exitCode, stdout, stderr } = await spawnNode(DIST, runnerEnv, workspace, onSpawn, timeoutMs);
  const durationMs = performance.now() - started;
  const outputs = parseOutputFile(await readFile(outputFile, 'utf8'));
  const summary = await readFile(summaryFile, 'utf8');
  return {
    exitCode,
    stdout,
    stderr,
    outputs,
    summary,
    plan: outputs.plan ? JSON.parse(outputs.plan) : [],
    durationMs,
    temp,
  };
}

/** @type {Record<string, string> | undefined} */
let defaults;
/** The runner applies action.yml defaults for inputs the workflow does not set. */
async function actionDefaults() {
  if (!defaults) {
    const action = parseYaml(await readFile(path.join(root, 'action.yml'), 'utf8'));
    defaults = Object.fromEntries(
      Object.entries(/** @type {Record<string, { default?: unknown }>} */ (action.inputs)).flatMap(
        ([name, spec]) => (spec.default === undefined ? [] : [[name, String(spec.default)]]),
      ),
    );
  }
  return defaults;
}

/** @type {string | undefined} the node binary runs use (see node24.mjs) */
let node24;

/**
 * Spawned directly, not through a shell: dash drops variables whose names contain "-".
 * @param {string} script
 * @param {Record<string, string>} env
 * @param {string} cwd
 * @param {((child: import('node:child_process').ChildProcess) => void) | undefined} onSpawn
 * @param {number} [timeoutMs]
 * @returns {Promise<{ exitCode: number | null, stdout: string, stderr: string }>}
 */
function spawnNode(script, env, cwd, onSpawn, timeoutMs = RUN_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    // Resolved at the first run, not on import: importing only the log helpers needs no Node 24.
    node24 ??= resolveNode24();
    const child = spawn(node24, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

/**
 * GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` blocks.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseOutputFile(text) {
  /** @type {Record<string, string>} */
  const outputs = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const [, name, delimiter] = match;
    const value = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]);
    outputs[/** @type {string} */ (name)] = value.join('\n');
  }
  return outputs;
}

/**
 * Reads a step's stdout as the runner does: `::name ...::` at the start of a line (after leading white space), or the
 * older `##[name ...]` anywhere in a line, is a workflow command, except between `::stop-commands::TOKEN` and
 * `::TOKEN::`. Yields each line with the command it holds, if any.
 * @param {string} stdout
 * @returns {Generator<{ line: string, command?: string }>}
 */
function* readLog(stdout) {
  /** @type {string | undefined} */
  let stopToken;
  for (const line of stdout.split('\n')) {
    const trimmed = line.trim();
    if (stopToken !== undefined) {
      if (trimmed === `::${stopToken}::`) {
        stopToken = undefined;
        yield { line, command: 'resume-commands' };
      } else {
        yield { line };
      }
      continue;
    }
    const command = /^::([A-Za-z-]+)[ :]/.exec(trimmed)?.[1] ?? /##\[([A-Za-z-]+)[\] ]/.exec(line)?.[1];
    if (command === 'stop-commands') stopToken = trimmed.slice('::stop-commands::'.length);
    yield command ? { line, command } : { line };
  }
}

/**
 * The step log as a person sees it on github.com: commands the runner consumes are hidden, annotations and groups
 * rendered, and lines while commands are stopped shown as written.
 * @param {string} stdout
 * @returns {string}
 */
export function renderLog(stdout) {
  /** @type {string[]} */
  const shown = [];
  for (const { line, command } of readLog(stdout)) {
    // Consumed by the runner; debug lines show only with step debugging on.
    if (command && !['group', 'warning', 'error', 'notice'].includes(command)) continue;
    shown.push(
      line
        .replace(/^::group::/, '▸ ')
        .replace(
          /^::(warning|error|notice)[^:]*::/,
          (_, kind) => `${kind[0].toUpperCase()}${kind.slice(1)}: `,
        )
        .replace(/%0A/g, '\n  ')
        .replace(/%0D/g, '')
        .replace(/%25/g, '%'),
    );
  }
  return shown.join('\n');
}

/**
 * The workflow commands the runner would act on in this output.
 * @param {string} stdout
 * @returns {Array<{ name: string, line: string }>}
 */
export function workflowCommands(stdout) {
  return [...readLog(stdout)].flatMap(({ line, command }) => (command ? [{ name: command, line }] : []));
}
