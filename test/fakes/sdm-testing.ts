// What the tests of the fake sdm CLI (sdm.test.ts), its state file (sdm-state.test.ts) and its download site
// (downloads.test.ts) share: a seeded state file for each test, and ways to run the fake CLI against it.
import { afterEach, beforeEach } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSdmToken, writeSdmState } from './sdm-state.mjs';

export const SDM = fileURLToPath(new URL('./sdm.mjs', import.meta.url));
export const FAKES_DIR = path.dirname(SDM);
export const UNZIP = '/usr/bin/unzip';
export const HOUR = 3_600_000;

/** RFC3339 UTC, whole seconds, offset from now. */
export function at(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface RunOpts {
  token?: string | null; // null: SDM_ADMIN_TOKEN not set; undefined: the right token
  state?: string | null; // null: FAKE_SDM_STATE not set
  home?: string | null; // HOME; null: not set; undefined: the test's `home`
  sdmHome?: string; // SDM_HOME (not set unless given)
  env?: Record<string, string>; // more environment
  bin?: string; // run this executable instead of `node sdm.mjs`
}

/**
 * The current test's temporary folder and state file, and the HOME the fake gets by default (a sibling of `tmp`,
 * not created in advance) (live bindings, set before each test by useSeededSdmState).
 */
export let tmp: string;
export let statePath: string;
export let home: string;
let root: string;

export const USERS = [
  { id: 'a-ada', firstName: 'Ada', lastName: 'Lovelace', email: 'Ada@Example.com' },
  { id: 'a-bob', firstName: 'Bob', lastName: 'Builder', email: 'bob@example.com', tags: { team: 'sre' } },
  { id: 'a-cy', firstName: 'Cy', lastName: 'Bob', email: 'cy@other.org' },
  ...Array.from({ length: 8 }, (_, i) => ({
    id: `a-u${i}`,
    firstName: `User${i}`,
    lastName: 'Parallel',
    email: `u${i}@example.com`,
  })),
];
export const RESOURCES = [
  { id: 'rs-pg', name: 'prod-postgres', kind: 'datasource' as const },
  { id: 'rs-my', name: 'staging-mysql', kind: 'datasource' as const, type: 'mysql' },
  { id: 'rs-web', name: 'web-01', kind: 'server' as const },
  { id: 'rs-k8s', name: 'prod-eks', kind: 'cluster' as const },
];

/** For a test file: before each test, a fresh `tmp` whose `statePath` holds USERS and RESOURCES; removed after. */
export function useSeededSdmState(): void {
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-sdm-test-'));
    tmp = path.join(root, 'work');
    home = path.join(root, 'home');
    fs.mkdirSync(tmp);
    statePath = path.join(tmp, 'sdm-state.json');
    writeSdmState(statePath, { users: USERS, resources: RESOURCES });
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });
}

export function envFor(opts: RunOpts): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (opts.state !== null) env.FAKE_SDM_STATE = opts.state ?? statePath;
  if (opts.token !== null) env.SDM_ADMIN_TOKEN = opts.token ?? defaultSdmToken;
  if (opts.home !== null) env.HOME = opts.home ?? home;
  if (opts.sdmHome !== undefined) env.SDM_HOME = opts.sdmHome;
  return { ...env, ...opts.env };
}

export function sdm(args: string[], opts: RunOpts = {}) {
  const r = opts.bin
    ? spawnSync(opts.bin, args, { env: envFor(opts), encoding: 'utf8' })
    : spawnSync(process.execPath, [SDM, ...args], { env: envFor(opts), encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function sdmAsync(args: string[], opts: RunOpts = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [SDM, ...args], { env: envFor(opts) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function grantArgs(resource: string, email: string, from: string, until: string) {
  return ['admin', 'users', 'grant-temporary', '--from', from, '--until', until, resource, email];
}
