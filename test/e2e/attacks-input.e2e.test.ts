// Attacks through what the action reads: PagerDuty error bodies that echo the key or carry workflow commands, and
// files named by inputs (rules, state: file:) that lead outside the workspace or are not regular files. Each
// scenario keeps the suite's invariants (test/e2e/invariants.ts) and counts in its tally.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowCommands } from '../fakes/runner.mjs';
import { PD_TOKEN, worlds, type ActionRun, type World } from './harness.js';
import { runScenario } from './invariants.js';

const { start } = worlds({ 'request-timeout': '2s', 'sdm-timeout': '3s' });

const errorLine = (run: ActionRun) => /^::error::(.*)$/m.exec(run.stdout)?.[1] ?? '';

/** Everything a person or a later step sees, minus the ::add-mask:: commands the runner consumes. */
const shown = (run: ActionRun) =>
  [
    run.stdout
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n'),
    run.stderr,
    run.summary,
    JSON.stringify(run.outputs),
  ].join('\n');

/** Every piece of `secret` 12 characters or longer: none may be shown (the runner masks only whole secrets). */
function partsOf(secret: string, length = 12): string[] {
  return Array.from({ length: secret.length - length + 1 }, (_, i) => secret.slice(i, i + length));
}

/**
 * The runs of `world` get their own workspace (GITHUB_WORKSPACE) that `prepare` fills first; `outside` is a folder
 * beside it, for what a path must not reach.
 */
async function withWorkspace(world: World, prepare: (workspace: string, outside: string) => Promise<void>) {
  const workspace = path.join(world.dir, 'workspace');
  const outside = path.join(world.dir, 'outside');
  await Promise.all([mkdir(workspace, { recursive: true }), mkdir(outside, { recursive: true })]);
  await prepare(workspace, outside);
  const run = world.run.bind(world);
  world.run = (inputs, onSpawn, env = {}) => run(inputs, onSpawn, { GITHUB_WORKSPACE: workspace, ...env });
  return { workspace, outside };
}

/** Rules instead of simple mode: the small company's schedules and resources, from a file. */
const RULES_YAML =
  '- name: everyone\n  schedules: [PPRIMAR, PDBONCL, PSECOND]\n  resources: [prod-db, bastion]\n';
const rulesFile = (file: string) => ({ rules: file, 'schedule-ids': '', resources: '' });

describe('PagerDuty error bodies', () => {
  it('a key echoed at the truncation point of an error body shows no part of it', async ({ task }) => {
    const { world, inputs } = await start();
    // The key starts 280 characters in: cut at 300 first, the scrubber would no longer see it whole.
    const echo = (status: string) => `${'x'.repeat(280)}${PD_TOKEN} was sent with ${status}`;
    world.pagerduty.faults.push({ path: '/oncalls', status: 503, body: echo('503'), times: 1 });
    world.pagerduty.faults.push({
      path: '/oncalls',
      status: 400,
      body: { error: { message: echo('400'), code: 2001 } },
    });
    const run = await runScenario(task, world, inputs, 1);
    expect(run.stdout).toMatch(
      /PagerDuty \/oncalls: HTTP 503 \(x+\*\*\* was sent with\.\.\.\); trying again/,
    );
    expect(errorLine(run)).toMatch(/^PagerDuty refused the request to \/oncalls \(400: x+\*\*\* was sent/);
    const text = shown(run);
    for (const part of partsOf(PD_TOKEN)) expect(text).not.toContain(part);
  });

  it('a workflow command in a 503 body is not acted on and is neutralized in the retry line', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    world.pagerduty.faults.push({
      path: '/oncalls',
      status: 503,
      body: 'upstream down\n::set-output name=granted::999\n##[set-output name=granted;]999\n::error::fake',
    });
    const run = await runScenario(task, world, inputs, 0);
    expect(run.outputs.granted).toBe('16');
    const retry = run.stdout.split('\n').find((line) => line.startsWith('PagerDuty /oncalls: HTTP 503'));
    expect(retry).toBe(
      'PagerDuty /oncalls: HTTP 503 (upstream down ::set-output name=granted::999 ' +
        '##\u2060[set-output name=granted;]999 ::error::fake); trying again in ' +
        /in (\d+ s)$/.exec(retry ?? '')?.[1],
    );
    const commands = workflowCommands(run.stdout).map((command) => command.name);
    expect(commands).not.toContain('set-output');
    expect(run.stdout).not.toMatch(/^::error::fake/m);
  });
});

