#!/usr/bin/env node
// A faithful fake of the strongDM `sdm` CLI, limited to the command lines this project may use
// (see docs/strongdm-cli.md). It is never kinder than the real tool: it refuses missing or wrong
// tokens, unknown commands and flags, wrong argument counts, bad times, unknown users/resources and duplicate
// grants. All state (users, resources, grants, invocations, faults) lives in the JSON file named by
// FAKE_SDM_STATE; see test/fakes/sdm-state.mjs.
// `sdm --version` prints `sdm version <v> (fake)`: v is FAKE_SDM_BINARY_VERSION (exported by the wrapper inside
// a zip built by downloads.mjs, i.e. the zip's version) or else state.version.
//
// Like the real CLI (built on urfave/cli), `--help`/`-h` at any level, and `help [command]` at any level that has
// subcommands, print NAME / USAGE / COMMANDS / OPTIONS on stdout without needing a token; an unknown subcommand
// answers `No help topic for '<word>'` with exit 3. The command tree holds a few more real-looking commands than
// the fake models (they answer a usage error when run), so that anything reading the help must pick by word.
// Which commands exist is partly configurable (state.revokeCommand, state.grantFlags).
//
// Like the real CLI, every admin command that talks to strongDM (the lists, grant-temporary, revoke) keeps state
// in its home: it appends a line to `$SDM_HOME/state`, or `$HOME/.sdm/state` (folder created with mode 0700),
// and refuses to run when neither SDM_HOME nor HOME is set.
//
// Like strongDM, it limits writes (state.writeLimit, by default the documented 500 writes per minute per token):
// every grant-temporary and revoke that passes the token check and argument parsing is counted when processed,
// accepted or refused alike, and one that finds the window full is refused with strongDM's "resource exhausted"
// text, changing nothing (its invocation record says `rateLimited: true`). Lists are not limited. With
// state.latencyMs, every invocation but help and version answers only that long after it was processed, the
// state lock already released (concurrent invocations overlap, as concurrent API calls do; a caller that kills
// it while it waits cannot assume its write did not happen). Invocations are recorded in a file beside the state
// (see sdm-state.mjs); the state file is rewritten only when the invocation changed it.
//
// Exit codes: 0 success (help included); 1 any refusal the real CLI would make (usage, authentication,
// validation, API error, injected fault, no home); 3 unknown subcommand or help topic (urfave/cli's exit code);
// 70 the fake itself is misconfigured (FAKE_SDM_STATE unset, unreadable, invalid, lock timeout).

import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { takeFault } from './faults.mjs';
import { recordSdmInvocation } from './sdm-state.mjs';

/** @typedef {import('./sdm-state.mjs').SdmState} SdmState */
/** @typedef {import('./sdm-state.mjs').SdmGrant} SdmGrant */
/** @typedef {{ code: number, stdout?: string, stderr?: string, hang?: boolean, changed?: boolean, local?: boolean, rateLimited?: boolean }} Outcome */
/**
 * `from`/`until` of a grant are undefined only when state.grantFlags lacks that flag.
 * @typedef {{ kind: 'version' } | { kind: 'help', text: string }
 *   | { kind: 'list', noun: 'users' | 'datasources' | 'servers' | 'clusters', json: boolean, filter?: string }
 *   | { kind: 'grant', from?: string, until?: string, resource: string, email: string }
 *   | { kind: 'revoke', resource: string, email: string }} Command
 */
/**
 * A flag as urfave/cli shows it: `--name` (bool) or `--name value` (takes a value), `, -alias`.
 * @typedef {{ name: string, alias?: string, value?: boolean, usage: string }} CliFlag
 */
/**
 * A command: a group (with `commands`) or a leaf. A leaf without `parse` is listed in the help but not modelled:
 * running it answers a usage error.
 * @typedef {{ name: string, usage: string, argsUsage?: string, flags?: CliFlag[], commands?: CliNode[],
 *   parse?: (flags: Record<string, string | boolean>, positionals: string[], usage: string) => Command }} CliNode
 */

