// State file of the fake `sdm` CLI (test/fakes/sdm.mjs).
//
// The fake keeps everything a test seeds or asserts on in one JSON file whose path is passed to the CLI in
// the environment variable FAKE_SDM_STATE. Several fake processes may run at once (the action grants in
// parallel), so every read-modify-write holds a lock directory next to the file and every write is atomic
// (temporary file + rename): no invocation or grant can be lost.

import fs from 'node:fs';
import crypto from 'node:crypto';

/**
 * @typedef {{ id: string, firstName: string, lastName: string, email: string, tags: Record<string, string>, suspended?: boolean, permissionLevel?: string, [k: string]: unknown }} SdmUser
 * @typedef {{ id: string, name: string, kind: 'datasource' | 'server' | 'cluster', type?: string, tags?: Record<string, string>, [k: string]: unknown }} SdmResource
 * @typedef {{ id: string, accountId: string, email: string, resourceId: string, resourceName: string, startFrom: string, validUntil: string, createdAt: string }} SdmGrant
 * @typedef {{ argv: string[], tokenFromEnv: boolean, tokenInArgv: boolean, home: string | null, sdmHome: string | null, sdmEnv: string[], exitCode: number | null, at: string, pid: number, binaryVersion?: string, hung?: boolean }} SdmInvocation
 * `home`/`sdmHome`: HOME and SDM_HOME as the process received them (null when unset); `sdmEnv`: the sorted NAMES
 * (never the values) of the variables starting with `SDM_` that it received.
 * @typedef {'--from' | '--until'} SdmGrantFlag
 * @typedef {{ command: string, email?: string, resource?: string, action: 'fail' | 'hang' | 'exhausted', times?: number, stderr?: string }} SdmFault
 * @typedef {{ token: string, version: string, strict: boolean, revokeCommand: boolean, grantFlags: SdmGrantFlag[], users: SdmUser[], resources: SdmResource[], grants: SdmGrant[], revoked?: SdmGrant[], invocations: SdmInvocation[], faults: SdmFault[] }} SdmState
 * @typedef {Partial<SdmUser> & { email: string }} SdmSeedUser
 * @typedef {Partial<SdmResource> & { name: string }} SdmSeedResource
 * Seeds are typed loosely (`| object`) so that callers holding plain `object[]` can pass them; the shapes
 * above are what the fake expects.
 * @typedef {{ token?: string, version?: string, strict?: boolean, revokeCommand?: boolean, grantFlags?: ReadonlyArray<string>, users?: ReadonlyArray<SdmSeedUser | object>, resources?: ReadonlyArray<SdmSeedResource | object>, grants?: ReadonlyArray<SdmGrant | object>, invocations?: ReadonlyArray<SdmInvocation | object>, faults?: ReadonlyArray<SdmFault | object> }} SdmSeed
 */

/** The flags `grant-temporary` accepts unless a seed says otherwise (the only ones the fake can model). */
export const defaultSdmGrantFlags = Object.freeze(/** @type {SdmGrantFlag[]} */ (['--from', '--until']));

/** The only admin token the fake accepts unless a seed says otherwise. */
export const defaultSdmToken = 'sdm-test-admin-token';
export const defaultSdmVersion = '46.0.0';

const LOCK_STALE_MS = 10_000;
const LOCK_GIVE_UP_MS = 30_000;

/** @param {number} ms */
export function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** @param {string} prefix */
function randomId(prefix) {
  return prefix + crypto.randomBytes(6).toString('hex');
}

/**
 * @param {ReadonlyArray<string> | undefined} flags
 * @returns {SdmGrantFlag[]}
 */
function grantFlagsOf(flags) {
  if (flags === undefined) return [...defaultSdmGrantFlags];
  if (!Array.isArray(flags)) throw new Error('fake sdm state: grantFlags must be an array');
  for (const f of flags) {
    if (!defaultSdmGrantFlags.includes(/** @type {SdmGrantFlag} */ (f))) {
      throw new Error(
        `fake sdm state: grantFlags may only hold ${defaultSdmGrantFlags.join(', ')}, not ${JSON.stringify(f)}`,
      );
    }
  }
  if (new Set(flags).size !== flags.length) throw new Error('fake sdm state: grantFlags has a duplicate');
  return /** @type {SdmGrantFlag[]} */ ([...flags]);
}