describe('files named by inputs', () => {
  it('a rules file symlinked to a file outside the workspace is refused, its content not echoed', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    const marker = 'OUTSIDE-CONTENT-5b1e';
    await withWorkspace(world, async (workspace, outside) => {
      await writeFile(path.join(outside, 'rules.yml'), `- name: ${marker}\n  schedules: [${marker}]\n`);
      await mkdir(path.join(workspace, '.github'));
      await symlink(path.join(outside, 'rules.yml'), path.join(workspace, '.github', 'oncall.yml'));
    });
    const run = await runScenario(task, world, { ...inputs, ...rulesFile('.github/oncall.yml') }, 1);
    expect(errorLine(run)).toContain(
      'rules: cannot read ".github/oncall.yml" in the workspace: it leads outside the workspace ' +
        '(its real path, symlinks followed); point rules at a file inside the checked-out repository',
    );
    expect(shown(run)).not.toContain(marker);
    expect(run.pagerdutyPaths).toEqual([]);
  });

  it('a rules file inside the workspace, reached through a symlink that stays inside, is read', async ({
    task,
  }) => {
    const { world, inputs } = await start();
    await withWorkspace(world, async (workspace) => {
      await mkdir(path.join(workspace, 'config'));
      await writeFile(path.join(workspace, 'config', 'rules.yml'), RULES_YAML);
      await symlink('config/rules.yml', path.join(workspace, 'oncall.yml'));
    });
    const run = await runScenario(task, world, { ...inputs, ...rulesFile('oncall.yml') }, 0);
    expect(Number(run.outputs.granted)).toBeGreaterThan(0);
  });

  it('a FIFO as the rules file is refused at once: the run does not hang', async ({ task }) => {
    const { world, inputs } = await start();
    await withWorkspace(world, async (workspace) => {
      execFileSync('mkfifo', [path.join(workspace, 'oncall.yml')]);
    });
    const run = await runScenario(task, world, { ...inputs, ...rulesFile('oncall.yml') }, 1);
    expect(errorLine(run)).toContain(
      'rules: cannot read "oncall.yml" in the workspace: it is a FIFO (named pipe), not a regular file; ' +
        'point rules at a regular YAML file',
    );
    expect(run.durationMs).toBeLessThan(15_000);
  });

  it('state: file:../outside.json is refused and nothing is written outside', async ({ task }) => {
    const { world, inputs } = await start();
    const { outside } = await withWorkspace(world, async () => {});
    const run = await runScenario(task, world, { ...inputs, state: 'file:../outside.json' }, 1);
    expect(errorLine(run)).toContain(
      'state: "file:../outside.json" leads outside the workspace (its real path, symlinks followed); ' +
        'use a path inside the workspace, e.g. file:.oncall-access/ledger.json',
    );
    expect(existsSync(path.join(path.dirname(outside), 'outside.json'))).toBe(false);
    expect((await world.sdmState()).grants).toEqual([]);
  });

  it('state: file: through a symlinked folder leading outside is refused', async ({ task }) => {
    const { world, inputs } = await start();
    const { outside } = await withWorkspace(world, async (workspace, out) => {
      await symlink(out, path.join(workspace, '.oncall-access'));
    });
    const run = await runScenario(task, world, { ...inputs, state: 'file:.oncall-access/ledger.json' }, 1);
    expect(errorLine(run)).toMatch(
      /^state: "file:\.oncall-access\/ledger\.json" leads outside the workspace/,
    );
    expect(existsSync(path.join(outside, 'ledger.json'))).toBe(false);
  });
});
