#!/usr/bin/env node
// A faithful fake of the strongDM `sdm` CLI, limited to the command lines this project may use
// (see docs/strongdm-cli.md). It is never kinder than the real tool: it refuses missing or wrong
// tokens, unknown commands and flags, wrong argument counts, bad times, unknown users/resources and duplicate
// grants. All state (users, resources, grants, invocations, faults) lives in the JSON file named by
// FAKE_SDM_STATE; see test/fakes/sdm-state.mjs.
// `sdm --version` prints `sdm version <v> (fake)`: v is FAKE_SDM_BINARY_VERSION (exported by the wrapper inside
// a zip built by downloads.mjs, i.e. the zip's version) or else state.version.
//
// Exit codes: 0 success; 1 any refusal the real CLI would make (usage, authentication, validation, API error,
// injected fault); 70 the fake itself is misconfigured (FAKE_SDM_STATE unset, unreadable, lock timeout).

import fs from 'node:fs';
import crypto from 'node:crypto';
import { takeFault } from './faults.mjs';
import { updateSdmState } from './sdm-state.mjs';

/** @typedef {import('./sdm-state.mjs').SdmState} SdmState */
/** @typedef {import('./sdm-state.mjs').SdmGrant} SdmGrant */
/** @typedef {{ code: number, stdout?: string, stderr?: string, hang?: boolean }} Outcome */
/**
 * @typedef {{ kind: 'version' } | { kind: 'help', text: string }
 *   | { kind: 'list', noun: 'users' | 'datasources' | 'servers' | 'clusters', json: boolean, filter?: string }
 *   | { kind: 'grant', from: string, until: string, resource: string, email: string }
 *   | { kind: 'revoke', resource: string, email: string }} Command
 */

const EXHAUSTED = "resource exhausted: Sorry! You've made too many requests, try again";
const NOT_AUTHENTICATED = "You are not authenticated. Please run 'sdm login' or set SDM_ADMIN_TOKEN.";
const INVALID_TOKEN = 'unauthenticated: invalid admin token';
const HANG_CAP_MS = 10 * 60 * 1000;

const USAGE = {
  root: `NAME:
   sdm - strongDM command line interface (fake)

USAGE:
   sdm [--version] admin <noun> <verb> [flags] [arguments...]

COMMANDS:
   admin users list [--json] [--filter <filter>]
   admin users grant-temporary --from <RFC3339> --until <RFC3339> <resource name> <user email>
   admin users revoke <resource name> <user email>
   admin datasources list [--json] [--filter <filter>]
   admin servers list [--json] [--filter <filter>]
   admin clusters list [--json] [--filter <filter>]
`,
  list: (/** @type {string} */ noun) => `NAME:
   sdm admin ${noun} list - list ${noun}

USAGE:
   sdm admin ${noun} list [--json] [--filter <filter>]

OPTIONS:
   --json             output JSON
   --filter value     filter, e.g. 'name:prod-*' (case-insensitive, * wildcard, comma = AND)
`,
  grant: `NAME:
   sdm admin users grant-temporary - temporarily grant a user access to a resource

USAGE:
   sdm admin users grant-temporary --from <RFC3339> --until <RFC3339> <resource name> <user email>

OPTIONS:
   --from value    start of the grant (RFC3339, e.g. 2024-01-02T15:04:05Z)
   --until value   end of the grant (RFC3339)
`,
  // UNCONFIRMED: no revoke command for temporary grants is documented (see docs/strongdm-cli.md). This is
  // the one the action assumes: it removes every unexpired temporary grant of that user to that resource.
  revoke: `NAME:
   sdm admin users revoke - revoke a user's temporary access to a resource

USAGE:
   sdm admin users revoke <resource name> <user email>
`,
};

class UsageError extends Error {
  /** @param {string} message @param {string} usage */
  constructor(message, usage) {
    super(message);
    this.usage = usage;
  }
}

/**
 * Go `flag`-style parsing: `-name`/`--name`, `--name value`/`--name=value`; flags end at the first
 * non-flag argument or `--`; everything after is positional.
 * @param {string[]} args
 * @param {Record<string, 'bool' | 'string'>} spec
 * @param {string} usage
 */
