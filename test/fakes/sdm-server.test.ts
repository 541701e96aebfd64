// Tests of the served fake sdm (sdm-server.mjs): its bash client must answer exactly as `node sdm.mjs` does, and the
// state it flushes must read back as the per-process fake's would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSdmZip } from './downloads.mjs';
import { startFakeSdmServer } from './sdm-server.mjs';
import { readSdmState, writeSdmState } from './sdm-state.mjs';
import {
  at,
  envFor,
  FAKES_DIR,
  grantArgs,
  home,
  HOUR,
  RESOURCES,
  SDM,
  statePath,
  tmp,
  UNZIP,
  useSeededSdmState,
  USERS,
  type RunOpts,
} from './sdm-testing.js';

useSeededSdmState();

type Answer = { code: number | null; stdout: string; stderr: string };
type Server = Awaited<ReturnType<typeof startFakeSdmServer>>;

let server: Server;
let client: string;

beforeEach(async () => {
  server = await startFakeSdmServer({ statePath });
  client = path.join(tmp, 'sdm');
  fs.writeFileSync(client, server.clientScript(), { mode: 0o755 });
});

afterEach(async () => {
  await server.close();
});

/** Runs `command args` asynchronously (the server answers from this very process, so never spawnSync). */
function runAsync(command: string, args: string[], opts: RunOpts = {}, killAfterMs?: number) {
  return new Promise<Answer>((resolve, reject) => {
    const child = spawn(command, args, { env: envFor(opts) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const served = (args: string[], opts: RunOpts = {}) => runAsync(client, args, opts);
const perProcess = (args: string[], opts: RunOpts = {}) => runAsync(process.execPath, [SDM, ...args], opts);

/** Grant ids are random: the same in both worlds once blanked. */
const blankIds = (a: Answer) => ({ ...a, stderr: a.stderr.replace(/ag-[0-9a-f]{16}/g, 'ag-X') });

/** What both fakes must agree on in a state (ids, times and pids differ by nature). */
function comparable(file: string) {
  const s = readSdmState(file);
  const strip = ({ id: _id, createdAt: _c, revokedAt: _r, ...g }: Record<string, unknown>) => g;
  return {
    grants: s.grants.map((g) => strip(g)),
    revoked: (s.revoked ?? []).map((g) => strip(g)),
    writes: s.writeTimes.length,
    invocations: s.invocations.map(({ at: _at, pid: _pid, home: h, sdmHome: sh, ...i }) => ({
      ...i,
      home: h === null ? null : path.basename(h),
      sdmHome: sh === null ? null : path.basename(sh),
    })),
  };
}

/** The commands and their options for the equivalence test (each run against both fakes). */
function script(homeDir: string): Array<[string[], RunOpts]> {
  const from = at(-HOUR);
  const until = at(HOUR);
  return [
    [['--version'], { token: null }],
    [['--help'], {}],
    [['admin', 'users', 'help'], {}],
    [['admin', 'users', 'list', '--json'], { env: { SDM_EXTRA: 'x', SDM_OTHER: '' } }],
    [['admin', 'users', 'list'], { sdmHome: path.join(homeDir, 'sdm-home') }],
    [['admin', 'datasources', 'list', '--filter', 'name:prod-*'], {}],
    [['admin', 'users', 'list', '--filter', 'nope:x'], {}],
    [['admin', 'users', 'list', '--json'], { token: null }],
    [['admin', 'users', 'list', '--json'], { token: 'wrong-token-1234' }],
    [['admin', 'users', 'list', '--json'], { home: null }],
    [['admin', 'users', 'nope'], {}],
    [['admin', 'users', 'grant-temporary', '--bogus', 'x'], {}],
    [grantArgs('prod-postgres', 'ada@example.com', from, until), {}],
    [grantArgs('prod-postgres', 'ADA@example.com', from, until), {}],
    [grantArgs('prod-postgres', 'nobody@example.com', from, until), {}],
    [grantArgs('web-01', 'bob@example.com', from, 'not-a-time'), {}],
    [['admin', 'users', 'revoke', 'prod-postgres', 'ada@example.com'], {}],
    [['admin', 'users', 'revoke', 'prod-postgres', 'ada@example.com'], {}],
    [grantArgs('web-01', 'cy@other.org', from, until), {}], // writes 6, 7 and 8: refused by the limit
    [grantArgs('web-01', 'bob@example.com', from, until), { token: 'sdm-test-admin-token' }],
    [['admin', 'users', 'list', '--json', 'sdm-test-admin-token'], {}],
  ];
}

describe('served fake sdm: the same answers and the same state as node sdm.mjs', () => {
  it('agrees with the per-process fake on every command, the state, the invocations and the sdm home', async () => {
    const seed = {
      users: USERS,
      resources: RESOURCES,
      writeLimit: { max: 5, windowMs: 60_000 },
      faults: [{ command: 'admin datasources list', action: 'fail' as const, stderr: 'boom', times: 1 }],
    };
    const nodeState = path.join(tmp, 'node-state.json');
    const nodeHome = path.join(tmp, 'node', 'home'); // same basename as `home`
    writeSdmState(nodeState, seed);
    writeSdmState(statePath, seed); // the server notices the re-seed at its next invocation
    for (const [args, opts] of script(home)) {
      const mine = await served(args, opts);
      const theirs = await perProcess(args, {
        ...opts,
        state: nodeState,
        ...(opts.home === null ? {} : { home: nodeHome }),
        ...(opts.sdmHome ? { sdmHome: path.join(nodeHome, 'sdm-home') } : {}),
      });
      expect(blankIds(mine), args.join(' ')).toEqual(blankIds(theirs));
    }
    await server.flush();
    const mine = comparable(statePath);
    expect(mine).toEqual(comparable(nodeState));
    expect(mine.invocations.filter((i) => i.rateLimited)).toHaveLength(3);
    expect(mine.invocations[3]?.sdmEnv).toEqual(['SDM_ADMIN_TOKEN', 'SDM_EXTRA', 'SDM_OTHER']);
    const lines = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'state'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).command);
    expect(lines(path.join(home, '.sdm'))).toEqual(lines(path.join(nodeHome, '.sdm')));
    expect(lines(path.join(home, 'sdm-home'))).toEqual(['admin users list']);
  });

  it('delays answers by latencyMs after applying them, and concurrent calls overlap', async () => {
    writeSdmState(statePath, { users: USERS, resources: RESOURCES, latencyMs: 600 });
    const started = performance.now();
    const timed = async () => {
      const r = await served(['admin', 'users', 'list', '--json']);
      return { ...r, ms: performance.now() - started };
    };
    const answers = await Promise.all([timed(), timed(), timed()]);
    for (const a of answers) {
      expect(a.code).toBe(0);
      expect(a.ms).toBeGreaterThanOrEqual(600);
    }
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(1500);
    const version = await served(['--version']);
    expect(version.code).toBe(0);
  });

  it('brings the state file up to date only on flush, and reloads a state re-seeded behind its back', async () => {
    const r = await served(grantArgs('prod-postgres', 'bob@example.com', at(-HOUR), at(HOUR)));
    expect(r.code).toBe(0);
    expect(readSdmState(statePath).grants).toHaveLength(0); // not flushed yet
    server.flushSync();
    const state = readSdmState(statePath);
    expect(state.grants).toHaveLength(1);
    expect(state.invocations).toHaveLength(1);
    writeSdmState(statePath, { users: [{ email: 'zed@example.com' }] });
    const list = await served(['admin', 'users', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((u: { email: string }) => u.email)).toEqual(['zed@example.com']);
    await server.flush();
    expect(readSdmState(statePath).invocations.map((i) => i.argv[2])).toEqual(['list']);
  });

  it('honours a hang fault until the client goes away, then frees everything on close', async () => {
    writeSdmState(statePath, { users: USERS, faults: [{ command: '*', action: 'hang' }] });
    const r = await runAsync(client, ['admin', 'users', 'list'], {}, 500);
    expect(r.code).toBeNull(); // killed while waiting
    await server.flush();
    expect(readSdmState(statePath).invocations[0]).toMatchObject({ hung: true, exitCode: null });
    await server.close();
    const after = await served(['--version']);
    expect(after.code).toBe(70);
    expect(after.stderr).toMatch(/cannot reach the fake sdm server/);
  });

  it('puts the client in the zip when given as the wrapper, exporting the zip version', async () => {
    const { zipPath } = await buildSdmZip({
      version: '47.1.0',
      wrapper: (v: string) => server.clientScript(v),
      outDir: path.join(tmp, 'zip'),
    });
    const out = path.join(tmp, 'unzipped');
    expect(spawnSync(UNZIP, ['-q', zipPath, '-d', out]).status).toBe(0);
    const r = await runAsync(path.join(out, 'sdm'), ['--version']);
    expect(r).toEqual({ code: 0, stdout: 'sdm version 47.1.0 (fake)\n', stderr: '' });
  });
});

describe('sdm.mjs as a module', () => {
  it('does not run its main() when imported', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('./sdm.mjs')`], {
      cwd: FAKES_DIR,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });
});