const EXHAUSTED = "resource exhausted: Sorry! You've made too many requests, try again";
const NOT_AUTHENTICATED = "You are not authenticated. Please run 'sdm login' or set SDM_ADMIN_TOKEN.";
const INVALID_TOKEN = 'unauthenticated: invalid admin token';
/** How long a hung invocation waits before it gives up with exit 124. */
export const HANG_CAP_MS = 10 * 60 * 1000;

const HELP_WORDS = new Set(['--help', '-help', '-h', '--h']);
const VERSION_WORDS = new Set(['--version', '-version', '-v', '--v']);
/** @type {CliFlag} */
const HELP_FLAG = { name: 'help', alias: 'h', usage: 'show help' };
/** @type {CliFlag} */
const VERSION_FLAG = { name: 'version', alias: 'v', usage: 'print the version' };
/** @type {[string, string]} */
const HELP_COMMAND = ['help, h', 'Shows a list of commands or help for one command'];
const POSITIONALS = '<resource name> <user email>';

/** @type {Record<'--from' | '--until', CliFlag>} */
const GRANT_FLAGS = {
  '--from': { name: 'from', value: true, usage: 'start of the grant (RFC3339, e.g. 2024-01-02T15:04:05Z)' },
  '--until': { name: 'until', value: true, usage: 'end of the grant (RFC3339)' },
};

class UsageError extends Error {
  /** @param {string} message @param {string} usage */
  constructor(message, usage) {
    super(message);
    this.usage = usage;
  }
}

/** urfave/cli's answer to an unknown subcommand or help topic: `No help topic for '<word>'`, exit 3. */
class NoHelpTopic extends Error {
  /** @param {string} word */
  constructor(word) {
    super(`No help topic for '${word}'`);
  }
}

/**
 * @param {string} noun
 * @param {string} filterExample
 * @returns {CliNode}
 */
