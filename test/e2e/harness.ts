// A world for one end-to-end test: loopback fakes of PagerDuty, the sdm download site and sdm itself, a tool cache
// shared by the runs in it, and the committed dist/index.js run through the fake runner (test/fakes/runner.mjs).
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { afterEach, expect } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { startFakeSdmDownloads } from '../fakes/downloads.mjs';
import { startFakeGitHub } from '../fakes/github.mjs';
import { startFakePagerDuty } from '../fakes/pagerduty.mjs';
import { startFakeSdmServer } from '../fakes/sdm-server.mjs';
import { readSdmState, writeSdmState } from '../fakes/sdm-state.mjs';
import { runAction } from '../fakes/runner.mjs';
import { smallCompany } from './scenario.js';

export const PD_TOKEN = 'u+pdE2E_secret-Token1';
export const SDM_TOKEN = 'sdm-e2e-ADMIN-token-9f8e7d';
export const GITHUB_TOKEN = 'ghs_e2eWorkflowToken0123456789';

export type PagerDutyOrg = Parameters<typeof startFakePagerDuty>[0]['org'];

export interface WorldSeed {
  pagerduty: PagerDutyOrg;
  strongdm: {
    users: object[];
    resources: object[];
    strict?: boolean;
    faults?: object[];
    revokeCommand?: boolean;
    grantFlags?: string[];
    grants?: object[]; // grants made outside the action
    latencyMs?: number; // how long each sdm command takes to answer
  };
  sdmVersion?: string;
  /**
   * sdm served by one loopback server (test/fakes/sdm-server.mjs) behind a bash client, instead of one node process
   * per command: the same decisions, at a few ms per call instead of ~100 ms of CPU, for tests of many hundreds of
   * calls. Hang faults and FAKE_SDM_STATE are as described there.
   */
  servedSdm?: boolean;
}

type SdmServer = Awaited<ReturnType<typeof startFakeSdmServer>>;

export type ActionRun = Awaited<ReturnType<typeof runAction>>;

export class World {
  private constructor(
    readonly dir: string,
    readonly pagerduty: Awaited<ReturnType<typeof startFakePagerDuty>>,
    readonly downloads: Awaited<ReturnType<typeof startFakeSdmDownloads>>,
    readonly github: Awaited<ReturnType<typeof startFakeGitHub>>,
    readonly sdmStatePath: string,
    readonly toolCache: string,
    private readonly sdmServer?: SdmServer,
  ) {}

  static async start(seed: WorldSeed): Promise<World> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oncall-access-e2e-'));
    const pagerduty = await startFakePagerDuty({ org: seed.pagerduty, token: PD_TOKEN });
    const sdmStatePath = path.join(dir, 'sdm-state.json');
    await writeSdmState(sdmStatePath, { token: SDM_TOKEN, ...seed.strongdm });
    const sdmServer = seed.servedSdm ? await startFakeSdmServer({ statePath: sdmStatePath }) : undefined;
    const downloads = await startFakeSdmDownloads({
      version: seed.sdmVersion ?? '46.0.0',
      outDir: path.join(dir, 'downloads'),
      ...(sdmServer ? { wrapper: (version: string) => sdmServer.clientScript(version) } : {}),
    });
    const toolCache = path.join(dir, 'toolcache');
    await mkdir(toolCache, { recursive: true });
    const github = await startFakeGitHub({ tokens: { [GITHUB_TOKEN]: 'write' } });
    return new World(dir, pagerduty, downloads, github, sdmStatePath, toolCache, sdmServer);
  }

  async sdmState() {
    await this.sdmServer?.flush();
    return readSdmState(this.sdmStatePath);
  }

  /** The ledger on the state branch, as the action left it (empty before the first write). */
  ledger(branch = 'oncall-access-state'): { grants: Array<Record<string, string>> } {
    const file = this.github.branches().includes(branch)
      ? this.github.file(branch, 'ledger.json')
      : undefined;
    return file ? JSON.parse(file.text) : { grants: [] };
  }

  /** The commits the action made on the state branch (the first commit there is the default branch's). */
  ledgerCommits(branch = 'oncall-access-state'): Array<{ message: string; files: Record<string, string> }> {
    return this.github.branches().includes(branch) ? this.github.commits(branch).slice(1) : [];
  }

  /** The inputs every scenario needs; tests override or add. */
  baseInputs(): Record<string, string> {
    return {
      'pagerduty-token': PD_TOKEN,
      'pagerduty-api-url': this.pagerduty.url,
      'sdm-admin-token': SDM_TOKEN,
      'sdm-download-url': this.downloads.latestUrl,
      'sdm-checksum-url': `${this.downloads.url}/sha`,
    };
  }

  /** `env`: more of the runner's environment, e.g. a variable an earlier step left. */
  run(
    inputs: Record<string, string>,
    onSpawn?: (child: ChildProcess) => void,
    env: Record<string, string> = {},
    timeoutMs?: number,
  ): Promise<ActionRun> {
    return runAction({
      ...(timeoutMs ? { timeoutMs } : {}),
      onSpawn,
      inputs,
      workDir: path.join(this.dir, 'runs'),
      toolCache: this.toolCache,
      env: { ...env, FAKE_SDM_STATE: this.sdmStatePath, GITHUB_API_URL: this.github.url },
      githubToken: GITHUB_TOKEN,
    });
  }

  async close(): Promise<void> {
    await Promise.all([
      this.pagerduty.close(),
      this.downloads.close(),
      this.github.close(),
      this.sdmServer?.close(),
    ]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Every place a secret could leak: what the runner would show (stdout without the ::add-mask:: commands it
 * consumes), stderr, outputs, the summary, and every sdm argv. Returns the places where a secret was found.
 */
export async function secretLeaks(
  world: World,
  run: ActionRun,
  secrets = [PD_TOKEN, SDM_TOKEN, GITHUB_TOKEN],
): Promise<string[]> {
  const shown = run.stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  const places: Record<string, string> = {
    stdout: shown,
    stderr: run.stderr,
    outputs: JSON.stringify(run.outputs),
    summary: run.summary,
    'sdm argv': JSON.stringify((await world.sdmState()).invocations.map((i: { argv: string[] }) => i.argv)),
    'ledger commits': JSON.stringify(world.ledgerCommits()),
  };
  const leaks: string[] = [];
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) if (text.includes(secret)) leaks.push(place);
  }
  return leaks;
}

