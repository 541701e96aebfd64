// State file of the fake `sdm` CLI (test/fakes/sdm.mjs).
//
// The fake keeps everything a test seeds or asserts on in one JSON file whose path is passed to the CLI in
// the environment variable FAKE_SDM_STATE, except the record of its invocations: those are appended, one JSON
// line each, to `<state>.invocations.jsonl` beside it (so that the cost of one invocation does not grow with the
// history), and readSdmState() merges them back into `state.invocations`. writeSdmState() (seeding) resets that
// file. Several fake processes may run at once (the action grants in parallel), so every read-modify-write and
// every append holds a lock directory next to the file and every rewrite is atomic (temporary file + rename):
// no invocation or grant can be lost. The fake rewrites the JSON file only when an invocation changed it (a
// grant, a revoke, a counted write, a consumed fault), never for a mere list.
//
// The state file is compact JSON (one line), which keeps it cheap to rewrite when it holds thousands of grants.

import fs from 'node:fs';
import crypto from 'node:crypto';

/**
 * @typedef {{ id: string, firstName: string, lastName: string, email: string, tags: Record<string, string>, suspended?: boolean, permissionLevel?: string, [k: string]: unknown }} SdmUser
 * @typedef {{ id: string, name: string, kind: 'datasource' | 'server' | 'cluster', type?: string, tags?: Record<string, string>, [k: string]: unknown }} SdmResource
 * @typedef {{ id: string, accountId: string, email: string, resourceId: string, resourceName: string, startFrom: string, validUntil: string, createdAt: string }} SdmGrant
 * @typedef {{ argv: string[], tokenFromEnv: boolean, tokenInArgv: boolean, home: string | null, sdmHome: string | null, sdmEnv: string[], exitCode: number | null, at: string, pid: number, binaryVersion?: string, hung?: boolean, rateLimited?: boolean }} SdmInvocation
 * `home`/`sdmHome`: HOME and SDM_HOME as the process received them (null when unset); `sdmEnv`: the sorted NAMES
 * (never the values) of the variables starting with `SDM_` that it received; `rateLimited`: true (else absent)
 * when the write limit refused it.
 * @typedef {{ max: number, windowMs: number }} SdmWriteLimit
 * At most `max` writes in any `windowMs`: see SdmState.
 * @typedef {'--from' | '--until'} SdmGrantFlag
 * @typedef {{ command: string, email?: string, resource?: string, action: 'fail' | 'hang' | 'exhausted', times?: number, stderr?: string }} SdmFault
 * @typedef {{ token: string, version: string, strict: boolean, revokeCommand: boolean, grantFlags: SdmGrantFlag[], latencyMs: number, writeLimit: SdmWriteLimit | null, writeTimes: number[], users: SdmUser[], resources: SdmResource[], grants: SdmGrant[], revoked?: SdmGrant[], invocations: SdmInvocation[], faults: SdmFault[] }} SdmState
 * `latencyMs` (default 0): every invocation except help and version answers only this long after it was
 * processed, without holding the state lock (concurrent invocations overlap, as concurrent API calls do).
 * `writeLimit` (default defaultSdmWriteLimit, strongDM's documented 500 writes per minute per token): every write
 * request (grant-temporary, revoke) that passes the token check and argument parsing is counted when processed,
 * accepted or refused alike; when the window (now - windowMs, now] already holds `max` counted writes, the write
 * is refused with strongDM's "resource exhausted" text and changes nothing. `writeTimes` holds the counted
 * times (epoch ms), pruned to the window. `writeLimit: null` lifts the limit: that is KINDER than strongDM and
 * exists only for a benchmark's setup step; never use it in a test of the action.
 * @typedef {Partial<SdmUser> & { email: string }} SdmSeedUser
 * @typedef {Partial<SdmResource> & { name: string }} SdmSeedResource
 * Seeds are typed loosely (`| object`) so that callers holding plain `object[]` can pass them; the shapes
 * above are what the fake expects.
 * @typedef {{ token?: string, version?: string, strict?: boolean, revokeCommand?: boolean, grantFlags?: ReadonlyArray<string>, latencyMs?: number, writeLimit?: SdmWriteLimit | null, writeTimes?: ReadonlyArray<number>, users?: ReadonlyArray<SdmSeedUser | object>, resources?: ReadonlyArray<SdmSeedResource | object>, grants?: ReadonlyArray<SdmGrant | object>, invocations?: ReadonlyArray<SdmInvocation | object>, faults?: ReadonlyArray<SdmFault | object> }} SdmSeed
 */