function listCommand(noun, filterExample) {
  return {
    name: 'list',
    usage: `list ${noun}`,
    flags: [
      { name: 'json', usage: 'output JSON' },
      {
        name: 'filter',
        value: true,
        usage: `filter, e.g. '${filterExample}' (case-insensitive, * wildcard, comma = AND)`,
      },
    ],
    parse: (flags, positionals, usage) => {
      if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.length}`, usage);
      const nounT = /** @type {'users' | 'datasources' | 'servers' | 'clusters'} */ (noun);
      const out = /** @type {Command} */ ({ kind: 'list', noun: nounT, json: flags.json === true });
      if (typeof flags.filter === 'string') out.filter = flags.filter;
      return out;
    },
  };
}

/** @param {string[]} positionals @param {string} usage @returns {[string, string]} */
function resourceAndEmail(positionals, usage) {
  if (positionals.length !== 2) {
    throw new UsageError(`expected exactly 2 arguments (${POSITIONALS}), got ${positionals.length}`, usage);
  }
  return /** @type {[string, string]} */ (positionals);
}

/**
 * @param {SdmState['grantFlags']} grantFlags
 * @returns {CliNode}
 */
function grantCommand(grantFlags) {
  return {
    name: 'grant-temporary',
    usage: 'temporarily grant a user access to a resource',
    argsUsage: POSITIONALS,
    flags: grantFlags.map((f) => GRANT_FLAGS[f]),
    parse: (flags, positionals, usage) => {
      for (const f of grantFlags) {
        const name = GRANT_FLAGS[f].name;
        if (typeof flags[name] !== 'string') throw new UsageError(`required flag "${name}" not set`, usage);
      }
      const [resource, email] = resourceAndEmail(positionals, usage);
      /** @type {Command} */
      const cmd = { kind: 'grant', resource, email };
      if (typeof flags.from === 'string') cmd.from = flags.from;
      if (typeof flags.until === 'string') cmd.until = flags.until;
      return cmd;
    },
  };
}

/**
 * The command tree, as the state configures it.
 * @param {Pick<SdmState, 'revokeCommand' | 'grantFlags'>} options
 * @returns {CliNode}
 */
function cliTree({ revokeCommand, grantFlags }) {
  const other = (/** @type {string} */ name, /** @type {string} */ usage) => ({ name, usage });
  const resources = (/** @type {string} */ noun, /** @type {string} */ one) => ({
    name: noun,
    usage: `manage ${noun}`,
    commands: [
      other('add', `add a ${one}`),
      other('delete', `delete a ${one}`),
      listCommand(noun, 'name:prod-*'),
      other('update', `update a ${one}`),
    ],
  });
  /** @type {CliNode[]} */
  const users = [
    listCommand('users', 'email:ada@example.com'),
    other('add', 'add a user'),
    other('update', 'update a user'),
    other('delete', 'delete a user'),
    other('suspend', 'suspend a user'),
    other('unsuspend', 'unsuspend a user'),
    grantCommand(grantFlags),
  ];
  if (revokeCommand) {
    // UNCONFIRMED: no revoke command for temporary grants is documented (see docs/strongdm-cli.md). This is
    // the one the action assumes: it removes every unexpired temporary grant of that user to that resource.
    users.push({
      name: 'revoke',
      usage: "revoke a user's temporary access to a resource",
      argsUsage: POSITIONALS,
      parse: (_flags, positionals, usage) => {
        const [resource, email] = resourceAndEmail(positionals, usage);
        return { kind: 'revoke', resource, email };
      },
    });
  }
  return {
    name: 'sdm',
    usage: 'strongDM command line interface',
    commands: [
      {
        name: 'admin',
        usage: 'administrative commands',
        commands: [
          resources('clusters', 'cluster'),
          resources('datasources', 'datasource'),
          {
            name: 'roles',
            usage: 'manage roles',
            commands: [
              other('add', 'add a role'),
              other('delete', 'delete a role'),
              other('list', 'list roles'),
              other('update', 'update a role'),
            ],
          },
          resources('servers', 'server'),
          { name: 'users', usage: 'manage users', commands: users },
        ],
      },
      other('audit', 'inspect activity and queries'),
      other('connect', 'connect to a resource'),
      other('disconnect', 'disconnect from a resource'),
      other('login', 'log in to strongDM'),
      other('logout', 'log out of strongDM'),
      other('status', 'show the status of your resources'),
    ],
  };
}

/** Rows laid out as urfave/cli's tabwriter does: 3 spaces indent, columns 2 spaces apart. @param {[string, string][]} rows */
function columns(rows) {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `   ${left.padEnd(width)}${right}`.trimEnd()).join('\n');
}

/** @param {CliFlag[]} flags */
function flagRows(flags) {
  return columns(
    flags.map((f) => [`--${f.name}${f.value ? ' value' : ''}${f.alias ? `, -${f.alias}` : ''}`, f.usage]),
  );
}

/**
 * Help in urfave/cli v1's layout (app, subcommand and command templates).
 * @param {CliNode} node
 * @param {string} helpName e.g. `sdm admin users`
 * @param {string} version
 */
function helpText(node, helpName, version) {
  const lines = ['NAME:', `   ${helpName} - ${node.usage}`, '', 'USAGE:'];
  if (node.commands && helpName === 'sdm') {
    lines.push(`   ${helpName} [global options] command [command options] [arguments...]`, '');
    lines.push('VERSION:', `   ${version}`, '');
  } else if (node.commands) {
    lines.push(`   ${helpName} command [command options] [arguments...]`, '');
  } else {
    lines.push(`   ${helpName} [command options] ${node.argsUsage ?? '[arguments...]'}`, '');
  }
  if (node.commands) {
    lines.push(
      'COMMANDS:',
      columns([
        ...node.commands.map((c) => /** @type {[string, string]} */ ([c.name, c.usage])),
        HELP_COMMAND,
      ]),
      '',
    );
  }
  if (helpName === 'sdm') lines.push('GLOBAL OPTIONS:', flagRows([HELP_FLAG, VERSION_FLAG]));
  else lines.push('OPTIONS:', flagRows([...(node.flags ?? []), HELP_FLAG]));
  return lines.join('\n') + '\n';
}

/** `--name=value` -> `name` @param {string} arg */
function flagName(arg) {
  return arg.replace(/^--?/, '').split('=')[0];
}

/**
 * Go `flag`-style parsing: `-name`/`--name`, `--name value`/`--name=value`; flags end at the first
 * non-flag argument or `--`; everything after is positional. `-h`/`--help` anywhere among the flags asks for help.
 * @param {string[]} args
 * @param {Record<string, 'bool' | 'string'>} spec
 * @param {string} usage
 * @returns {{ help: true } | { help: false, flags: Record<string, string | boolean>, positionals: string[] }}
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
    if (name === 'help' || name === 'h') return { help: true };
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
  return { help: false, flags, positionals };
}

/**
 * Walks the command tree the way urfave/cli does. Throws UsageError (exit 1) or NoHelpTopic (exit 3).
 * @param {string[]} argv
 * @param {Pick<SdmState, 'revokeCommand' | 'grantFlags'>} options
 * @param {string} version shown in the top-level help
 * @returns {Command}
 */
function parseCommand(argv, options, version) {
  const root = cliTree(options);
  const help = (/** @type {CliNode} */ node, /** @type {string[]} */ names) =>
    /** @type {Command} */ ({ kind: 'help', text: helpText(node, names.join(' '), version) });
  const first = argv[0];
  if (first !== undefined && VERSION_WORDS.has(first)) {
    if (argv.length !== 1)
      throw new UsageError(`unexpected arguments after ${first}`, helpText(root, 'sdm', version));
    return { kind: 'version' };
  }
  let node = root;
  const names = ['sdm'];
  let i = 0;
  while (node.commands) {
    const usage = helpText(node, names.join(' '), version);
    const word = argv[i];
    if (word === undefined) {
      throw new UsageError(
        i === 0 ? 'no command given' : `${names.slice(1).join(' ')}: missing subcommand`,
        usage,
      );
    }
    if (HELP_WORDS.has(word)) return help(node, names);
    if (word.startsWith('-'))
      throw new UsageError(`flag provided but not defined: -${flagName(word)}`, usage);
    if (word === 'help' || word === 'h') {
      const topic = argv[i + 1];
      if (topic === undefined) return help(node, names);
      const child = node.commands.find((c) => c.name === topic);
      if (!child) throw new NoHelpTopic(topic);
      return help(child, [...names, topic]);
    }
    const child = node.commands.find((c) => c.name === word);
    if (!child) throw new NoHelpTopic(word);
    node = child;
    names.push(word);
    i++;
  }
  const usage = helpText(node, names.join(' '), version);
  const spec = Object.fromEntries((node.flags ?? []).map((f) => [f.name, f.value ? 'string' : 'bool']));
  const parsed = parseFlags(argv.slice(i), spec, usage);
  if (parsed.help) return help(node, names);
  if (!node.parse) throw new UsageError(`"${names.join(' ')}" is not modelled by the fake sdm`, usage);
  return node.parse(parsed.flags, parsed.positionals, usage);
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
    // `permissionLevel` is listed only when seeded; `suspended` is exactly what was seeded (default false) and
    // is not derived from a permission level 'suspended' (which of the two the real JSON carries is unconfirmed).
    items = state.users.map((u) => ({ ...u, suspended: u.suspended ?? false, tags: u.tags ?? {} }));
    fields = {
      id: (u) => u.id,
      email: (u) => u.email,
      firstname: (u) => u.firstName,
      lastname: (u) => u.lastName,
      suspended: (u) => String(u.suspended),
      permissionlevel: (u) => u.permissionLevel ?? '',
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
  // Without a --from flag (state.grantFlags), the grant starts now, as the API's StartFrom defaults to now.
  const from = cmd.from === undefined ? now : parseRfc3339(cmd.from);
  if (from === undefined) {
    return { code: 1, stderr: `invalid --from "${cmd.from}": expected RFC3339, e.g. 2006-01-02T15:04:05Z\n` };
  }
  if (cmd.until === undefined) {
    return { code: 1, stderr: 'cannot grant: BadRequest: a temporary grant needs an end (validUntil)\n' };
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
 * The folder where the CLI keeps its state: SDM_HOME, else $HOME/.sdm (empty values count as unset).
 * @param {NodeJS.ProcessEnv} env
 */
function sdmHomeDir(env) {
  if (env.SDM_HOME) return env.SDM_HOME;
  if (env.HOME) return path.join(env.HOME, '.sdm');
  return undefined;
}

/** @param {Extract<Command, { kind: 'list' | 'grant' | 'revoke' }>} cmd */
function commandLine(cmd) {
  if (cmd.kind === 'list') return `admin ${cmd.noun} list`;
  return cmd.kind === 'grant' ? 'admin users grant-temporary' : 'admin users revoke';
}

/**
 * What the real CLI does before talking to strongDM: find its home and keep state there. Appends one JSON line
 * to `<home>/state` (folder created 0700, file 0600). Returns a refusal when there is no home or it cannot write.
 * @param {NodeJS.ProcessEnv} env
 * @param {Extract<Command, { kind: 'list' | 'grant' | 'revoke' }>} cmd
 * @param {number} now
 * @param {number} pid the invocation's process id, written in the line
 * @returns {Outcome | undefined}
 */
function keepHomeState(env, cmd, now, pid) {
  const dir = sdmHomeDir(env);
  if (dir === undefined) {
    return { code: 1, stderr: 'cannot find the sdm home directory: neither SDM_HOME nor HOME is set\n' };
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const line = JSON.stringify({
      at: new Date(now).toISOString(),
      command: commandLine(cmd),
      pid,
    });
    fs.appendFileSync(path.join(dir, 'state'), `${line}\n`, { mode: 0o600 });
  } catch (err) {
    return {
      code: 1,
      stderr: `cannot write the sdm state in ${dir}: ${/** @type {Error} */ (err).message}\n`,
    };
  }
  return undefined;
}

/**
 * strongDM's write limit (state.writeLimit): counts this write at `now`, accepted or refused alike (a refused
 * attempt counts too: never kinder than the real service), and prunes the counted times to the window.
 * Returns false when the window (now - windowMs, now] already held `max` counted writes.
 * @param {SdmState} state
 * @param {number} now
 */
function countWrite(state, now) {
  const limit = state.writeLimit;
  if (limit === null) return true;
  const inWindow = state.writeTimes.filter((t) => t > now - limit.windowMs && t <= now);
  const allowed = inWindow.length < limit.max;
  state.writeTimes = [...state.writeTimes.filter((t) => t > now - limit.windowMs), now];
  return allowed;
}

/**
 * What the CLI and strongDM check before acting on an admin command: its home, the token, then (for writes)
 * the write limit. Returns a refusal, or undefined to go on.
 * @param {SdmState} state
 * @param {Extract<Command, { kind: 'list' | 'grant' | 'revoke' }>} cmd
 * @param {NodeJS.ProcessEnv} env
 * @param {number} now
 * @param {number} pid
 * @returns {Outcome | undefined}
 */
function admit(state, cmd, env, now, pid) {
  const refused = keepHomeState(env, cmd, now, pid);
  if (refused) return refused;
  const token = env.SDM_ADMIN_TOKEN;
  if (!token) return { code: 1, stderr: `${NOT_AUTHENTICATED}\n` };
  if (token !== state.token) return { code: 1, stderr: `${INVALID_TOKEN}\n` };
  if (cmd.kind === 'list') return undefined;
  if (!countWrite(state, now)) return { code: 1, stderr: `${EXHAUSTED}\n`, rateLimited: true };
  return undefined;
}

/**
 * Runs one command line against the state (which it may change). The outcome says whether it `changed` the
 * state (a write command past the token check, or a consumed fault: the state file is then written back) and
 * whether it is `local` (help and version, which never wait state.latencyMs). Exported for the served mode
 * (sdm-server.mjs), which runs every invocation through this same function.
 * @param {SdmState} state
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @param {number} now
 * @param {number} [pid] the invocation's process id (for the line kept in the sdm home)
 * @returns {Outcome}
 */
export function run(state, argv, env, now, pid = process.pid) {
  const version = env.FAKE_SDM_BINARY_VERSION || state.version;
  /** @type {Command} */
  let cmd;
  try {
    cmd = parseCommand(argv, state, version);
  } catch (err) {
    if (err instanceof UsageError)
      return { code: 1, stderr: `Incorrect Usage: ${err.message}\n\n${err.usage}` };
    if (err instanceof NoHelpTopic) return { code: 3, stderr: `${err.message}\n` };
    throw err;
  }
  if (cmd.kind === 'help') return { code: 0, stdout: cmd.text, local: true };
  if (cmd.kind !== 'version') {
    const refused = admit(state, cmd, env, now, pid);
    if (refused) return { ...refused, changed: !!refused.rateLimited }; // only a counted write changes state
  }
  const fault = faultFor(state, cmd);
  if (fault) {
    const local = cmd.kind === 'version';
    if (fault.action === 'hang') return { code: 0, hang: true, changed: true, local };
    if (fault.action === 'exhausted') return { code: 1, stderr: `${EXHAUSTED}\n`, changed: true, local };
    const msg = fault.stderr ?? 'internal error';
    return { code: 1, stderr: msg.endsWith('\n') ? msg : `${msg}\n`, changed: true, local };
  }
  switch (cmd.kind) {
    case 'version':
      return { code: 0, stdout: `sdm version ${version} (fake)\n`, local: true };
    case 'list':
      return list(state, cmd);
    case 'grant':
      return { ...grant(state, cmd, now), changed: true };
    case 'revoke':
      return { ...revoke(state, cmd, now), changed: true };
  }
}

/**
 * The record of this invocation (state.invocations).
 * @param {string[]} argv
 * @param {string[]} secrets
 * @param {Outcome} result
 * @param {NodeJS.ProcessEnv} [env] the invocation's environment
 * @param {number} [pid] the invocation's process id
 * @returns {import('./sdm-state.mjs').SdmInvocation}
 */
export function invocationRecord(argv, secrets, result, env = process.env, pid = process.pid) {
  return {
    argv,
    tokenFromEnv: !!env.SDM_ADMIN_TOKEN,
    tokenInArgv: argv.some(
      (a) =>
        a === '--admin-token' ||
        a.startsWith('--admin-token=') ||
        a === '-admin-token' ||
        a.startsWith('-admin-token=') ||
        secrets.some((s) => a.includes(s)),
    ),
    home: env.HOME ?? null,
    sdmHome: env.SDM_HOME ?? null,
    sdmEnv: Object.keys(env)
      .filter((name) => name.startsWith('SDM_'))
      .sort(),
    exitCode: result.hang ? null : result.code,
    at: new Date().toISOString(),
    pid,
    ...(env.FAKE_SDM_BINARY_VERSION ? { binaryVersion: env.FAKE_SDM_BINARY_VERSION } : {}),
    ...(result.hang ? { hung: true } : {}),
    ...(result.rateLimited ? { rateLimited: true } : {}),
  };
}

/**
 * The texts never to print or record: the state's token and the one the invocation was given (when 4+ chars).
 * @param {SdmState} state
 * @param {NodeJS.ProcessEnv} env
 * @returns {string[]}
 */
export function secretsOf(state, env) {
  return [state.token, env.SDM_ADMIN_TOKEN ?? ''].filter((s) => s.length >= 4);
}

/**
 * `text` with every secret replaced by `<redacted>`.
 * @param {string[]} secrets
 * @param {string} text
 */
export function scrub(secrets, text) {
  return secrets.reduce((acc, secret) => acc.split(secret).join('<redacted>'), text);
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
  /** @type {Outcome} */
  let outcome;
  /** @type {string[]} */
  let secrets = [];
  let latencyMs = 0;
  try {
    outcome = recordSdmInvocation(statePath, (state) => {
      secrets = secretsOf(state, process.env);
      latencyMs = state.latencyMs;
      const result = run(state, argv, process.env, Date.now());
      return { result, changed: !!result.changed, invocation: invocationRecord(argv, secrets, result) };
    });
  } catch (err) {
    return die(/** @type {Error} */ (err).message);
  }
  if (outcome.hang) {
    setInterval(() => {}, 1 << 30);
    setTimeout(() => process.exit(124), HANG_CAP_MS);
    return;
  }
  const answer = () => {
    if (outcome.stdout) process.stdout.write(scrub(secrets, outcome.stdout));
    if (outcome.stderr) process.stderr.write(scrub(secrets, outcome.stderr));
    process.exitCode = outcome.code;
  };
  // The answer travels back from strongDM: the lock is already released, so concurrent invocations overlap.
  if (latencyMs > 0 && !outcome.local) setTimeout(answer, latencyMs);
  else answer();
}

/** True when this module is the program node was started with (not when it is imported, e.g. by sdm-server.mjs). */
function isMain() {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) main();