/**
 * Fills defaults: token, version, strict=false, revokeCommand=true (`sdm admin users revoke` exists),
 * grantFlags=['--from', '--until'] (what `grant-temporary` accepts; a subset simulates an older or other CLI),
 * empty arrays; ids for users (`a-…`) and resources (`rs-…`), resource kind `datasource`, user names/tags.
 * Users may carry `suspended` and/or `permissionLevel` ('user', 'admin', 'suspended', …): both are listed as
 * seeded, neither is derived from the other.
 * @param {SdmSeed} [seed]
 * @returns {SdmState}
 */
export function normalizeSdmState(seed = {}) {
  /** @type {{ users?: SdmSeedUser[], resources?: SdmSeedResource[], grants?: SdmGrant[], invocations?: SdmInvocation[], faults?: SdmFault[] }} */
  const lists = /** @type {any} */ (seed);
  return {
    token: seed.token ?? defaultSdmToken,
    version: seed.version ?? defaultSdmVersion,
    strict: seed.strict ?? false,
    revokeCommand: seed.revokeCommand ?? true,
    grantFlags: grantFlagsOf(seed.grantFlags),
    users: (lists.users ?? []).map((u) => ({
      ...u,
      id: u.id ?? randomId('a-'),
      firstName: u.firstName ?? '',
      lastName: u.lastName ?? '',
      email: u.email,
      tags: u.tags ?? {},
    })),
    resources: (lists.resources ?? []).map((r) => ({
      ...r,
      id: r.id ?? randomId('rs-'),
      name: r.name,
      kind: r.kind ?? 'datasource',
    })),
    grants: [...(lists.grants ?? [])],
    invocations: [...(lists.invocations ?? [])],
    faults: [...(lists.faults ?? [])],
  };
}

/**
 * Atomically writes a raw state object (no defaults filled). Caller should hold the lock.
 * @param {string} path
 * @param {unknown} state
 */
function writeAtomic(path, state) {
  const tmp = `${path}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, path);
}

/**
 * Runs fn while holding `${path}.lock` (a directory; mkdir is atomic). Waits with bounded retries; a lock
 * older than 10 s is considered abandoned (its holder was killed) and broken.
 * @template T
 * @param {string} path
 * @param {() => T} fn
 * @returns {T}
 */
export function withSdmStateLock(path, fn) {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_GIVE_UP_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      try {
        const age = Date.now() - fs.statSync(lock).mtimeMs;
        if (age > LOCK_STALE_MS) {
          // Rename first so that only one waiter breaks a given stale lock.
          const grave = `${lock}.stale.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
          fs.renameSync(lock, grave);
          fs.rmSync(grave, { recursive: true, force: true });
          continue;
        }
      } catch {
        // lock vanished between mkdir and stat, or another waiter broke it: just retry
      }
      if (Date.now() > deadline) {
        throw new Error(`fake sdm: could not lock ${path} within ${LOCK_GIVE_UP_MS} ms (lock dir ${lock})`);
      }
      sleepSync(2 + Math.floor(Math.random() * 15));
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Reads and parses the state file (no lock needed: writes are atomic renames), filling defaults for a
 * hand-written file.
 * @param {string} path
 * @returns {SdmState}
 */
export function readSdmState(path) {
  return normalizeSdmState(JSON.parse(fs.readFileSync(path, 'utf8')));
}

/**
 * Creates (or replaces) the state file from a seed, filling defaults. Returns the state written.
 * @param {string} path
 * @param {SdmSeed} [seed]
 * @returns {SdmState}
 */
export function writeSdmState(path, seed = {}) {
  const state = normalizeSdmState(seed);
  withSdmStateLock(path, () => writeAtomic(path, state));
  return state;
}

/**
 * Read-modify-write under the lock. `fn` may mutate the state in place and/or return a value.
 * @template T
 * @param {string} path
 * @param {(state: SdmState) => T} fn
 * @returns {T}
 */
export function updateSdmState(path, fn) {
  return withSdmStateLock(path, () => {
    const state = readSdmState(path);
    const result = fn(state);
    writeAtomic(path, state);
    return result;
  });
}