function parseFlags(args, spec, usage) {
  /** @type {Record<string, string | boolean>} */
  const flags = {};
  /** @type {string[]} */
  const positionals = [];
  for (let i = 0; i < args.length; i++) {
    const a = /** @type {string} */ (args[i]);
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(...args.slice(i));
      break;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let value = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === 'help' || name === 'h') throw Object.assign(new Error('help'), { help: usage });
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw new UsageError(`flag provided but not defined: -${name}`, usage);
    if (Object.hasOwn(flags, name)) throw new UsageError(`flag specified more than once: --${name}`, usage);
    if (kind === 'bool') {
      if (value !== undefined && value !== 'true' && value !== 'false') {
        throw new UsageError(`invalid boolean value "${value}" for -${name}`, usage);
      }
      flags[name] = value !== 'false';
    } else {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: -${name}`, usage);
        value = /** @type {string} */ (args[++i]);
      }
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

/**
 * @param {string[]} argv
 * @returns {Command}
 */
function parseCommand(argv) {
  if (argv.length === 0) throw new UsageError('no command given', USAGE.root);
  const [first, noun, verb] = argv;
  if (first === '--version' || first === '-version') {
    if (argv.length !== 1) throw new UsageError(`unexpected arguments after ${first}`, USAGE.root);
    return { kind: 'version' };
  }
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help', text: USAGE.root };
  if (first?.startsWith('-'))
    throw new UsageError(`flag provided but not defined: ${first.split('=')[0]}`, USAGE.root);
  if (first !== 'admin') throw new UsageError(`unknown command "${first}"`, USAGE.root);
  if (noun === undefined) throw new UsageError('admin: missing subcommand', USAGE.root);
  if (noun === '--help' || noun === '-h') return { kind: 'help', text: USAGE.root };
  if (!['users', 'datasources', 'servers', 'clusters'].includes(noun)) {
    throw new UsageError(`unknown command "admin ${noun}"`, USAGE.root);
  }
  const nounT = /** @type {'users' | 'datasources' | 'servers' | 'clusters'} */ (noun);
  if (verb === undefined) throw new UsageError(`admin ${noun}: missing subcommand`, USAGE.root);
  if (verb === '--help' || verb === '-h') return { kind: 'help', text: USAGE.root };
  const rest = argv.slice(3);
  try {
    if (verb === 'list') {
      const usage = USAGE.list(noun);
      const { flags, positionals } = parseFlags(rest, { json: 'bool', filter: 'string' }, usage);
      if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.length}`, usage);
      const out = /** @type {Command} */ ({ kind: 'list', noun: nounT, json: flags.json === true });
      if (typeof flags.filter === 'string') out.filter = flags.filter;
      return out;
    }
    if (verb === 'grant-temporary' && noun === 'users') {
      const { flags, positionals } = parseFlags(rest, { from: 'string', until: 'string' }, USAGE.grant);
      if (typeof flags.from !== 'string') throw new UsageError('required flag "from" not set', USAGE.grant);
      if (typeof flags.until !== 'string') throw new UsageError('required flag "until" not set', USAGE.grant);
      if (positionals.length !== 2) {
        throw new UsageError(
          `expected exactly 2 arguments (<resource name> <user email>), got ${positionals.length}`,
          USAGE.grant,
        );
      }
      const [resource, email] = /** @type {[string, string]} */ (positionals);
      return { kind: 'grant', from: flags.from, until: flags.until, resource, email };
    }
    if (verb === 'revoke' && noun === 'users') {
      const { positionals } = parseFlags(rest, {}, USAGE.revoke);
      if (positionals.length !== 2) {
        throw new UsageError(
          `expected exactly 2 arguments (<resource name> <user email>), got ${positionals.length}`,
          USAGE.revoke,
        );
      }
      const [resource, email] = /** @type {[string, string]} */ (positionals);
      return { kind: 'revoke', resource, email };
    }
  } catch (err) {
    if (err && typeof err === 'object' && 'help' in err) return { kind: 'help', text: String(err.help) };
    throw err;
  }
  throw new UsageError(`unknown command "admin ${noun} ${verb}"`, USAGE.root);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Strict RFC3339 (the form Go's time.RFC3339 accepts): returns epoch milliseconds or undefined.
 * @param {string} s
 */
function parseRfc3339(s) {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  if ([y, mo, d, h, mi, sec].some((n) => n === undefined)) return undefined;
  const Y = /** @type {number} */ (y);
  const M = /** @type {number} */ (mo);
  const D = /** @type {number} */ (d);
  if (M < 1 || M > 12 || D < 1) return undefined;
  const daysInMonth = new Date(Date.UTC(Y, M, 0)).getUTCDate();
  if (D > daysInMonth) return undefined;
  if (/** @type {number} */ (h) > 23 || /** @type {number} */ (mi) > 59 || /** @type {number} */ (sec) > 59) {
    return undefined;
  }
  let offsetMin = 0;
  if (m[8] !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const base = Date.UTC(Y, M - 1, D, /** @type {number} */ (h), /** @type {number} */ (mi), sec);
  const frac = m[7] ? Number(`0${m[7]}`) * 1000 : 0;
  return base + frac - offsetMin * 60_000;
}

/** @param {number} ms */
function rfc3339Utc(ms) {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/**
 * `field:value[,field:value…]`, case-insensitive, `*` wildcard, comma = AND.
 * @param {string} filter
 * @param {Record<string, (item: any) => string>} fields lower-case field name -> accessor
 * @returns {(item: any) => boolean}
 */
function compileFilter(filter, fields) {
  const terms = filter.split(',').map((t) => t.trim());
  const tests = terms.map((term) => {
    const colon = term.indexOf(':');
    if (colon <= 0) throw new Error(`invalid filter "${term}": expected field:value`);
    const field = term.slice(0, colon).trim().toLowerCase();
    const get = fields[field];
    if (!get) {
      throw new Error(
        `invalid filter: unknown field "${term.slice(0, colon).trim()}" (known: ${Object.keys(fields).join(', ')})`,
      );
    }
    const pattern = term
      .slice(colon + 1)
      .trim()
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    const re = new RegExp(`^${pattern}$`, 'i');
    return (/** @type {any} */ item) => re.test(get(item));
  });
  return (item) => tests.every((t) => t(item));
}

/** @param {string[]} headers @param {string[][]} rows */
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (/** @type {string[]} */ cells) =>
    cells
      .map((c, i) => c.padEnd(/** @type {number} */ (widths[i])))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** @param {Record<string, string> | undefined} tags */
function tagsText(tags) {
  return Object.entries(tags ?? {})
    .map(([k, v]) => (v ? `${k}=${v}` : k))
    .join(',');
}

const DEFAULT_TYPE = { datasource: 'postgres', server: 'ssh', cluster: 'amazoneks' };
const KIND_OF_NOUN = { datasources: 'datasource', servers: 'server', clusters: 'cluster' };

/**
 * @param {SdmState} state
 * @param {Extract<Command, { kind: 'list' }>} cmd
 * @returns {Outcome}
 */
function list(state, cmd) {
  /** @type {Record<string, unknown>[]} */
  let items;
  /** @type {Record<string, (item: any) => string>} */
  let fields;
  if (cmd.noun === 'users') {
    items = state.users.map((u) => ({ ...u, suspended: u.suspended ?? false, tags: u.tags ?? {} }));
    fields = {
      id: (u) => u.id,
      email: (u) => u.email,
      firstname: (u) => u.firstName,
      lastname: (u) => u.lastName,
      suspended: (u) => String(u.suspended),
    };
  } else {
    const kind = KIND_OF_NOUN[cmd.noun];
    items = state.resources
      .filter((r) => r.kind === kind)
      .map(({ kind: k, ...r }) => ({
        ...r,
        type: r.type ?? DEFAULT_TYPE[k],
        healthy: true,
        tags: r.tags ?? {},
      }));
    fields = { id: (r) => r.id, name: (r) => r.name, type: (r) => r.type };
  }
  if (cmd.filter !== undefined) {
    try {
      items = items.filter(compileFilter(cmd.filter, fields));
    } catch (err) {
      return { code: 1, stderr: `${/** @type {Error} */ (err).message}\n` };
    }
  }
  if (cmd.json) return { code: 0, stdout: JSON.stringify(items, null, 2) + '\n' };
  /** @type {any[]} */
  const rows = items;
  if (cmd.noun === 'users') {
    return {
      code: 0,
      stdout: table(
        ['USER ID', 'FIRST NAME', 'LAST NAME', 'EMAIL', 'SUSPENDED', 'TAGS'],
        rows.map((u) => [u.id, u.firstName, u.lastName, u.email, String(u.suspended), tagsText(u.tags)]),
      ),
    };
  }
  return {
    code: 0,
    stdout: table(
      ['RESOURCE ID', 'NAME', 'TYPE', 'HEALTHY', 'TAGS'],
      rows.map((r) => [r.id, r.name, r.type, String(r.healthy), tagsText(r.tags)]),
    ),
  };
}

/**
 * @param {SdmState} state
 * @param {Extract<Command, { kind: 'grant' }>} cmd
 * @param {number} now
 * @returns {Outcome}
 */
function grant(state, cmd, now) {
  const from = parseRfc3339(cmd.from);
  if (from === undefined) {
    return { code: 1, stderr: `invalid --from "${cmd.from}": expected RFC3339, e.g. 2006-01-02T15:04:05Z\n` };
  }
  const until = parseRfc3339(cmd.until);
  if (until === undefined) {
    return {
      code: 1,
      stderr: `invalid --until "${cmd.until}": expected RFC3339, e.g. 2006-01-02T15:04:05Z\n`,
    };
  }
  if (!(until > from)) return { code: 1, stderr: 'cannot grant: BadRequest: --until must be after --from\n' };
  if (!(until > now)) return { code: 1, stderr: 'cannot grant: BadRequest: --until must be in the future\n' };
  const resource = state.resources.find((r) => r.name === cmd.resource);
  if (!resource) return { code: 1, stderr: `cannot find datasource or server named "${cmd.resource}"\n` };
  const wanted = cmd.email.toLowerCase();
  const user = state.users.find((u) => u.email.toLowerCase() === wanted);
  if (!user) return { code: 1, stderr: `cannot find user with email "${cmd.email}"\n` };
  const clash = state.grants.find((g) => {
    if (g.accountId !== user.id || g.resourceId !== resource.id) return false;
    const gFrom = Date.parse(g.startFrom);
    const gUntil = Date.parse(g.validUntil);
    if (!(gUntil > now)) return false; // expired grants never clash
    return state.strict || (from < gUntil && gFrom < until);
  });
  if (clash) {
    return {
      code: 1,
      stderr:
        `cannot grant: AlreadyExists: user ${user.email} already has a temporary grant to ${resource.name} ` +
        `(${clash.id}, ${clash.startFrom} to ${clash.validUntil})\n`,
    };
  }
  const g = {
    id: `ag-${crypto.randomBytes(8).toString('hex')}`,
    accountId: user.id,
    email: user.email,
    resourceId: resource.id,
    resourceName: resource.name,
    startFrom: rfc3339Utc(from),
    validUntil: rfc3339Utc(until),
    createdAt: rfc3339Utc(now),
  };
  state.grants.push(g);
  return {
    code: 0,
    stdout: `access to ${resource.name} temporarily granted to ${user.email} from ${g.startFrom} until ${g.validUntil}\n`,
  };
}

/**
 * @param {SdmState} state
 * @param {Extract<Command, { kind: 'revoke' }>} cmd
 * @param {number} now
 * @returns {Outcome}
 */
function revoke(state, cmd, now) {
  const resource = state.resources.find((r) => r.name === cmd.resource);
  if (!resource) return { code: 1, stderr: `cannot find datasource or server named "${cmd.resource}"\n` };
  const user = state.users.find((u) => u.email.toLowerCase() === cmd.email.toLowerCase());
  if (!user) return { code: 1, stderr: `cannot find user with email "${cmd.email}"\n` };
  const active = (/** @type {SdmGrant} */ g) =>
    g.accountId === user.id && g.resourceId === resource.id && Date.parse(g.validUntil) > now;
  const removed = state.grants.filter(active);
  if (removed.length === 0) {
    return {
      code: 1,
      stderr: `cannot revoke: NotFound: ${user.email} has no temporary grant to ${resource.name}\n`,
    };
  }
  state.grants = state.grants.filter((g) => !active(g));
  state.revoked = [...(state.revoked ?? []), ...removed.map((g) => ({ ...g, revokedAt: rfc3339Utc(now) }))];
  return {
    code: 0,
    stdout: `revoked ${removed.length} temporary grant(s) of ${user.email} to ${resource.name}\n`,
  };
}

/**
 * @param {Command} cmd
 * @returns {string[]} names a fault's `command` may use for this command
 */
function faultNames(cmd) {
  switch (cmd.kind) {
    case 'version':
      return ['--version', 'version'];
    case 'list':
      return [`${cmd.noun} list`, `admin ${cmd.noun} list`];
    case 'grant':
      return ['grant-temporary', 'users grant-temporary', 'admin users grant-temporary'];
    case 'revoke':
      return ['revoke', 'users revoke', 'admin users revoke'];
    default:
      return [];
  }
}

/**
 * Finds, consumes (decrements `times`, removes at 0) and returns the first fault that matches the command.
 * @param {SdmState} state
 * @param {Command} cmd
 */
function faultFor(state, cmd) {
  const names = faultNames(cmd);
  return takeFault(state.faults, (f) => {
    if (f.command !== '*' && !names.includes(f.command)) return false;
    if (
      f.email !== undefined &&
      (!(cmd.kind === 'grant' || cmd.kind === 'revoke') || cmd.email.toLowerCase() !== f.email.toLowerCase())
    ) {
      return false;
    }
    if (
      f.resource !== undefined &&
      (!(cmd.kind === 'grant' || cmd.kind === 'revoke') || cmd.resource !== f.resource)
    ) {
      return false;
    }
    return true;
  });
}

/**
 * @param {SdmState} state
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @param {number} now
 * @returns {Outcome}
 */
function run(state, argv, env, now) {
  /** @type {Command} */
  let cmd;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError)
      return { code: 1, stderr: `Incorrect Usage: ${err.message}\n\n${err.usage}` };
    throw err;
  }
  if (cmd.kind === 'help') return { code: 0, stdout: cmd.text };
  if (cmd.kind !== 'version') {
    const token = env.SDM_ADMIN_TOKEN;
    if (!token) return { code: 1, stderr: `${NOT_AUTHENTICATED}\n` };
    if (token !== state.token) return { code: 1, stderr: `${INVALID_TOKEN}\n` };
  }
  const fault = faultFor(state, cmd);
  if (fault) {
    if (fault.action === 'hang') return { code: 0, hang: true };
    if (fault.action === 'exhausted') return { code: 1, stderr: `${EXHAUSTED}\n` };
    const msg = fault.stderr ?? 'internal error';
    return { code: 1, stderr: msg.endsWith('\n') ? msg : `${msg}\n` };
  }
  switch (cmd.kind) {
    case 'version':
      return { code: 0, stdout: `sdm version ${env.FAKE_SDM_BINARY_VERSION || state.version} (fake)\n` };
    case 'list':
      return list(state, cmd);
    case 'grant':
      return grant(state, cmd, now);
    case 'revoke':
      return revoke(state, cmd, now);
  }
}

/** @param {string} msg */
function die(msg) {
  process.stderr.write(`fake sdm: ${msg}\n`);
  process.exitCode = 70;
}

function main() {
  const argv = process.argv.slice(2);
  const statePath = process.env.FAKE_SDM_STATE;
  if (!statePath)
    return die('FAKE_SDM_STATE is not set (it must name the fake state file; see sdm-state.mjs)');
  if (!fs.existsSync(statePath)) return die(`state file ${statePath} (FAKE_SDM_STATE) does not exist`);
  const envToken = process.env.SDM_ADMIN_TOKEN;
  /** @type {Outcome} */
  let outcome;
  /** @type {string[]} */
  let secrets = [];
  try {
    outcome = updateSdmState(statePath, (state) => {
      secrets = [state.token, envToken ?? ''].filter((s) => s.length >= 4);
      const result = run(state, argv, process.env, Date.now());
      state.invocations.push({
        argv,
        tokenFromEnv: !!envToken,
        tokenInArgv: argv.some(
          (a) =>
            a === '--admin-token' ||
            a.startsWith('--admin-token=') ||
            a === '-admin-token' ||
            a.startsWith('-admin-token=') ||
            secrets.some((s) => a.includes(s)),
        ),
        exitCode: result.hang ? null : result.code,
        at: new Date().toISOString(),
        pid: process.pid,
        ...(process.env.FAKE_SDM_BINARY_VERSION
          ? { binaryVersion: process.env.FAKE_SDM_BINARY_VERSION }
          : {}),
        ...(result.hang ? { hung: true } : {}),
      });
      return result;
    });
  } catch (err) {
    return die(/** @type {Error} */ (err).message);
  }
  const scrub = (/** @type {string} */ s) =>
    secrets.reduce((acc, secret) => acc.split(secret).join('<redacted>'), s);
  if (outcome.hang) {
    setInterval(() => {}, 1 << 30);
    setTimeout(() => process.exit(124), HANG_CAP_MS);
    return;
  }
  if (outcome.stdout) process.stdout.write(scrub(outcome.stdout));
  if (outcome.stderr) process.stderr.write(scrub(outcome.stderr));
  process.exitCode = outcome.code;
}

main();
