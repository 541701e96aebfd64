// One benchmark world: the loopback fakes of PagerDuty, the sdm download site, sdm itself and the GitHub API, with
// injected latency, for one generated company; runs of the seed and of the committed dist/index.js in it; and the
// counts each run left on the fakes.
// The fake sdm is SERVED (test/fakes/sdm-server.mjs): it runs in this process, and the `sdm` in the downloaded zip
// (and the one the seed runs) is its bash client, so that each sdm call costs a bash start (like the real sdm, a Go
// binary, costs little to start) instead of a node start (~100 ms of CPU, which at concurrency 16 on a small
// machine would be what the bench measures). Same decisions as the per-process fake: the same code makes them.
// Its state lives in the server's memory: every read of the state file here flushes it first.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startFakeSdmDownloads } from '../test/fakes/downloads.mjs';
import { startFakeGitHub } from '../test/fakes/github.mjs';
import { startFakePagerDuty } from '../test/fakes/pagerduty.mjs';
import { runAction } from '../test/fakes/runner.mjs';
import { startFakeSdmServer } from '../test/fakes/sdm-server.mjs';
import { readSdmState, writeSdmState } from '../test/fakes/sdm-state.mjs';
import { runSeed } from './seed.mjs';

export const PD_TOKEN = 'bench-pd-token-1a2b3c';
export const SDM_TOKEN = 'bench-sdm-admin-token-4d5e6f';
export const GITHUB_TOKEN = 'ghs_benchWorkflowToken0123456789';
/** One run of ours may take this long before the bench kills it (the runner's own 120 s cap is lifted). */
const RUN_CAP_MS = 40 * 60_000;

/**
 * @typedef {import('./stats.mjs').Run} Run
 * @typedef {{ pd: number, zip: number, gh: number, inv: number }} Marks
 */

/** @param {{ argv: string[] }} i */
const isLocal = (i) =>
  i.argv.some((a) => ['--help', '-h', 'help', '--version', '-v'].includes(a)) || i.argv.length === 0;
/** @param {{ argv: string[] }} i */
const isWrite = (i) => !isLocal(i) && (i.argv.includes('grant-temporary') || i.argv.includes('revoke'));

export class BenchWorld {
  /**
   * @param {object} parts
   * @param {string} parts.dir
   * @param {ReturnType<typeof import('./company.mjs').makeCompany>} parts.company
   * @param {Awaited<ReturnType<typeof startFakePagerDuty>>} parts.pagerduty
   * @param {Awaited<ReturnType<typeof startFakeSdmDownloads>>} parts.downloads
   * @param {Awaited<ReturnType<typeof startFakeGitHub>>} parts.github
   * @param {Awaited<ReturnType<typeof startFakeSdmServer>>} parts.sdm the served fake sdm
   * @param {string} parts.sdmClient its bash client (the `sdm` the seed and the probe run)
   * @param {string} parts.sdmState
   * @param {number} parts.sdmLatencyMs
   */
  constructor(parts) {
    this.dir = parts.dir;
    this.company = parts.company;
    this.pagerduty = parts.pagerduty;
    this.downloads = parts.downloads;
    this.github = parts.github;
    this.sdm = parts.sdm;
    this.sdmClient = parts.sdmClient;
    this.sdmState = parts.sdmState;
    this.sdmLatencyMs = parts.sdmLatencyMs;
    this.runs = 0;
    /** @type {(() => void) | undefined} kills the run of ours under way */
    this.stop = undefined;
  }

  /**
   * @param {{ company: ReturnType<typeof import('./company.mjs').makeCompany>, tmpRoot: string, pagerdutyLatencyMs: number, sdmLatencyMs: number }} options
   * @param {(close: () => Promise<void>) => void} register called at once with this world's cleanup (for failures)
   */
  static async start({ company, tmpRoot, pagerdutyLatencyMs, sdmLatencyMs }, register) {
    const dir = await mkdtemp(path.join(tmpRoot, `world-${company.rows}-`));
    /** @type {Array<() => Promise<void>>} */
    const closers = [];
    let closed = false;
    /** @type {BenchWorld | undefined} */
    let world;
    register(async () => {
      if (closed) return;
      closed = true;
      world?.stop?.();
      await Promise.allSettled(closers.map((c) => c()));
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    });
    // The served fake sdm: its state file must exist before it starts (seedSdm below re-seeds it; the server
    // notices the new file and reloads).
    const sdmState = path.join(dir, 'sdm-state.json');
    writeSdmState(sdmState, { token: SDM_TOKEN });
    const sdm = await startFakeSdmServer({ statePath: sdmState });
    closers.push(() => sdm.close());
    const sdmClient = path.join(dir, 'sdm-client');
    await writeFile(sdmClient, sdm.clientScript());
    await chmod(sdmClient, 0o755);
    const pagerduty = await startFakePagerDuty({
      org: company.seed.pagerduty,
      token: PD_TOKEN,
      latencyMs: pagerdutyLatencyMs,
    });
    closers.push(() => pagerduty.close());
    const downloads = await startFakeSdmDownloads({
      outDir: path.join(dir, 'downloads'),
      wrapper: (version) => sdm.clientScript(version),
    });
    closers.push(() => downloads.close());
    const github = await startFakeGitHub({ tokens: { [GITHUB_TOKEN]: 'write' } });
    closers.push(() => github.close());
    world = new BenchWorld({
      dir,
      company,
      pagerduty,
      downloads,
      github,
      sdm,
      sdmClient,
      sdmState,
      sdmLatencyMs,
    });
    world.seedSdm({ grants: [], writeLimit: undefined });
    return world;
  }