export interface Grant {
  email: string;
  resourceName: string;
  startFrom: string;
  validUntil: string;
}

export interface Invocation {
  argv: string[];
  tokenFromEnv: boolean;
  tokenInArgv: boolean;
  home: string | null;
  sdmHome: string | null;
  sdmEnv: string[]; // names of the SDM_* variables sdm received
}

/** sdm's help needs no token, and the action gives it none. */
export const isHelp = (invocation: Invocation) =>
  invocation.argv.includes('--help') || invocation.argv.includes('-h');

export const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Runs the action and checks what every run must hold: no secret anywhere a person or process could see it. */
export async function runChecked(
  w: World,
  inputs: Record<string, string>,
  onSpawn?: (child: ChildProcess) => void,
  env: Record<string, string> = {},
  timeoutMs?: number,
): Promise<ActionRun & { startedAt: number; endedAt: number }> {
  const startedAt = Math.floor(Date.now() / 1000);
  const run = await w.run(inputs, onSpawn, env, timeoutMs);
  const endedAt = Math.ceil(Date.now() / 1000);
  expect(await secretLeaks(w, run)).toEqual([]);
  const invocations = (await w.sdmState()).invocations as Invocation[];
  for (const invocation of invocations) {
    expect(invocation.tokenFromEnv).toBe(!isHelp(invocation));
    expect(invocation.tokenInArgv).toBe(false);
    // A private HOME in a run's RUNNER_TEMP; this run's is gone now it has ended (others may still be running).
    expect(invocation.home).toMatch(/\/temp\/sdm-home-[^/]+$/);
    expect(invocation.sdmHome).toBe(invocation.home);
    if (invocation.home?.startsWith(`${run.temp}/`)) expect(existsSync(invocation.home)).toBe(false);
  }
  return { ...run, startedAt, endedAt };
}

export function sortGrants(grants: Grant[]) {
  return grants
    .map(({ email, resourceName, startFrom, validUntil }) => ({
      email,
      resource: resourceName,
      startFrom,
      validUntil,
    }))
    .sort(
      (a, b) =>
        seconds(a.startFrom) - seconds(b.startFrom) ||
        a.email.localeCompare(b.email) ||
        a.resource.localeCompare(b.resource),
    );
}

/**
 * For a test file: a function that starts a world for the small company with the inputs every scenario needs
 * (plus `extra`), and closes it after each test.
 */
export function worlds(extra: Record<string, string> = {}) {
  let current: World | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const startSeed = async (seed: WorldSeed) => {
    current = await World.start(seed);
    return current;
  };
  const start = async (company = smallCompany()) => {
    const world = await startSeed(company.seed);
    const inputs: Record<string, string> = {
      ...world.baseInputs(),
      'schedule-ids': company.scheduleIds,
      resources: company.resources,
      ...extra,
    };
    return { world, company, inputs };
  };
  return { start, startSeed };
}
