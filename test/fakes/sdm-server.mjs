// The fake `sdm` CLI in "served" mode, for the benchmark: one loopback server in the caller's process applies every
// invocation with EXACTLY the code of the per-process fake (sdm.mjs: run, invocationRecord, secretsOf, scrub), and a
// tiny bash client (sdmClientScript) stands in for the `sdm` executable. Starting bash costs ~1–3 ms of CPU where
// starting node costs ~100 ms, so a benchmark running thousands of sdm calls at concurrency 16 measures the action
// and not the fake (the real sdm is a Go binary).
//
// Protocol (loopback TCP, one connection per invocation; arguments never contain NUL):
//   request  = NUL-terminated fields: "sdm-fake/1", pid, argc, argv[0..argc), envc, env[0..envc)
//              each env field is `NAME=value` (HOME, SDM_HOME, SDM_ADMIN_TOKEN, FAKE_SDM_BINARY_VERSION, when set)
//              or a bare `NAME` (every other SDM_* variable: only its name is sent, as only names are recorded)
//   response = "<exit code> <stdout bytes> <stderr bytes>\n", the stdout bytes, the stderr bytes; then the server closes
// The client prints stdout and stderr and exits with the code; it exits 70 when the server cannot be reached or
// does not answer (like the per-process fake when it is misconfigured).
//
// Semantics: the same as `node sdm.mjs` run once per invocation, because the same functions decide: token checks,
// the write limit (refused attempts counted), duplicate-grant refusal, faults, the line kept in the client's sdm home
// (written by the server, with the client's pid), the invocation record (the client's pid, env names), scrubbing.
// state.latencyMs delays each answer (help and version excepted) after the invocation was applied, so concurrent
// invocations overlap. Hang faults are honoured: no answer until the client goes away or HANG_CAP_MS passes (then
// exit 124 and no output, as the per-process fake does). FAKE_SDM_STATE is not consulted: the server serves the one
// state file it was started with.
//
// State lives in memory. The state file and its invocations file are brought up to date ONLY by `flush()` /
// `flushSync()` (and `close()`): call one before readSdmState(statePath). A state file replaced behind the server's
// back (writeSdmState, i.e. re-seeding; seen by its inode/mtime/size at the next invocation or flush) is reloaded,
// and what the server had not flushed yet is dropped, as re-seeding drops earlier invocations. While a server serves
// a state file, no per-process fake may write it.

import fs from 'node:fs';
import net from 'node:net';
import { HANG_CAP_MS, invocationRecord, run, scrub, secretsOf } from './sdm.mjs';
import { shQuote } from './downloads.mjs';
import {
  normalizeSdmState,
  sdmInvocationsPath,
  stateText,
  withSdmStateLock,
  writeAtomic,
} from './sdm-state.mjs';

/** @typedef {import('./sdm-state.mjs').SdmState} SdmState */
/** @typedef {import('./sdm-state.mjs').SdmInvocation} SdmInvocation */
/** @typedef {{ pid: number, argv: string[], env: Record<string, string> }} SdmRequest */
/**
 * @typedef {{ host: string, port: number, statePath: string, invocations: number,
 *   clientScript(version?: string): string, flush(): Promise<void>, flushSync(): void, close(): Promise<void> }} FakeSdmServer
 */

const MAGIC = 'sdm-fake/1';
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
/** Environment variables whose values the fake needs; of the other SDM_* variables only the names are sent. */
const VALUED = ['HOME', 'SDM_HOME', 'SDM_ADMIN_TOKEN', 'FAKE_SDM_BINARY_VERSION'];

/** @param {string[]} candidates @returns {string} the first that exists */
function firstExisting(candidates) {
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`fake sdm server: none of ${candidates.join(', ')} exists`);
  return found;
}

/**
 * The bash client: an `sdm` executable that forwards its argv and environment to the server and answers as the
 * server says. Smaller outputs are read with bash's `read -N`, larger ones with `head -c` (one exec).
 * @param {{ host?: string, port: number, version?: string }} options with a version, it exports
 *   FAKE_SDM_BINARY_VERSION like the zip's node wrapper (sdmWrapperScript in downloads.mjs)
 */