  /**
   * (Re)writes the fake sdm's state: the company's users and resource, `grants`, the injected latency, and the write
   * limit (undefined: strongDM's documented 500 per 60 s; null: lifted, for a setup step only). The write-limit
   * window starts empty: each measured run stands for a token that made no writes in the last minute.
   * @param {{ grants: object[], writeLimit: { max: number, windowMs: number } | null | undefined, latencyMs?: number }} options
   */
  seedSdm({ grants, writeLimit, latencyMs = this.sdmLatencyMs }) {
    const current = grants.length > 0 ? this.sdmStateNow() : undefined;
    writeSdmState(this.sdmState, {
      token: SDM_TOKEN,
      ...(current ? { users: current.users, resources: current.resources } : this.company.seed.strongdm),
      grants,
      latencyMs,
      ...(writeLimit === undefined ? {} : { writeLimit }),
    });
  }

  /** The fake sdm's state as of now (the served fake's memory flushed to its file first). */
  sdmStateNow() {
    this.sdm.flushSync();
    return readSdmState(this.sdmState);
  }

  /** @returns {object[]} the grants the fake sdm holds */
  grants() {
    return this.sdmStateNow().grants;
  }

  /** @returns {Marks} */
  marks() {
    return {
      pd: this.pagerduty.requests.length,
      zip: this.downloads.counts.zip,
      gh: this.github.requests.length,
      inv: this.sdmStateNow().invocations.length,
    };
  }

