import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runAction } from '../test/fakes/runner.mjs';
import { DEMO_INCIDENT, DEMO_INCIDENT_RESOURCE, DEMO_INCIDENT_RULE } from '../test/fakes/world.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const script = path.join(here, 'simulators.mjs');

interface Simulators {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

const started: Simulators[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  // SIGTERM lets the script clean up; its files are in the test's folder anyway (TMPDIR), removed next.
  for (const simulators of started.splice(0)) {
    if (simulators.child.exitCode !== null) continue;
    simulators.child.kill('SIGTERM');
    await Promise.race([simulators.exited, sleep(5_000)]);
    simulators.child.kill('SIGKILL');
  }
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'simulators-test-'));
  tempDirs.push(dir);
  return dir;
}

/** Runs the script with TMPDIR in `dir`, so that whatever it leaves behind goes with the test's folder. */
function startSimulators(dir: string, args: string[]): Simulators {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, TMPDIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const simulators = { child, exited, output: () => output };
  started.push(simulators);
  return simulators;
}

/** The env file appears once every simulator listens; the script dying first fails the test with its output. */
async function waitForFile(file: string, simulators: Simulators): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(file)) {
    if (simulators.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`no ${file}; simulators said:\n${simulators.output()}`);
    await sleep(100);
  }
  return readFile(file, 'utf8');
}

/** The script's exit code; a script still running after `ms` is killed and fails the test. */
async function exitCodeWithin(simulators: Simulators, ms: number): Promise<number | null> {
  const timeout = sleep(ms).then(() => 'still running' as const);
  const result = await Promise.race([simulators.exited, timeout]);
  if (result === 'still running') {
    simulators.child.kill('SIGKILL');
    throw new Error(`still running after ${ms} ms; it said:\n${simulators.output()}`);
  }
  return result;
}

/** NAME=value lines (dotenv's unquoted form, which the script writes); comments and blank lines skipped. */
function parseEnvFile(text: string): Map<string, string> {
  const entries = text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line): [string, string] => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
  return new Map(entries);
}

function required(env: Map<string, string>, name: string): string {
  const value = env.get(name);
  if (value === undefined) throw new Error(`${name} missing from the env file`);
  return value;
}

describe('scripts/simulators.mjs', () => {
  it('writes an env file the bundled action grants with, then stops everything on SIGTERM', async () => {
    const dir = await tempDir();
    const envFile = path.join(dir, 'sim.env');
    const simulators = startSimulators(dir, ['--dotenv', envFile, '--duration', '1m']);
    const env = parseEnvFile(await waitForFile(envFile, simulators));
    const example = parseEnvFile(await readFile(path.join(root, '.env.example'), 'utf8'));
    expect([...env.keys()].sort()).toEqual([...example.keys()].sort());

    const inputs = Object.fromEntries(
      [...env].flatMap(([name, value]) =>
        name.startsWith('INPUT_') ? [[name.slice('INPUT_'.length).toLowerCase(), value]] : [],
      ),
    );
    const run = await runAction({
      inputs,
      workDir: path.join(dir, 'runs'),
      toolCache: path.join(dir, 'toolcache'),
      env: Object.fromEntries(
        ['FAKE_SDM_STATE', 'GITHUB_API_URL', 'GITHUB_REPOSITORY', 'GITHUB_WORKSPACE'].map((name) => [
          name,
          required(env, name),
        ]),
      ),
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(Number(run.outputs.granted)).toBeGreaterThan(0);
    const granted = run.plan.find((row) => row.status === 'granted');
    // The demo company's open incident gives its on-call assignee the incident rule's resource.
    expect(run.plan).toContainEqual(
      expect.objectContaining({
        status: 'granted',
        rule: DEMO_INCIDENT_RULE,
        resource: DEMO_INCIDENT_RESOURCE,
        pagerdutyUserId: DEMO_INCIDENT.assignee,
      }),
    );

    // The grants are in the ledger on the simulated GitHub.
    const ledger = await fetch(
      `${required(env, 'GITHUB_API_URL')}/repos/${required(env, 'GITHUB_REPOSITORY')}/contents/ledger.json?ref=oncall-access-state`,
      { headers: { authorization: `token ${required(env, 'INPUT_GITHUB-TOKEN')}` } },
    );
    expect(ledger.status).toBe(200);
    const { content } = (await ledger.json()) as { content: string };
    expect(Buffer.from(content, 'base64').toString('utf8')).toContain(String(granted?.email));

    simulators.child.kill('SIGTERM');
    expect(await exitCodeWithin(simulators, 10_000)).toBe(0);
    expect(existsSync(envFile)).toBe(false);
    expect(existsSync(path.dirname(required(env, 'FAKE_SDM_STATE')))).toBe(false);
    await expect(fetch(required(env, 'PAGERDUTY_API_URL'))).rejects.toThrow();
  });

  it('stops by itself when --duration is over, keeping an env file someone edited', async () => {
    const dir = await tempDir();
    const envFile = path.join(dir, 'sim.env');
    const simulators = startSimulators(dir, ['--dotenv', envFile, '--duration', '2s']);
    const env = parseEnvFile(await waitForFile(envFile, simulators));
    await appendFile(envFile, 'INPUT_DRY-RUN=true\n');

    expect(await exitCodeWithin(simulators, 15_000)).toBe(0);
    expect(simulators.output()).toContain('--duration 2s is over');
    expect(await readFile(envFile, 'utf8')).toContain('INPUT_DRY-RUN=true');
    await expect(fetch(required(env, 'GITHUB_API_URL'))).rejects.toThrow();
  });

  it('leaves alone an env file it did not write', async () => {
    const dir = await tempDir();
    const envFile = path.join(dir, '.env');
    await writeFile(envFile, 'PAGERDUTY_TOKEN=my-own\n');
    const simulators = startSimulators(dir, ['--dotenv', envFile, '--duration', '1m']);

    expect(await exitCodeWithin(simulators, 10_000)).toBe(2);
    expect(simulators.output()).toContain('was not written by this script');
    expect(await readFile(envFile, 'utf8')).toBe('PAGERDUTY_TOKEN=my-own\n');
  });

  it('refuses a duration it cannot read', async () => {
    const dir = await tempDir();
    const simulators = startSimulators(dir, [
      '--dotenv',
      path.join(dir, 'sim.env'),
      '--duration',
      '5 minutes',
    ]);
    expect(await exitCodeWithin(simulators, 10_000)).toBe(2);
    expect(simulators.output()).toContain('--duration 5 minutes');
  });
});

describe('.env.example', () => {
  it('sets only inputs action.yml has, github-token among them (local-action does not evaluate its default)', async () => {
    const action = parseYaml(await readFile(path.join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, unknown>;
    };
    const example = parseEnvFile(await readFile(path.join(root, '.env.example'), 'utf8'));
    const inputs = [...example.keys()]
      .filter((name) => name.startsWith('INPUT_'))
      .map((name) => name.slice('INPUT_'.length).toLowerCase());
    expect(inputs).toContain('github-token');
    for (const input of inputs) expect(Object.keys(action.inputs), input).toContain(input);
  });
});