/** The flags `grant-temporary` accepts unless a seed says otherwise (the only ones the fake can model). */
export const defaultSdmGrantFlags = Object.freeze(/** @type {SdmGrantFlag[]} */ (['--from', '--until']));

/** The only admin token the fake accepts unless a seed says otherwise. */
export const defaultSdmToken = 'sdm-test-admin-token';
export const defaultSdmVersion = '46.0.0';
/** strongDM's documented write limit: 500 writes per minute per token. */
export const defaultSdmWriteLimit = Object.freeze({ max: 500, windowMs: 60_000 });

const LOCK_STALE_MS = 10_000;
// Each holder keeps the lock for milliseconds, but a benchmark queues 16 processes on 2 busy CPUs behind it:
// waiting minutes is slow, giving up would be a failure the real service never shows.
const LOCK_GIVE_UP_MS = 180_000;

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

/** @param {unknown} n */
function isNonNegativeNumber(n) {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

/**
 * @param {SdmSeed['writeLimit']} limit
 * @returns {SdmWriteLimit | null}
 */
function writeLimitOf(limit) {
  if (limit === undefined) return { ...defaultSdmWriteLimit };
  if (limit === null) return null;
  if (
    typeof limit !== 'object' ||
    !Number.isInteger(limit.max) ||
    limit.max < 1 ||
    !isNonNegativeNumber(limit.windowMs) ||
    limit.windowMs <= 0
  ) {
    throw new Error(
      `fake sdm state: writeLimit must be null or { max: integer >= 1, windowMs: number > 0 }, not ${JSON.stringify(limit)}`,
    );
  }
  return { max: limit.max, windowMs: limit.windowMs };
}

/**
 * The settings that are not lists: latencyMs, writeLimit, writeTimes (validated, defaults filled).
 * @param {SdmSeed} seed
 * @returns {Pick<SdmState, 'latencyMs' | 'writeLimit' | 'writeTimes'>}
 */
function pacingOf(seed) {
  const latencyMs = seed.latencyMs ?? 0;
  if (!isNonNegativeNumber(latencyMs)) {
    throw new Error(`fake sdm state: latencyMs must be a number >= 0, not ${JSON.stringify(latencyMs)}`);
  }
  const writeTimes = seed.writeTimes ?? [];
  if (!Array.isArray(writeTimes) || !writeTimes.every((t) => typeof t === 'number' && Number.isFinite(t))) {
    throw new Error('fake sdm state: writeTimes must be an array of epoch milliseconds');
  }
  return { latencyMs, writeLimit: writeLimitOf(seed.writeLimit), writeTimes: [...writeTimes] };
}

/**
 * Fills defaults: token, version, strict=false, revokeCommand=true (`sdm admin users revoke` exists),
 * grantFlags=['--from', '--until'] (what `grant-temporary` accepts; a subset simulates an older or other CLI),
 * latencyMs=0, writeLimit=defaultSdmWriteLimit (null lifts it, see SdmState), writeTimes=[],
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
    ...pacingOf(seed),
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

/** The file beside the state file that holds the invocation records, one JSON line each. @param {string} path */
export function sdmInvocationsPath(path) {
  return `${path}.invocations.jsonl`;
}

/**
 * The text of a state file: compact JSON (pretty-printing thousands of grants costs more than anything else the
 * fake does under its lock; read it with `jq .` or readSdmState). The `invocations` key is left out when empty
 * (they live in the invocations file).
 * @param {SdmState} state
 */
export function stateText(state) {
  const { invocations, ...rest } = state;
  return `${JSON.stringify(invocations.length > 0 ? state : rest)}\n`;
}

/**
 * Atomically replaces a file with `text` (temporary file + rename). Caller should hold the lock.
 * @param {string} path
 * @param {string} text
 */
export function writeAtomic(path, text) {
  const tmp = `${path}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path);
}

/**
 * Replaces the invocations file with exactly `invocations` (removes it when there are none). Caller holds the lock.
 * @param {string} path the state file
 * @param {ReadonlyArray<unknown>} invocations
 */
function writeInvocations(path, invocations) {
  const file = sdmInvocationsPath(path);
  if (invocations.length === 0) fs.rmSync(file, { force: true });
  else writeAtomic(file, invocations.map((i) => `${JSON.stringify(i)}\n`).join(''));
}

/**
 * The invocation records in the invocations file, oldest first. An unterminated last line is an append still
 * under way (readers take no lock) and is left out.
 * @param {string} path the state file
 * @returns {SdmInvocation[]}
 */
function readInvocations(path) {
  let text;
  try {
    text = fs.readFileSync(sdmInvocationsPath(path), 'utf8');
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n').slice(0, -1);
  return lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}

/**
 * Runs fn while holding `${path}.lock` (a directory; mkdir is atomic). Waits with bounded retries (up to
 * 3 minutes); a lock older than 10 s is considered abandoned (its holder was killed) and broken.
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
 * The state file alone (without the invocations file), with defaults filled, and whether the file lacks
 * something the defaults filled (a hand-written file), so that it must be written back once.
 * @param {string} path
 * @returns {{ state: SdmState, incomplete: boolean }}
 */
function readStateFile(path) {
  const raw = JSON.parse(fs.readFileSync(path, 'utf8'));
  const state = normalizeSdmState(raw);
  const incomplete =
    Object.keys(state).some((key) => key !== 'invocations' && !Object.hasOwn(raw, key)) ||
    state.users.some((u, i) => raw.users[i].id === undefined) ||
    state.resources.some((r, i) => raw.resources[i].id === undefined);
  return { state, incomplete };
}

/**
 * Reads and parses the state file and its invocations file (no lock needed: rewrites are atomic renames and an
 * unfinished append is skipped), filling defaults for a hand-written file. `invocations` holds every invocation
 * recorded since the state was seeded (those the seed held first), oldest first.
 * @param {string} path
 * @returns {SdmState}
 */
export function readSdmState(path) {
  const state = normalizeSdmState(JSON.parse(fs.readFileSync(path, 'utf8')));
  state.invocations.push(...readInvocations(path));
  return state;
}

/**
 * Creates (or replaces) the state file from a seed, filling defaults, and resets the invocations file to the
 * seed's invocations (none by default): a re-seeded state inherits no invocation. Returns the state written.
 * @param {string} path
 * @param {SdmSeed} [seed]
 * @returns {SdmState}
 */
export function writeSdmState(path, seed = {}) {
  const state = normalizeSdmState(seed);
  withSdmStateLock(path, () => {
    writeInvocations(path, state.invocations);
    writeAtomic(path, stateText({ ...state, invocations: [] }));
  });
  return state;
}

/**
 * Read-modify-write under the lock. `fn` may mutate the state in place (invocations included) and/or return a
 * value. The invocations file is rewritten only when `fn` changed `state.invocations` (or the state file itself
 * held invocations, which then move to the invocations file).
 * @template T
 * @param {string} path
 * @param {(state: SdmState) => T} fn
 * @returns {T}
 */
export function updateSdmState(path, fn) {
  return withSdmStateLock(path, () => {
    const { state } = readStateFile(path);
    const own = state.invocations.length;
    state.invocations.push(...readInvocations(path));
    const before = [...state.invocations];
    const result = fn(state);
    const after = state.invocations;
    const same = after.length === before.length && after.every((inv, i) => inv === before[i]);
    if (own > 0 || !same) writeInvocations(path, after);
    writeAtomic(path, stateText({ ...state, invocations: [] }));
    return result;
  });
}

/**
 * What one invocation of the fake CLI does, under the lock: reads the state file, lets `fn` act on it (`fn`
 * must not touch `state.invocations`), writes the state file back only when `fn` says it `changed` it (or the
 * file was hand-written without some default), and appends `fn`'s invocation record to the invocations file.
 * @template T
 * @param {string} path
 * @param {(state: SdmState) => { result: T, changed: boolean, invocation: SdmInvocation }} fn
 * @returns {T}
 */
export function recordSdmInvocation(path, fn) {
  return withSdmStateLock(path, () => {
    const { state, incomplete } = readStateFile(path);
    const { result, changed, invocation } = fn(state);
    if (changed || incomplete) writeAtomic(path, stateText({ ...state }));
    fs.appendFileSync(sdmInvocationsPath(path), `${JSON.stringify(invocation)}\n`);
    return result;
  });
}