  /**
   * What happened on the fakes since `before`.
   * @param {Marks} before
   * @returns {Omit<Run, 'wallMs'>}
   */
  countsSince(before) {
    const pd = this.pagerduty.requests.slice(before.pd);
    const gh = this.github.requests.slice(before.gh);
    const state = this.sdmStateNow();
    const inv = state.invocations.slice(before.inv);
    return {
      pagerduty: {
        oncalls: pd.filter((r) => r.path === '/oncalls').length,
        other: pd.filter((r) => r.path !== '/oncalls').length,
      },
      sdm: {
        invocations: inv.length,
        help: inv.filter(isLocal).length,
        writes: inv.filter(isWrite).length,
        rateLimited: inv.filter((i) => /** @type {{ rateLimited?: boolean }} */ (i).rateLimited).length,
      },
      downloads: this.downloads.counts.zip - before.zip,
      ledger: {
        reads: gh.filter((r) => r.method === 'GET' && /\/(contents|git\/blobs)\//.test(r.path)).length,
        writes: gh.filter((r) => r.method === 'PUT' && r.path.includes('/contents/')).length,
      },
      grants: state.grants.length,
    };
  }

  /**
   * One run of the committed dist/index.js (through the fake runner), with a fresh, empty tool cache.
   * `ledgerFile`: keep the ledger in that file of the run's workspace (state: file:…) instead of on `stateBranch`,
   * and return its text as `ledger` (the setup run: the fake GitHub is not what is measured there).
   * `inputs`: inputs to add or override (e.g. a subset of schedule-ids).
   * @param {{ stateBranch: string, concurrency: number, profileDir?: string, ledgerFile?: string, inputs?: Record<string, string> }} options
   * @returns {Promise<Run & { profile?: string, stdout: string, stderr: string }>}
   */
  async runOurs({ stateBranch, concurrency, profileDir, ledgerFile, inputs = {} }) {
    const n = ++this.runs;
    const toolCache = path.join(this.dir, `toolcache-${n}`);
    await mkdir(toolCache, { recursive: true });
    /** @type {Record<string, string>} */
    const env = { FAKE_SDM_STATE: this.sdmState, GITHUB_API_URL: this.github.url };
    if (profileDir) {
      await mkdir(profileDir, { recursive: true });
      env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profileDir}`;
    }
    const before = this.marks();
    // Long runs report progress every 30 s: the grants the fake sdm holds.
    const startedAt = performance.now();
    const progress = setInterval(() => {
      const grants = this.sdmStateNow().grants.length;
      console.log(
        `    … ${Math.round((performance.now() - startedAt) / 1000)} s: ${grants} grants in the fake sdm`,
      );
    }, 30_000);
    /** @type {number | undefined} */
    let pid;
    /** @type {NodeJS.Timeout | undefined} */
    let cap;
    /** @type {Awaited<ReturnType<typeof runAction>>} */
    let run;
    try {
      run = await runAction({
        inputs: {
          'pagerduty-token': PD_TOKEN,
          'pagerduty-api-url': this.pagerduty.url,
          'sdm-admin-token': SDM_TOKEN,
          'sdm-download-url': this.downloads.latestUrl,
          'sdm-checksum-url': `${this.downloads.url}/sha`,
          ...this.company.inputs,
          concurrency: String(concurrency),
          'max-new-grants': '100000',
          'time-budget': '1h',
          ...(ledgerFile ? { state: `file:${ledgerFile}` } : { 'state-branch': stateBranch }),
          ...inputs,
        },
        workDir: path.join(this.dir, 'runs'),
        toolCache,
        env,
        githubToken: GITHUB_TOKEN,
        onSpawn: (child) => {
          pid = child.pid;
          // runner.mjs kills a run after 120 s (right for tests); a first run paced under the write limit may take
          // longer, so the bench takes over that kill with its own, longer cap.
          const kill = child.kill.bind(child);
          child.kill = () => false;
          cap = setTimeout(() => kill('SIGKILL'), RUN_CAP_MS);
          this.stop = () => kill('SIGKILL');
          child.once('close', () => {
            clearTimeout(cap);
            this.stop = undefined;
          });
        },
      });
    } finally {
      clearTimeout(cap);
      clearInterval(progress);
    }
    await rm(toolCache, { recursive: true, force: true });
    const ledger = ledgerFile
      ? await readFile(path.join(path.dirname(run.temp), 'workspace', ledgerFile), 'utf8')
      : undefined;
    await rm(run.temp, { recursive: true, force: true });
    /** @type {string | undefined} */
    let profile;
    if (profileDir && pid !== undefined) {
      const files = (await readdir(profileDir)).filter(
        (f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'),
      );
      if (files[0]) profile = path.join(profileDir, files[0]);
    }
    return {
      wallMs: run.durationMs,
      exitCode: run.exitCode,
      rowsSeen: Number(run.outputs.granted ?? 0) + Number(run.outputs.unchanged ?? 0),
      ...this.countsSince(before),
      ...(profile ? { profile } : {}),
      ...(ledger ? { ledger } : {}),
      stdout: run.stdout,
      stderr: run.stderr,
    };
  }

  /**
   * One run of the seed's algorithm (bench/seed.mjs), running the served fake sdm's bash client (the same `sdm`
   * as ours runs, so that both pay the same per-call cost).
   * @param {{ paged: boolean }} options
   * @returns {Promise<Run & { failures: string[] }>}
   */
  async runSeed({ paged }) {
    const home = await mkdtemp(path.join(this.dir, 'seed-home-'));
    const before = this.marks();
    const started = performance.now();
    const result = await runSeed({
      apiUrl: this.pagerduty.url,
      token: PD_TOKEN,
      scheduleIds: this.company.scheduleIds,
      since: this.company.window.since,
      until: this.company.window.until,
      resource: this.company.resource,
      paged,
      sdm: {
        command: this.sdmClient,
        args: [],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          FAKE_SDM_STATE: this.sdmState,
          SDM_ADMIN_TOKEN: SDM_TOKEN,
        },
      },
    });
    const wallMs = performance.now() - started;
    await rm(home, { recursive: true, force: true });
    return {
      wallMs,
      rowsSeen: result.rowsSeen,
      failures: result.failures,
      exitCode: result.failures.length === 0 ? 0 : 1,
      ...this.countsSince(before),
    };
  }

  /**
   * How long one PagerDuty request and one sdm command take here (to confirm the injected latency is in force).
   * @returns {Promise<{ pagerdutyMs: number, sdmMs: number }>}
   */
  async probeLatency() {
    let started = performance.now();
    await fetch(`${this.pagerduty.url}/users/${this.company.expected[0]?.userId ?? 'X'}`, {
      headers: { Authorization: `Token token=${PD_TOKEN}` },
    }).then((r) => r.arrayBuffer());
    const pagerdutyMs = performance.now() - started;
    const home = await mkdtemp(path.join(this.dir, 'probe-home-'));
    started = performance.now();
    await new Promise((resolve, reject) => {
      const child = spawn(this.sdmClient, ['admin', 'users', 'list'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          FAKE_SDM_STATE: this.sdmState,
          SDM_ADMIN_TOKEN: SDM_TOKEN,
        },
        stdio: 'ignore',
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    const sdmMs = performance.now() - started;
    await rm(home, { recursive: true, force: true });
    return { pagerdutyMs, sdmMs };
  }
}