export function sdmClientScript({ host = '127.0.0.1', port, version }) {
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`sdmClientScript: bad port ${port}`);
  if (!/^[0-9.]+$/.test(host))
    throw new Error(`sdmClientScript: host must be a loopback IPv4 address: ${host}`);
  const bash = firstExisting(['/bin/bash', '/usr/bin/bash']);
  const head = firstExisting(['/usr/bin/head', '/bin/head']);
  const v =
    version === undefined
      ? ''
      : `# fake strongDM sdm CLI ${version}\nFAKE_SDM_BINARY_VERSION=${shQuote(version)}\nexport FAKE_SDM_BINARY_VERSION\n`;
  return `#!${bash}
# fake strongDM sdm CLI, served: a client of the fake sdm server at ${host}:${port} (test/fakes/sdm-server.mjs)
${v}LC_ALL=C
fields=()
for name in ${VALUED.join(' ')}; do
  if [[ -v $name ]]; then fields+=("$name=\${!name}"); fi
done
for name in \${!SDM_@}; do
  if [[ $name != SDM_HOME && $name != SDM_ADMIN_TOKEN ]]; then fields+=("$name"); fi
done
{ exec 3<>/dev/tcp/${host}/${port}; } 2>/dev/null || {
  echo "fake sdm: cannot reach the fake sdm server at ${host}:${port}" >&2
  exit 70
}
printf '%s\\0' ${MAGIC} "$$" "$#" "$@" "\${#fields[@]}" "\${fields[@]}" >&3
if ! IFS=' ' read -r code outlen errlen <&3; then
  echo "fake sdm: no answer from the fake sdm server at ${host}:${port}" >&2
  exit 70
fi
if ((outlen > 1024)); then
  ${head} -c "$outlen" <&3
elif ((outlen > 0)); then
  IFS= read -r -d '' -N "$outlen" out <&3
  printf '%s' "$out"
fi
if ((errlen > 0)); then
  IFS= read -r -d '' -N "$errlen" err <&3
  printf '%s' "$err" >&2
fi
exec 3>&-
exit "$code"
`;
}

/**
 * Parses a complete request from the NUL-terminated fields received so far, or returns undefined when more are
 * needed. Throws on a malformed request.
 * @param {string[]} fields
 * @returns {SdmRequest | undefined}
 */
export function parseSdmRequest(fields) {
  if (fields.length < 3) return undefined;
  if (fields[0] !== MAGIC) throw new Error(`bad request: expected ${MAGIC}`);
  const count = (/** @type {string | undefined} */ f) => {
    if (!/^\d{1,6}$/.test(f ?? '')) throw new Error(`bad request: bad count ${JSON.stringify(f)}`);
    return Number(f);
  };
  const pid = count(fields[1]);
  const argc = count(fields[2]);
  if (fields.length < 4 + argc) return undefined;
  const envc = count(fields[3 + argc]);
  if (fields.length < 4 + argc + envc) return undefined;
  if (fields.length > 4 + argc + envc) throw new Error('bad request: trailing fields');
  /** @type {Record<string, string>} */
  const env = {};
  for (const field of fields.slice(4 + argc)) {
    const eq = field.indexOf('=');
    if (eq < 0) env[field] = '';
    else env[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return { pid, argv: fields.slice(3, 3 + argc), env };
}

/**
 * The answer's bytes.
 * @param {number} code
 * @param {string} [stdout]
 * @param {string} [stderr]
 */
function answerBytes(code, stdout = '', stderr = '') {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  return Buffer.concat([Buffer.from(`${code} ${out.length} ${err.length}\n`), out, err]);
}

/** @param {string} file @returns {string} what tells one version of the file from another */
function fileId(file) {
  const st = fs.statSync(file);
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}

/**
 * The state, as the per-process fake reads it, in memory: loaded from the file, written back by flush().
 * @param {string} statePath
 */
function stateStore(statePath) {
  /** @type {SdmState} */
  let state;
  /** @type {SdmInvocation[]} */
  let pending = [];
  let dirty = false;
  let knownId = '';
  const load = () => {
    const raw = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    state = normalizeSdmState(raw);
    pending = [];
    // A hand-written file lacking defaults (ids above all) is written back at once, as the per-process fake does
    // at its first invocation, so that every reader sees the same ids.
    dirty =
      Object.keys(state).some((key) => key !== 'invocations' && !Object.hasOwn(raw, key)) ||
      state.users.some((u, i) => raw.users[i].id === undefined) ||
      state.resources.some((r, i) => raw.resources[i].id === undefined);
    knownId = fileId(statePath);
  };
  /** Reloads when the file was replaced behind our back (re-seeded). */
  const sync = () => {
    if (fileId(statePath) !== knownId) load();
  };
  const flushSync = () => {
    withSdmStateLock(statePath, () => {
      sync();
      if (dirty) writeAtomic(statePath, stateText(state));
      if (pending.length > 0) {
        fs.appendFileSync(
          sdmInvocationsPath(statePath),
          pending.map((i) => `${JSON.stringify(i)}\n`).join(''),
        );
      }
      pending = [];
      dirty = false;
      knownId = fileId(statePath);
    });
  };
  /**
   * Applies one invocation, as sdm.mjs's main() does under its lock.
   * @param {SdmRequest} req
   */
  const invoke = (req) => {
    sync();
    const secrets = secretsOf(state, req.env);
    const latencyMs = state.latencyMs;
    const result = run(state, req.argv, req.env, Date.now(), req.pid);
    pending.push(invocationRecord(req.argv, secrets, result, req.env, req.pid));
    if (result.changed) dirty = true;
    return { result, secrets, latencyMs };
  };
  load();
  if (dirty) flushSync();
  return { invoke, flushSync };
}

/**
 * Collects a request from the socket and hands it to onRequest once complete; answers a malformed one with exit 70
 * and drops a connection that sends too much or too slowly.
 * @param {net.Socket} socket
 * @param {(req: SdmRequest) => void} onRequest
 */
function readRequest(socket, onRequest) {
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  /** @type {Buffer[]} */
  let chunks = [];
  let size = 0;
  socket.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) {
      socket.destroy();
      return;
    }
    const data = Buffer.concat([...chunks, chunk]);
    chunks = [data];
    if (data[data.length - 1] !== 0) return;
    /** @type {SdmRequest | undefined} */
    let req;
    try {
      req = parseSdmRequest(data.toString('utf8').split('\0').slice(0, -1));
    } catch (err) {
      socket.end(answerBytes(70, '', `fake sdm: ${/** @type {Error} */ (err).message}\n`));
      return;
    }
    if (req === undefined) return;
    socket.removeAllListeners('data');
    socket.setTimeout(0);
    onRequest(req);
  });
}

/**
 * Answers an applied invocation as sdm.mjs's main() does: scrubbed, after latencyMs unless local; a hang answers
 * nothing until the client goes away (or exit 124 after HANG_CAP_MS).
 * @param {net.Socket} socket
 * @param {{ result: import('./sdm.mjs').Outcome, secrets: string[], latencyMs: number }} applied
 * @param {(fn: () => void, ms: number) => NodeJS.Timeout} later a timer the server clears on close
 */
function answer(socket, { result, secrets, latencyMs }, later) {
  if (result.hang) {
    const t = later(() => socket.end(answerBytes(124)), HANG_CAP_MS);
    socket.once('close', () => clearTimeout(t));
    return;
  }
  const bytes = answerBytes(
    result.code,
    result.stdout ? scrub(secrets, result.stdout) : '',
    result.stderr ? scrub(secrets, result.stderr) : '',
  );
  // The answer travels back from strongDM: the state is already updated, so concurrent invocations overlap.
  if (latencyMs > 0 && !result.local) later(() => socket.end(bytes), latencyMs);
  else socket.end(bytes);
}

/**
 * Starts the served fake sdm on a loopback port chosen by the OS, for the state file at statePath (which must exist:
 * seed it with writeSdmState first).
 * @param {{ statePath: string, host?: string }} options
 * @returns {Promise<FakeSdmServer>}
 */
export async function startFakeSdmServer({ statePath, host = '127.0.0.1' }) {
  if (host !== '127.0.0.1') throw new Error(`fake sdm server: loopback (127.0.0.1) only, not ${host}`);
  const store = stateStore(statePath);
  /** @type {Set<net.Socket>} */
  const sockets = new Set();
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();
  let invocations = 0;
  /** @param {() => void} fn @param {number} ms */
  const later = (fn, ms) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    readRequest(socket, (req) => {
      invocations++;
      try {
        answer(socket, store.invoke(req), later);
      } catch (err) {
        socket.end(answerBytes(70, '', `fake sdm: ${/** @type {Error} */ (err).message}\n`));
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(undefined));
  });
  const port = /** @type {net.AddressInfo} */ (server.address()).port;
  let closed = false;
  return {
    host,
    port,
    statePath,
    get invocations() {
      return invocations;
    },
    clientScript: (version) => sdmClientScript({ host, port, ...(version === undefined ? {} : { version }) }),
    flushSync: () => store.flushSync(),
    flush: async () => store.flushSync(),
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      store.flushSync();
    },
  };
}
