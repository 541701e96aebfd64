// @ts-check
/**
 * A local fake of the parts of the PagerDuty REST API that oncall-access uses
 * (`GET /oncalls`, `GET /users/{id}`, `GET /schedules/{id}`, `GET /schedules/{id}/users`,
 * `GET /escalation_policies/{id}`, `GET /services/{id}`, the shift-based `GET /v3/schedules/{id}`, and
 * `GET /incidents` in pagerduty-incidents.mjs).
 *
 * Rule: the fake is never kinder than the real service. It refuses what PagerDuty (or its OpenAPI
 * spec) refuses (bad auth, dates that are not RFC 3339 date-times, too large offsets, unknown time
 * zones, include[] values outside the spec's enum, repeated values in uniqueItems arrays, booleans
 * that are not true/false, ranges over 3 months) and returns the awkward shapes PagerDuty returns
 * (duplicate rows per policy/level, whole unclipped periods, `schedule: null` rows, offsets in the
 * requested time zone, paging at 100 rows). v3 schedules are invisible to the legacy endpoints
 * (404) and, unless `oncallsIncludeV3` is set, to /oncalls. See docs/pagerduty.md.
 * With `latencyMs`, every answer (faults and errors included) comes only that long after its request, as
 * over a real network; concurrent requests overlap.
 *
 * Plain JavaScript (ESM) on purpose: also run by `node scripts/demo.mjs`. Only `node:http`.
 */
import http from 'node:http';
import { takeFault } from './faults.mjs';
import { listenOnLoopback, sendJson } from './http.mjs';
import { indexIncidents, listIncidents } from './pagerduty-incidents.mjs';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** On-calls are computed only up to 90 days after now. */
export const HORIZON_MS = 90 * DAY_MS;
/** PagerDuty: "The search range cannot exceed 3 months" (since..until); 90 days here, the strict reading. */
export const MAX_RANGE_MS = 90 * DAY_MS;
/** Contiguous periods are looked for this far outside the query window (keeps computation bounded). */
const MERGE_MARGIN_MS = 35 * DAY_MS;
/** Guard against seeds/queries that would enumerate an absurd number of rotation shifts. */
const MAX_SHIFTS = 500_000;
const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 25;
const MAX_OFFSET_PLUS_LIMIT = 10_000;
/** Enums of `include[]` in the spec: listOnCalls, getUser, getScheduleV3. */
const INCLUDES = new Set(['users', 'schedules', 'escalation_policies']);
/** `include[]` values getEscalationPolicy allows. */
const POLICY_INCLUDES = new Set(['services', 'teams', 'targets', 'escalation_rule_assignment_strategies']);
const USER_INCLUDES = new Set([
  'contact_methods',
  'notification_rules',
  'teams',
  'subdomains',
  'calendar_urls',
]);
const V3_INCLUDES = new Set(['final_schedule']);
/** `include[]` values getService allows. */
const SERVICE_INCLUDES = new Set([
  'escalation_policies',
  'teams',
  'auto_pause_notifications_parameters',
  'integrations',
]);
/** getSchedule: since defaults to 2 weeks before until, until to 2 weeks after since. */
const SCHEDULE_DEFAULT_SPAN_MS = 14 * DAY_MS;
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu']);

/**
 * @typedef {object} SeedUser
 * @property {string} id
 * @property {string} name
 * @property {string} email
 * @property {string | null} [time_zone]
 * @property {string} [role]
 * @property {boolean} [omitEmailInInclude] full object in `/oncalls?include[]=users` lacks `email`
 *
 * @typedef {object} SeedShift
 * @property {string} user user id
 * @property {string} start ISO 8601
 * @property {string} end ISO 8601
 *
 * @typedef {object} SeedRotation
 * @property {string} start ISO 8601; shift k covers [start + k*shiftMinutes, start + (k+1)*shiftMinutes), k in Z
 * @property {number} shiftMinutes
 * @property {string[]} users user ids, shift k goes to users[k mod n]
 *
 * @typedef {object} SeedSchedule
 * @property {string} id
 * @property {string} name
 * @property {boolean} [v3] a v3 (shift-based) schedule: `schedule_v3_reference`, self under /v3/schedules/
 * @property {string} [time_zone] defaults to the account time zone
 * @property {SeedRotation} [rotation]
 * @property {SeedShift[]} [entries] explicit shifts (gaps allowed)
 * @property {SeedShift[]} [overrides] replace whoever is on call in [start, end)
 * @property {Array<{ start: string, end: string }>} [emptyShifts] v3 only: slots left unassigned on purpose. Nobody
 *   is on call then (overrides still apply); `GET /v3/schedules/{id}` shows them as `empty_member` assignments
 *
 * @typedef {{ type: 'schedule', id: string } | { type: 'user', id: string }} SeedTarget
 *
 * @typedef {object} SeedEscalationPolicy
 * @property {string} id
 * @property {string} name
 * @property {{ targets: SeedTarget[] }[]} levels level number = index + 1
 *
 * @typedef {object} SeedService
 * @property {string} id
 * @property {string} name
 * @property {string} [escalationPolicyId] default: the one its incidents' `service.escalationPolicyId` gives, else
 *   the policy of its first incident, else the org's first policy
 *
 * @typedef {object} PagerDutyOrg
 * @property {SeedUser[]} users
 * @property {SeedSchedule[]} schedules
 * @property {SeedEscalationPolicy[]} escalationPolicies
 * @property {string} [subdomain] used in html_url (default "acme")
 * @property {import('./pagerduty-incidents.mjs').SeedIncident[]} [incidents] served by `GET /incidents`
 * @property {SeedService[]} [services] served by `GET /services/{id}`, with every seeded incident's service (an
 *   incident's service need not be listed here; one listed here needs no incident)
 * @property {string[]} [abilities] the account's abilities (`GET /abilities` names); default: every ability. Without
 *   `urgencies`, `GET /incidents` answers 402 to `urgencies[]`; without `teams`, to `team_ids[]`
 *
 * @typedef {object} Fault
 * @property {string} [path] prefix of the request path ("/oncalls"); omitted = every path
 * @property {number} [status]
 * @property {string | object} [body] object = JSON; string = sent as is; undefined = empty body
 * @property {Record<string, string>} [headers]
 * @property {number} [times] how many requests to answer (default 1); removed when it reaches 0
 * @property {'respond' | 'hang' | 'truncate'} [action] hang: never answer; truncate: a 200 whose body breaks off
 *
 * @typedef {object} RecordedRequest
 * @property {string} method
 * @property {string} path pathname, decoded query excluded
 * @property {Array<[string, string]>} query decoded key/value pairs in order (repeated keys kept)
 * @property {string | undefined} authorization
 * @property {string | undefined} accept the Accept header as received (never required by the fake)
 * @property {string | undefined} contentType the Content-Type header as received (never required by the fake)
 *
 * @typedef {object} FakePagerDutyOptions
 * @property {PagerDutyOrg | { pagerduty: PagerDutyOrg }} org the seed (or an object from orgs.mjs)
 * @property {string} [token] accepted as `Token token=<token>` and `Bearer <token>` (default 'pd-test-token')
 * @property {string} [accountTimeZone] default `time_zone` of responses (default 'America/New_York')
 * @property {string} [host] default '127.0.0.1'
 * @property {() => Date | number} [now] clock (default: the real clock)
 * @property {boolean} [oncallsIncludeV3] /oncalls also returns rows from v3 (shift-based) schedules, with a
 *   `schedule_v3_reference`. Default false: whether PagerDuty does so is not confirmed, so by default
 *   the fake assumes the less helpful answer and leaves them out.
 * @property {number} [latencyMs] every answer (success, error, fault; not `hang`, which never answers) is sent
 *   only this many milliseconds after its request arrived, as over a real network (default 0). The request is
 *   recorded at once; it is handled (faults consumed, clock read) when the delay has passed.
 *
 * @typedef {object} FakePagerDuty
 * @property {string} url base URL, no trailing slash
 * @property {RecordedRequest[]} requests every request received
 * @property {Fault[]} faults answered instead of the real handler (after the auth check)
 * @property {(org: PagerDutyOrg | { pagerduty: PagerDutyOrg }) => void} setOrg
 * @property {((page: { offset: number, count: number }) => void) | undefined} afterIncidentsPage called after each
 *   `GET /incidents` page is computed, before the next request is handled (e.g. to `setOrg` between pages, as
 *   incidents resolve while a client pages through them); `count` is the number of incidents on the page
 * @property {() => Promise<void>} close
 */

/** An error answered as a PagerDuty error body. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {number} code
   * @param {string[] | Record<string, string[]>} [errors] a list (v2 shape) or a field → messages map (v3 shape)
   */
  constructor(status, message, code, errors) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }

  body() {
    /** @type {{ message: string, code: number, errors?: string[] | Record<string, string[]> }} */
    const error = { message: this.message, code: this.code };
    if (this.errors) error.errors = this.errors;
    return { error };
  }
}

const notFound = () => new ApiError(404, 'Not Found', 2100);
/** @param {string[]} errors */
export const invalidInput = (errors) => new ApiError(400, 'Invalid Input Provided', 2001, errors);
/**
 * A 400 in the shape the spec gives v3 operations (V3ErrorResponse: `errors` maps a field to messages).
 * @param {string} field
 * @param {string} message
 */
const invalidV3 = (field, message) => new ApiError(400, 'Invalid Request', 2001, { [field]: [message] });

// ---------------------------------------------------------------------------------------------
// Time zones and ISO 8601
// ---------------------------------------------------------------------------------------------

/** @type {Map<string, Intl.DateTimeFormat>} */
const formatters = new Map();

/** @param {string} timeZone */
function formatterFor(timeZone) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * True for IANA names PagerDuty would accept. Intl also accepts lower-case spellings
 * ("america/new_york") that tzinfo refuses, so each segment must start upper-case or with a digit.
 * @param {string} name
 */
export function isValidTimeZone(name) {
  if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z0-9][A-Za-z0-9_+-]*)*$/.test(name)) return false;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * @param {number} year
 * @param {number} month 1-12
 * @param {number} day
 * @param {number} hour
 * @param {number} minute
 * @param {number} second
 */
function utcFromFields(year, month, day, hour, minute, second) {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/**
 * Offset of `timeZone` from UTC at instant `ms`, in minutes (New York in winter: -300).
 * @param {number} ms
 * @param {string} timeZone
 */
export function offsetMinutesAt(ms, timeZone) {
  /** @type {Record<string, number>} */
  const p = {};
  for (const { type, value } of formatterFor(timeZone).formatToParts(new Date(ms))) p[type] = Number(value);
  const asUtc = utcFromFields(
    p.year ?? 0,
    p.month ?? 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / MINUTE_MS);
}

/** @param {number} n */
const pad2 = (n) => String(n).padStart(2, '0');

/**
 * ISO 8601, seconds precision, numeric offset of `timeZone` (`Z` for UTC itself):
 * `formatInZone(Date.parse('2026-11-26T14:00:00Z'), 'America/New_York')` → `2026-11-26T09:00:00-05:00`.
 * @param {number} ms
 * @param {string} timeZone
 */
export function formatInZone(ms, timeZone) {
  const off = offsetMinutesAt(ms, timeZone);
  const local = new Date(Math.floor(ms / 1000) * 1000 + off * MINUTE_MS).toISOString().slice(0, 19);
  if (off === 0 && UTC_NAMES.has(timeZone)) return `${local}Z`;
  const abs = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * The instant at which the wall clock of `timeZone` shows the given local time
 * (for a time skipped by DST, the instant one offset later, like most libraries).
 * @param {{ year: number, month: number, day: number, hour?: number, minute?: number, second?: number, ms?: number }} local
 * @param {string} timeZone
 */
export function zonedTimeToUtc(local, timeZone) {
  const guess =
    utcFromFields(local.year, local.month, local.day, local.hour ?? 0, local.minute ?? 0, local.second ?? 0) +
    (local.ms ?? 0);
  const off1 = offsetMinutesAt(guess, timeZone);
  const t1 = guess - off1 * MINUTE_MS;
  const off2 = offsetMinutesAt(t1, timeZone);
  return off2 === off1 ? t1 : guess - off2 * MINUTE_MS;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * Parses ISO 8601 (`2026-11-26`, `2026-11-26T09:00`, `2026-11-26T09:00:00.123+01:00`, `…Z`).
 * Without an offset the time is read in `timeZone`. Returns null when invalid; note that an
 * unencoded `+` in a query string arrives as a space, which is refused here (as it should be).
 * @param {string} text
 * @param {string} timeZone
 * @returns {number | null}
 */
export function parseIsoTime(text, timeZone) {
  const m = ISO_RE.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const probe = new Date(utcFromFields(year, month, day, 0, 0, 0));
  if (probe.getUTCDate() !== day || probe.getUTCMonth() !== month - 1) return null; // 2026-02-30
  const zone = m[8];
  if (zone === undefined) return zonedTimeToUtc({ year, month, day, hour, minute, second, ms }, timeZone);
  let offset = 0;
  if (zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return utcFromFields(year, month, day, hour, minute, second) + ms - offset * MINUTE_MS;
}

// ---------------------------------------------------------------------------------------------
// Seed validation and schedule computation
// ---------------------------------------------------------------------------------------------

/**
 * @typedef {object} Period
 * @property {string} user
 * @property {number} start
 * @property {number} end
 *
 * @typedef {object} OrgIndex
 * @property {PagerDutyOrg} org
 * @property {Map<string, SeedUser>} users
 * @property {Map<string, SeedSchedule>} schedules
 * @property {SeedEscalationPolicy[]} policies
 * @property {string} web html_url base
 * @property {import('./pagerduty-incidents.mjs').IndexedIncident[]} incidents
 * @property {Map<string, IndexedService>} services
 * @property {Set<string>} abilities
 *
 * @typedef {object} IndexedService
 * @property {string} id
 * @property {string} name
 * @property {SeedEscalationPolicy} policy
 */

/**
 * @param {unknown} text
 * @param {string} what
 */
function seedTime(text, what) {
  const ms = typeof text === 'string' ? parseIsoTime(text, 'UTC') : null;
  if (ms === null || !/(Z|[+-]\d{2}:?\d{2})$/.test(String(text))) {
    throw new TypeError(`fake PagerDuty seed: ${what} must be ISO 8601 with an offset, got ${String(text)}`);
  }
  return ms;
}

/**
 * Validates a seed and indexes it. Throws TypeError on mistakes (unknown ids, bad times, …).
 * @param {PagerDutyOrg | { pagerduty: PagerDutyOrg }} input
 * @returns {OrgIndex}
 */
function indexOrg(input) {
  const org = 'pagerduty' in input ? input.pagerduty : input;
  if (!org || !Array.isArray(org.users) || !Array.isArray(org.schedules)) {
    throw new TypeError('fake PagerDuty seed: expected { users, schedules, escalationPolicies }');
  }
  /** @param {string} msg */
  const fail = (msg) => {
    throw new TypeError(`fake PagerDuty seed: ${msg}`);
  };
  /** @type {Map<string, SeedUser>} */
  const users = new Map();
  for (const u of org.users) {
    if (!u.id || !u.name || typeof u.email !== 'string')
      fail(`user needs id, name, email: ${JSON.stringify(u)}`);
    if (users.has(u.id)) fail(`duplicate user id ${u.id}`);
    users.set(u.id, u);
  }
  /** @param {string} id @param {string} where */
  const needUser = (id, where) => {
    if (!users.has(id)) fail(`${where} references unknown user ${id}`);
  };
  /** @type {Map<string, SeedSchedule>} */
  const schedules = new Map();
  for (const s of org.schedules) {
    if (!s.id || !s.name) fail(`schedule needs id and name: ${JSON.stringify(s)}`);
    if (schedules.has(s.id)) fail(`duplicate schedule id ${s.id}`);
    if (s.rotation) {
      const { shiftMinutes } = s.rotation;
      if (typeof shiftMinutes !== 'number' || !Number.isFinite(shiftMinutes) || shiftMinutes <= 0) {
        fail(`schedule ${s.id}: rotation.shiftMinutes must be a positive number, got ${shiftMinutes}`);
      }
      seedTime(s.rotation.start, `schedule ${s.id} rotation.start`);
      for (const id of s.rotation.users) needUser(id, `schedule ${s.id} rotation`);
    }
    for (const kind of /** @type {const} */ (['entries', 'overrides'])) {
      for (const e of s[kind] ?? []) {
        needUser(e.user, `schedule ${s.id} ${kind}`);
        if (
          seedTime(e.end, `schedule ${s.id} ${kind}.end`) <=
          seedTime(e.start, `schedule ${s.id} ${kind}.start`)
        ) {
          fail(`schedule ${s.id} ${kind}: end must be after start`);
        }
      }
    }
    if (s.emptyShifts !== undefined) {
      if (!s.v3) fail(`schedule ${s.id}: emptyShifts exist only on v3 schedules`);
      for (const e of s.emptyShifts) {
        if (
          seedTime(e.end, `schedule ${s.id} emptyShifts.end`) <=
          seedTime(e.start, `schedule ${s.id} emptyShifts.start`)
        ) {
          fail(`schedule ${s.id} emptyShifts: end must be after start`);
        }
      }
    }
    schedules.set(s.id, s);
  }
  const policies = org.escalationPolicies ?? [];
  const policyIds = new Set();
  for (const ep of policies) {
    if (!ep.id || !ep.name || !Array.isArray(ep.levels)) fail(`escalation policy needs id, name, levels`);
    if (policyIds.has(ep.id)) fail(`duplicate escalation policy id ${ep.id}`);
    policyIds.add(ep.id);
    ep.levels.forEach((level, i) => {
      for (const t of level.targets) {
        if (t.type === 'user') needUser(t.id, `policy ${ep.id} level ${i + 1}`);
        else if (t.type === 'schedule') {
          if (!schedules.has(t.id))
            fail(`policy ${ep.id} level ${i + 1} references unknown schedule ${t.id}`);
        } else fail(`policy ${ep.id} level ${i + 1}: unknown target type ${JSON.stringify(t)}`);
      }
    });
  }
  const incidents = indexIncidents(org.incidents, users, policies);
  return {
    org,
    users,
    schedules,
    policies,
    incidents,
    services: indexServices(org.services, incidents, policies, fail),
    web: `https://${org.subdomain ?? 'acme'}.pagerduty.com`,
    // "Every ability" is what the fake checks: urgencies and teams.
    abilities: new Set(org.abilities ?? ['teams', 'urgencies']),
  };
}

/**
 * The services `GET /services/{id}` (and `GET /incidents?include[]=services`) know: `org.services`, then each
 * incident's (one service, one name). PagerDuty requires an escalation policy on every service: the one seeded in
 * `org.services` or in its incidents' `service.escalationPolicyId` (which must agree), else its first incident's,
 * else the org's first.
 * @param {SeedService[] | undefined} seeds
 * @param {import('./pagerduty-incidents.mjs').IndexedIncident[]} incidents sorted by incident_number
 * @param {SeedEscalationPolicy[]} policies
 * @param {(msg: string) => never} fail
 * @returns {Map<string, IndexedService>}
 */
function indexServices(seeds, incidents, policies, fail) {
  if (seeds !== undefined && !Array.isArray(seeds)) fail('services must be an array');
  /** @type {Map<string, { id: string, name: string, policy: SeedEscalationPolicy | undefined }>} */
  const services = new Map();
  for (const s of seeds ?? []) {
    if (!s.id || !s.name) fail(`service needs id and name: ${JSON.stringify(s)}`);
    if (services.has(s.id)) fail(`duplicate service id ${s.id}`);
    const policy =
      s.escalationPolicyId === undefined ? undefined : policies.find((ep) => ep.id === s.escalationPolicyId);
    if (s.escalationPolicyId !== undefined && !policy) {
      fail(`service ${s.id} references unknown escalation policy ${s.escalationPolicyId}`);
    }
    services.set(s.id, { id: s.id, name: s.name, policy });
  }
  // Policies stated for a service, from org.services or its incidents: they must agree.
  /** @type {Map<string, string>} */
  const stated = new Map();
  for (const s of seeds ?? []) if (s.escalationPolicyId !== undefined) stated.set(s.id, s.escalationPolicyId);
  for (const { seed } of incidents) {
    const { id, escalationPolicyId } = seed.service;
    if (escalationPolicyId === undefined) continue;
    const before = stated.get(id);
    if (before !== undefined && before !== escalationPolicyId) {
      fail(`service ${id} has both escalation policy ${before} and ${escalationPolicyId}`);
    }
    stated.set(id, escalationPolicyId);
  }
  for (const { seed } of incidents) {
    const { id, name } = seed.service;
    const policy = policies.find((ep) => ep.id === (stated.get(id) ?? seed.escalationPolicy));
    const known = services.get(id);
    if (!known) services.set(id, { id, name, policy });
    else if (known.name !== name) fail(`service ${id} is named both "${known.name}" and "${name}"`);
    else known.policy ??= policy;
  }
  /** @type {Map<string, IndexedService>} */
  const indexed = new Map();
  for (const s of services.values()) {
    const policy =
      s.policy ?? policies[0] ?? fail(`service ${s.id} needs an escalation policy; the org has none`);
    indexed.set(s.id, { ...s, policy });
  }
  return indexed;
}

/**
 * Where a piece of a schedule comes from, in the spec's ShiftSource shape (getScheduleV3).
 * @typedef {object} ShiftSource
 * @property {'schedule_rotation' | 'custom_shift' | 'schedule_rotation_override' | 'custom_shift_override'} type
 * @property {string} [rotation_id]
 * @property {string} [shift_id]
 * @property {string} [override_id]
 *
 * @typedef {Period & { source: ShiftSource }} Piece
 */

/**
 * A stable 26-character ID in the style of v3 IDs (rotations, custom shifts, overrides).
 * @param {string} kind one letter
 * @param {string} scheduleId
 * @param {number} n
 */
function v3Id(kind, scheduleId, n) {
  return `${kind}${scheduleId}${String(n).padStart(4, '0')}`.toUpperCase().padEnd(26, '0').slice(0, 26);
}

/** `user` of a piece that is a slot left empty on purpose (v3 `empty_member`). */
const EMPTY = '';

/**
 * `pieces` with [start, end) removed (pieces that straddle it are split).
 * @param {Piece[]} pieces
 * @param {number} start
 * @param {number} end
 */
function cutOut(pieces, start, end) {
  return pieces.flatMap((p) => {
    if (p.end <= start || p.start >= end) return [p];
    /** @type {Piece[]} */
    const kept = [];
    if (p.start < start) kept.push({ ...p, end: start });
    if (p.end > end) kept.push({ ...p, start: end });
    return kept;
  });
}

/**
 * The pieces of the final schedule over [from, to): rotation shifts and explicit entries, then slots left
 * empty (user EMPTY) and overrides, each cutting out what they land on; each piece with its source.
 * Nothing is merged.
 * @param {SeedSchedule} schedule
 * @param {number} from
 * @param {number} to
 * @returns {Piece[]} sorted by start, then user
 */
function schedulePieces(schedule, from, to) {
  /** @type {Piece[]} */
  let pieces = [];
  const rot = schedule.rotation;
  const rotationId = v3Id('R', schedule.id, 0);
  if (rot && rot.users.length > 0) {
    const len = rot.shiftMinutes * MINUTE_MS;
    const t0 = seedTime(rot.start, 'rotation.start');
    const kFrom = Math.floor((from - t0) / len);
    const kTo = Math.ceil((to - t0) / len);
    if (kTo - kFrom > MAX_SHIFTS) {
      throw new ApiError(400, 'Invalid Input Provided', 2001, ['Requested range is too large']);
    }
    const n = rot.users.length;
    for (let k = kFrom; k < kTo; k++) {
      const start = t0 + k * len;
      pieces.push({
        user: /** @type {string} */ (rot.users[((k % n) + n) % n]),
        start,
        end: start + len,
        source: { type: 'schedule_rotation', rotation_id: rotationId },
      });
    }
  }
  (schedule.entries ?? []).forEach((e, i) => {
    const start = seedTime(e.start, 'entry.start');
    const end = seedTime(e.end, 'entry.end');
    if (start < to && end > from) {
      pieces.push({
        user: e.user,
        start,
        end,
        source: { type: 'custom_shift', shift_id: v3Id('S', schedule.id, i) },
      });
    }
  });
  (schedule.emptyShifts ?? []).forEach((e, i) => {
    const start = seedTime(e.start, 'emptyShifts.start');
    const end = seedTime(e.end, 'emptyShifts.end');
    if (!(start < to && end > from)) return;
    pieces = cutOut(pieces, start, end);
    pieces.push({
      user: EMPTY,
      start,
      end,
      source: rot
        ? { type: 'schedule_rotation', rotation_id: rotationId }
        : { type: 'custom_shift', shift_id: v3Id('E', schedule.id, i) },
    });
  });
  (schedule.overrides ?? []).forEach((o, i) => {
    const start = seedTime(o.start, 'override.start');
    const end = seedTime(o.end, 'override.end');
    if (!(start < to && end > from)) return;
    const replaced = pieces.find((p) => p.start < end && p.end > start)?.source;
    const overrideId = v3Id('O', schedule.id, i);
    const onCustomShift = replaced ? replaced.type.startsWith('custom_shift') : !rot;
    /** @type {ShiftSource} */
    const source = onCustomShift
      ? {
          type: 'custom_shift_override',
          ...(replaced?.shift_id ? { shift_id: replaced.shift_id } : {}),
          override_id: overrideId,
        }
      : { type: 'schedule_rotation_override', rotation_id: rotationId, override_id: overrideId };
    pieces = cutOut(pieces, start, end);
    pieces.push({ user: o.user, start, end, source });
  });
  return pieces.sort((a, b) => a.start - b.start || cmp(a.user, b.user));
}

/**
 * Final schedule over [from, to): the pieces of `schedulePieces`, with contiguous/overlapping periods of the
 * same user merged (the legacy API's view). Periods touching the range are kept whole (a merge chain is only
 * followed as far as the range reaches).
 * @param {SeedSchedule} schedule
 * @param {number} from
 * @param {number} to
 * @returns {Period[]} sorted by start, then user
 */
function finalSchedule(schedule, from, to) {
  /** @type {Map<string, Period[]>} */
  const byUser = new Map();
  for (const p of schedulePieces(schedule, from, to)) {
    if (p.user === EMPTY) continue;
    const list = byUser.get(p.user) ?? [];
    list.push({ user: p.user, start: p.start, end: p.end });
    byUser.set(p.user, list);
  }
  /** @type {Period[]} */
  const merged = [];
  for (const list of byUser.values()) {
    list.sort((a, b) => a.start - b.start);
    /** @type {Period | undefined} */
    let cur;
    for (const p of list) {
      if (cur && p.start <= cur.end) cur.end = Math.max(cur.end, p.end);
      else {
        cur = { ...p };
        merged.push(cur);
      }
    }
  }
  return merged.sort((a, b) => a.start - b.start || cmp(a.user, b.user));
}

/** @param {string} a @param {string} b */
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * @param {{ start: number, end: number }} p
 * @param {number} since
 * @param {number} until
 */
function overlaps(p, since, until) {
  if (since === until) return p.start <= since && since < p.end;
  return p.start < until && p.end > since;
}

/**
 * @typedef {object} OncallRow
 * @property {SeedEscalationPolicy} policy
 * @property {number} level
 * @property {SeedSchedule | null} schedule
 * @property {SeedUser} user
 * @property {number | null} start
 * @property {number | null} end
 */

/**
 * All on-call rows overlapping [since, until], unfiltered, in the stable API order.
 * @param {OrgIndex} index
 * @param {number} since
 * @param {number} until
 * @param {number} now
 * @param {boolean} includeV3 rows from v3 schedules too
 * @returns {OncallRow[]}
 */
function computeOncalls(index, since, until, now, includeV3) {
  const horizon = now + HORIZON_MS;
  const from = since - MERGE_MARGIN_MS;
  const to = Math.max(from, Math.min(until, horizon)) + MERGE_MARGIN_MS;
  /** @type {Map<string, Period[]>} */
  const cache = new Map();
  /** @type {OncallRow[]} */
  const rows = [];
  for (const policy of index.policies) {
    policy.levels.forEach((level, i) => {
      const seen = new Set();
      for (const target of level.targets) {
        const key = `${target.type}:${target.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (target.type === 'user') {
          const user = /** @type {SeedUser} */ (index.users.get(target.id));
          rows.push({ policy, level: i + 1, schedule: null, user, start: null, end: null });
          continue;
        }
        const schedule = /** @type {SeedSchedule} */ (index.schedules.get(target.id));
        if (schedule.v3 && !includeV3) continue;
        let periods = cache.get(schedule.id);
        if (!periods) {
          periods = finalSchedule(schedule, from, to);
          cache.set(schedule.id, periods);
        }
        for (const p of periods) {
          if (p.start > horizon || !overlaps(p, since, until)) continue;
          const user = /** @type {SeedUser} */ (index.users.get(p.user));
          rows.push({ policy, level: i + 1, schedule, user, start: p.start, end: p.end });
        }
      }
    });
  }
  return rows.sort(
    (a, b) =>
      cmp(a.policy.id, b.policy.id) ||
      a.level - b.level ||
      (a.start ?? -Infinity) - (b.start ?? -Infinity) ||
      cmp(a.user.id, b.user.id) ||
      cmp(a.schedule?.id ?? '', b.schedule?.id ?? '') ||
      (a.end ?? -Infinity) - (b.end ?? -Infinity),
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/**
 * @param {OrgIndex} index
 * @param {string} api
 */
export function renderers(index, api) {
  /** @param {SeedUser} u */
  const userRef = (u) => ({
    id: u.id,
    type: 'user_reference',
    summary: u.name,
    self: `${api}/users/${u.id}`,
    html_url: `${index.web}/users/${u.id}`,
  });
  /** @param {SeedUser} u @param {{ withEmail: boolean }} opts */
  const fullUser = (u, { withEmail }) => ({
    id: u.id,
    type: 'user',
    summary: u.name,
    name: u.name,
    ...(withEmail ? { email: u.email } : {}),
    time_zone: u.time_zone ?? null,
    color: 'purple',
    role: u.role ?? 'user',
    avatar_url: `https://secure.gravatar.com/avatar/${u.id.toLowerCase()}.png?d=mm&r=PG`,
    description: null,
    invitation_sent: false,
    job_title: null,
    teams: [],
    self: `${api}/users/${u.id}`,
    html_url: `${index.web}/users/${u.id}`,
  });
  /** @param {SeedSchedule} s */
  const scheduleSelf = (s) => `${api}${s.v3 ? '/v3' : ''}/schedules/${s.id}`;
  /** @param {SeedSchedule} s */
  const scheduleRef = (s) => ({
    id: s.id,
    type: s.v3 ? 'schedule_v3_reference' : 'schedule_reference',
    summary: s.name,
    self: scheduleSelf(s),
    html_url: `${index.web}/schedules/${s.id}`,
  });
  /** @param {SeedEscalationPolicy} ep */
  const policyRef = (ep) => ({
    id: ep.id,
    type: 'escalation_policy_reference',
    summary: ep.name,
    self: `${api}/escalation_policies/${ep.id}`,
    html_url: `${index.web}/escalation_policies/${ep.id}`,
  });
  /** @param {SeedSchedule} s @param {string} accountTimeZone */
  const fullSchedule = (s, accountTimeZone) => ({
    id: s.id,
    type: s.v3 ? 'schedule_v3' : 'schedule',
    summary: s.name,
    name: s.name,
    description: null,
    time_zone: s.time_zone ?? accountTimeZone,
    escalation_policies: index.policies
      .filter((ep) => ep.levels.some((l) => l.targets.some((t) => t.type === 'schedule' && t.id === s.id)))
      .map(policyRef),
    users: scheduleUserIds(s)
      .map((id) => index.users.get(id))
      .filter((u) => u !== undefined)
      .map(userRef),
    teams: [],
    self: scheduleSelf(s),
    html_url: `${index.web}/schedules/${s.id}`,
  });
  /** @param {{ id: string, name: string }} s */
  const serviceRef = (s) => ({
    id: s.id,
    type: 'service_reference',
    summary: s.name,
    self: `${api}/services/${s.id}`,
    html_url: `${index.web}/service-directory/${s.id}`,
  });
  /** @param {SeedEscalationPolicy} ep */
  const fullPolicy = (ep) => ({
    ...policyRef(ep),
    type: 'escalation_policy',
    name: ep.name,
    description: '',
    num_loops: 0,
    on_call_handoff_notifications: 'if_has_services',
    escalation_rules: ep.levels.map((level, i) => ({
      id: `R${ep.id.slice(1)}${i + 1}`,
      escalation_delay_in_minutes: 30,
      targets: level.targets.map((t) => {
        if (t.type === 'user') return userRef(/** @type {SeedUser} */ (index.users.get(t.id)));
        return scheduleRef(/** @type {SeedSchedule} */ (index.schedules.get(t.id)));
      }),
    })),
    services: [],
    teams: [],
  });
  return { userRef, fullUser, scheduleRef, policyRef, fullSchedule, fullPolicy, serviceRef };
}

/** @param {SeedSchedule} s */
function scheduleUserIds(s) {
  const ids = [
    ...(s.rotation?.users ?? []),
    ...(s.entries ?? []).map((e) => e.user),
    ...(s.overrides ?? []).map((e) => e.user),
  ];
  return [...new Set(ids)];
}

// ---------------------------------------------------------------------------------------------
// Query parsing
// ---------------------------------------------------------------------------------------------

/**
 * Last value of a plain key (Rails semantics), undefined when absent.
 * @param {Array<[string, string]>} query
 * @param {string} key
 */
export function last(query, key) {
  let value;
  for (const [k, v] of query) if (k === key) value = v;
  return value;
}

/**
 * Values of a repeated `key[]`; undefined when the key is absent (no filter). The spec marks these arrays
 * `uniqueItems`, so a value given twice is refused.
 * @param {Array<[string, string]>} query
 * @param {string} key without brackets
 * @param {(message: string) => ApiError} [refuse]
 */
export function list(query, key, refuse = (message) => invalidInput([message])) {
  const values = query.filter(([k]) => k === `${key}[]`).map(([, v]) => v);
  const repeated = values.find((v, i) => values.indexOf(v) !== i);
  if (repeated !== undefined) throw refuse(`${key}[] lists ${JSON.stringify(repeated)} more than once`);
  return values.length > 0 ? values : undefined;
}

/**
 * `include[]` values, each checked against the operation's enum.
 * @param {Array<[string, string]>} query
 * @param {Set<string>} allowed
 * @param {(message: string) => ApiError} [refuse]
 */
export function includes(query, allowed, refuse = (message) => invalidInput([message])) {
  const values = list(query, 'include', refuse) ?? [];
  for (const name of values) {
    if (!allowed.has(name)) {
      throw refuse(`include[] ${JSON.stringify(name)} is not one of ${[...allowed].join(', ')}`);
    }
  }
  return new Set(values);
}

/**
 * A `type: boolean` query parameter: `true` or `false`, nothing else.
 * @param {Array<[string, string]>} query
 * @param {string} key
 * @param {(message: string) => ApiError} [refuse]
 */
function parseBoolean(query, key, refuse = (message) => invalidInput([message])) {
  const text = last(query, key);
  if (text === undefined) return false;
  if (text !== 'true' && text !== 'false')
    throw refuse(`${key} must be true or false, got ${JSON.stringify(text)}`);
  return text === 'true';
}

/**
 * @param {Array<[string, string]>} query
 * @param {string} fallback
 * @param {(message: string) => ApiError} [refuse]
 */
export function parseTimeZone(query, fallback, refuse = (message) => invalidInput([message])) {
  const tz = last(query, 'time_zone');
  if (tz === undefined) return fallback;
  if (!isValidTimeZone(tz)) throw refuse(`Time zone ${JSON.stringify(tz)} is not a valid time zone`);
  return tz;
}

/** RFC 3339 date-time (the spec's `format: date-time`): full date, time with seconds, and an offset. */
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A `format: date-time` parameter, undefined when absent.
 * @param {Array<[string, string]>} query
 * @param {'since' | 'until'} key
 * @param {(message: string) => ApiError} [refuse]
 */
function parseDateTime(
  query,
  key,
  refuse = (message) => new ApiError(400, 'Invalid since or until', 2004, [message]),
) {
  const text = last(query, key);
  if (text === undefined) return undefined;
  const ms = DATE_TIME_RE.test(text) ? parseIsoTime(text.toUpperCase(), 'UTC') : null;
  if (ms === null) {
    throw refuse(`${key} is not an RFC 3339 date-time with seconds and an offset: ${JSON.stringify(text)}`);
  }
  return ms;
}

/**
 * since/until of /oncalls and /schedules/{id}/users: both default to now, until >= since, at most 3 months apart.
 * @param {Array<[string, string]>} query
 * @param {number} now
 */
function parseWindow(query, now) {
  const since = parseDateTime(query, 'since') ?? now;
  const until = parseDateTime(query, 'until') ?? now;
  if (until < since) throw new ApiError(400, 'Invalid date range', 2005, ['until must not be before since']);
  if (until - since > MAX_RANGE_MS) {
    throw new ApiError(400, 'Invalid date range', 2005, ['The search range cannot exceed 3 months']);
  }
  return { since, until };
}

/**
 * @param {Array<[string, string]>} query
 * @param {string} key
 * @param {number} fallback
 * @param {number} min
 */
function parseInteger(query, key, fallback, min) {
  const text = last(query, key);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw invalidInput([`${key} must be an integer greater than or equal to ${min}`]);
  }
  return Number(text);
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/**
 * @typedef {object} Context
 * @property {OrgIndex} index
 * @property {string} api
 * @property {string} accountTimeZone
 * @property {number} now
 * @property {boolean} oncallsIncludeV3
 */

/**
 * Classic paging (listOnCalls, listIncidents): `limit` (default 25, cut to 100), `offset`, `total`; offset + limit
 * over 10,000 is PagerDuty's 400 / 2002.
 * @param {Array<[string, string]>} query
 */
export function parsePaging(query) {
  const limit = Math.min(parseInteger(query, 'limit', DEFAULT_LIMIT, 1), MAX_LIMIT);
  const offset = parseInteger(query, 'offset', 0, 0);
  if (offset + limit > MAX_OFFSET_PLUS_LIMIT) {
    throw new ApiError(400, 'Arguments Caused Error', 2002, [
      `Offset must be less than ${MAX_OFFSET_PLUS_LIMIT} (offset + limit must not exceed ${MAX_OFFSET_PLUS_LIMIT})`,
    ]);
  }
  return { limit, offset, total: parseBoolean(query, 'total') };
}

/**
 * The paging fields of an answer: `more`, and `total` only when asked for.
 * @param {{ limit: number, offset: number, total: boolean }} paging
 * @param {number} count all rows that match
 */
export function pageFields({ limit, offset, total }, count) {
  return { limit, offset, more: offset + limit < count, total: total ? count : null };
}

/**
 * @param {Context} ctx
 * @param {Array<[string, string]>} query
 */
function listOncalls(ctx, query) {
  const { index } = ctx;
  const timeZone = parseTimeZone(query, ctx.accountTimeZone);
  const { since, until } = parseWindow(query, ctx.now);
  const paging = parsePaging(query);
  const include = includes(query, INCLUDES);
  const scheduleIds = list(query, 'schedule_ids');
  const policyIds = list(query, 'escalation_policy_ids');
  const userIds = list(query, 'user_ids');
  const earliest = parseBoolean(query, 'earliest');

  let rows = computeOncalls(index, since, until, ctx.now, ctx.oncallsIncludeV3).filter(
    (r) =>
      (!scheduleIds || scheduleIds.includes(r.schedule ? r.schedule.id : 'null')) &&
      (!policyIds || policyIds.includes(r.policy.id)) &&
      (!userIds || userIds.includes(r.user.id)),
  );
  if (earliest) {
    const seen = new Set();
    rows = rows.filter((r) => {
      const key = `${r.policy.id}\u0000${r.level}\u0000${r.user.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  const r = renderers(index, ctx.api);
  const page = rows.slice(paging.offset, paging.offset + paging.limit).map((row) => ({
    escalation_policy: include.has('escalation_policies')
      ? r.fullPolicy(row.policy)
      : r.policyRef(row.policy),
    escalation_level: row.level,
    schedule:
      row.schedule === null
        ? null
        : include.has('schedules')
          ? r.fullSchedule(row.schedule, ctx.accountTimeZone)
          : r.scheduleRef(row.schedule),
    user: include.has('users')
      ? r.fullUser(row.user, { withEmail: !row.user.omitEmailInInclude })
      : r.userRef(row.user),
    start: row.start === null ? null : formatInZone(row.start, timeZone),
    end: row.end === null ? null : formatInZone(row.end, timeZone),
  }));
  return { oncalls: page, ...pageFields(paging, rows.length) };
}

/**
 * Legacy `GET /schedules/{id}` (getSchedule). Entries only when since or until is given (the spec populates
 * rendered_schedule_entries only then); the missing one defaults to 2 weeks from the other.
 * @param {Context} ctx
 * @param {SeedSchedule} schedule
 * @param {Array<[string, string]>} query
 */
function getSchedule(ctx, schedule, query) {
  const r = renderers(ctx.index, ctx.api);
  const scheduleZone = schedule.time_zone ?? ctx.accountTimeZone;
  const timeZone = parseTimeZone(query, scheduleZone);
  const givenSince = parseDateTime(query, 'since');
  const givenUntil = parseDateTime(query, 'until');
  const overflow = parseBoolean(query, 'overflow');
  /** @type {Array<{ start: string, end: string, user: object }>} */
  let entries = [];
  if (givenSince !== undefined || givenUntil !== undefined) {
    const since = givenSince ?? /** @type {number} */ (givenUntil) - SCHEDULE_DEFAULT_SPAN_MS;
    const until = givenUntil ?? since + SCHEDULE_DEFAULT_SPAN_MS;
    if (until < since)
      throw new ApiError(400, 'Invalid date range', 2005, ['until must not be before since']);
    entries = finalSchedule(schedule, since - MERGE_MARGIN_MS, until + MERGE_MARGIN_MS)
      .filter((p) => overlaps(p, since, until))
      .map((p) => ({
        start: formatInZone(overflow ? p.start : Math.max(p.start, since), timeZone),
        end: formatInZone(overflow ? p.end : Math.min(p.end, until), timeZone),
        user: r.userRef(/** @type {SeedUser} */ (ctx.index.users.get(p.user))),
      }));
  }
  return {
    schedule: {
      ...r.fullSchedule(schedule, ctx.accountTimeZone),
      time_zone: scheduleZone,
      final_schedule: { name: 'Final Schedule', rendered_schedule_entries: entries },
    },
  };
}

/**
 * @param {Context} ctx
 * @param {SeedSchedule} schedule
 * @param {Array<[string, string]>} query
 */
function getScheduleUsers(ctx, schedule, query) {
  const r = renderers(ctx.index, ctx.api);
  parseTimeZone(query, schedule.time_zone ?? ctx.accountTimeZone);
  const { since, until } = parseWindow(query, ctx.now);
  const ids = new Set(
    finalSchedule(schedule, since - MERGE_MARGIN_MS, until + MERGE_MARGIN_MS)
      .filter((p) => overlaps(p, since, until))
      .map((p) => p.user),
  );
  return {
    users: [...ids]
      .sort(cmp)
      .map((id) => r.fullUser(/** @type {SeedUser} */ (ctx.index.users.get(id)), { withEmail: true })),
  };
}

/**
 * Share of [since, until] covered by at least one of `spans`, in percent (0-100, two decimals).
 * @param {Array<{ start: number, end: number }>} spans
 * @param {number} since
 * @param {number} until
 */
function coveragePercent(spans, since, until) {
  if (until === since) return spans.some((p) => overlaps(p, since, until)) ? 100 : 0;
  const clipped = spans
    .map((p) => ({ start: Math.max(p.start, since), end: Math.min(p.end, until) }))
    .filter((p) => p.end > p.start)
    .sort((a, b) => a.start - b.start);
  let covered = 0;
  let reach = since;
  for (const p of clipped) {
    if (p.end <= reach) continue;
    covered += p.end - Math.max(p.start, reach);
    reach = p.end;
  }
  return Math.round((covered / (until - since)) * 10_000) / 100;
}

/**
 * `GET /v3/schedules/{id}` (getScheduleV3), for v3 schedules only. `final_schedule` only with
 * `include[]=final_schedule` and both since and until; its assignments are the unmerged pieces of the
 * schedule (one per source), cut at since/until unless `overflow=true`. Errors use the v3 400 shape.
 * @param {Context} ctx
 * @param {SeedSchedule} schedule
 * @param {Array<[string, string]>} query
 */
function getScheduleV3(ctx, schedule, query) {
  const r = renderers(ctx.index, ctx.api);
  const scheduleZone = schedule.time_zone ?? ctx.accountTimeZone;
  const include = includes(query, V3_INCLUDES, (message) => invalidV3('include', message));
  const timeZone = parseTimeZone(query, scheduleZone, (message) => invalidV3('time_zone', message));
  const since = parseDateTime(query, 'since', (message) => invalidV3('since', message));
  const until = parseDateTime(query, 'until', (message) => invalidV3('until', message));
  const overflow = parseBoolean(query, 'overflow', (message) => invalidV3('overflow', message));
  if (since !== undefined && until !== undefined && until < since) {
    throw invalidV3('until', 'until must not be before since');
  }
  const web = `${ctx.index.web}/schedules/${schedule.id}`;
  /** @type {Record<string, unknown>} */
  const body = {
    id: schedule.id,
    type: 'schedule_v3',
    name: schedule.name,
    time_zone: scheduleZone,
    description: '',
    teams: [],
    escalation_policies: ctx.index.policies
      .filter((ep) =>
        ep.levels.some((l) => l.targets.some((t) => t.type === 'schedule' && t.id === schedule.id)),
      )
      .map(r.policyRef),
    rotations: schedule.rotation
      ? [
          {
            id: v3Id('R', schedule.id, 0),
            type: 'schedule_rotation',
            self: `${ctx.api}/v3/schedules/${schedule.id}/rotations/${v3Id('R', schedule.id, 0)}`,
            html_url: web,
          },
        ]
      : [],
    self: `${ctx.api}/v3/schedules/${schedule.id}`,
    html_url: web,
  };
  if (include.has('final_schedule') && since !== undefined && until !== undefined) {
    const pieces = schedulePieces(schedule, since - MERGE_MARGIN_MS, until + MERGE_MARGIN_MS).filter((p) =>
      overlaps(p, since, until),
    );
    const assignments = pieces.map((p) => ({
      start: p.start,
      end: p.end,
      member: p.user === EMPTY ? { type: 'empty_member' } : { type: 'user_member', user_id: p.user },
      source: p.source,
    }));
    body.final_schedule = {
      type: 'final_schedule',
      rendered_coverage_percentage: coveragePercent(
        pieces.filter((p) => p.user !== EMPTY),
        since,
        until,
      ),
      computed_shift_assignments: assignments.map((a) => ({
        type: 'computed_shift_assignment',
        start_time: formatInZone(overflow ? a.start : Math.max(a.start, since), timeZone),
        end_time: formatInZone(overflow ? a.end : Math.min(a.end, until), timeZone),
        member: a.member,
        source: a.source,
      })),
    };
  }
  return { schedule: body };
}

/**
 * `GET /services/{id}` (getService), in the spec's Service shape. `status` follows the service's open incidents, as
 * the spec describes it: `critical` with a triggered one, `warning` with an acknowledged one, else `active`.
 * `include[]=escalation_policies` gives the full policy; `teams` and `integrations` are always empty.
 * @param {Context} ctx
 * @param {IndexedService} service
 * @param {Array<[string, string]>} query
 */
function getService(ctx, service, query) {
  const include = includes(query, SERVICE_INCLUDES);
  const r = renderers(ctx.index, ctx.api);
  const incidents = ctx.index.incidents.filter((i) => i.seed.service.id === service.id);
  const status = incidents.some((i) => i.seed.status === 'triggered')
    ? 'critical'
    : incidents.some((i) => i.seed.status === 'acknowledged')
      ? 'warning'
      : 'active';
  const lastIncident = Math.max(...incidents.map((i) => i.created));
  return {
    service: {
      ...r.serviceRef(service),
      type: 'service',
      name: service.name,
      description: '',
      auto_resolve_timeout: 14400,
      acknowledgement_timeout: 1800,
      status,
      ...(incidents.length > 0 ? { last_incident_timestamp: formatInZone(lastIncident, 'UTC') } : {}),
      escalation_policy: include.has('escalation_policies')
        ? r.fullPolicy(service.policy)
        : r.policyRef(service.policy),
      teams: [],
      integrations: [],
      incident_urgency_rule: { type: 'constant', urgency: 'high' },
      scheduled_actions: [],
      addons: [],
      alert_creation: 'create_alerts_and_incidents',
      ...(include.has('auto_pause_notifications_parameters')
        ? { auto_pause_notifications_parameters: { enabled: false, timeout: 0 } }
        : {}),
    },
  };
}

/**
 * @param {Context} ctx
 * @param {string} path
 * @param {Array<[string, string]>} query
 */
function route(ctx, path, query) {
  if (path === '/oncalls') return listOncalls(ctx, query);
  if (path === '/incidents') return listIncidents(ctx, query);
  let m = /^\/users\/([^/]+)$/.exec(path);
  if (m) {
    includes(query, USER_INCLUDES);
    const user = ctx.index.users.get(decodeURIComponent(m[1] ?? ''));
    if (!user) throw notFound();
    return { user: renderers(ctx.index, ctx.api).fullUser(user, { withEmail: true }) };
  }
  m = /^\/schedules\/([^/]+)(\/users)?$/.exec(path);
  if (m) {
    // A v3 schedule does not exist for the legacy API (assumed: see docs/pagerduty.md).
    const schedule = ctx.index.schedules.get(decodeURIComponent(m[1] ?? ''));
    if (!schedule || schedule.v3) throw notFound();
    return m[2] ? getScheduleUsers(ctx, schedule, query) : getSchedule(ctx, schedule, query);
  }
  m = /^\/v3\/schedules\/([^/]+)$/.exec(path);
  if (m) {
    const schedule = ctx.index.schedules.get(decodeURIComponent(m[1] ?? ''));
    if (!schedule || !schedule.v3) throw notFound();
    return getScheduleV3(ctx, schedule, query);
  }
  m = /^\/escalation_policies\/([^/]+)$/.exec(path);
  if (m) {
    includes(query, POLICY_INCLUDES);
    const id = decodeURIComponent(m[1] ?? '');
    const policy = ctx.index.policies.find((ep) => ep.id === id);
    if (!policy) throw notFound();
    return { escalation_policy: renderers(ctx.index, ctx.api).fullPolicy(policy) };
  }
  m = /^\/services\/([^/]+)$/.exec(path);
  if (m) {
    includes(query, SERVICE_INCLUDES);
    const service = ctx.index.services.get(decodeURIComponent(m[1] ?? ''));
    if (!service) throw notFound();
    return getService(ctx, service, query);
  }
  throw notFound();
}

/**
 * @param {http.ServerResponse} res
 * @param {Fault} fault
 */
function sendFault(res, fault) {
  const headers = Object.fromEntries(
    Object.entries(fault.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  if (fault.body !== undefined && typeof fault.body === 'object') {
    sendJson(res, fault.status ?? 500, fault.body, headers);
    return;
  }
  const text = fault.body ?? '';
  res.writeHead(fault.status ?? 500, {
    ...(text ? { 'content-type': 'text/plain; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Runs each answer latencyMs after its request arrived (at once when 0); cancel() drops those still waiting.
 * @param {number} latencyMs
 */
function answerDelay(latencyMs) {
  if (!(typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0)) {
    throw new TypeError(`invalid latencyMs ${latencyMs}`);
  }
  /** @type {Set<NodeJS.Timeout>} */
  const waiting = new Set();
  return {
    /** @param {http.ServerResponse} res @param {() => void} answer */
    run(res, answer) {
      if (latencyMs <= 0) return answer();
      const timer = setTimeout(() => {
        waiting.delete(timer);
        if (!res.destroyed) answer();
      }, latencyMs);
      waiting.add(timer);
    },
    cancel() {
      for (const timer of waiting) clearTimeout(timer);
      waiting.clear();
    },
  };
}

/**
 * @param {http.IncomingMessage} req
 * @param {URL} url
 * @returns {RecordedRequest}
 */
function recordOf(req, url) {
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: [...url.searchParams.entries()],
    authorization: req.headers.authorization,
    accept: req.headers.accept,
    contentType: req.headers['content-type'],
  };
}

/**
 * Starts the fake on a random loopback port.
 * @param {FakePagerDutyOptions} options
 * @returns {Promise<FakePagerDuty>}
 */
export async function startFakePagerDuty(options) {
  const token = options.token ?? 'pd-test-token';
  const accountTimeZone = options.accountTimeZone ?? 'America/New_York';
  if (!isValidTimeZone(accountTimeZone)) throw new TypeError(`invalid accountTimeZone ${accountTimeZone}`);
  const host = options.host ?? '127.0.0.1';
  const clock = options.now ?? (() => Date.now());
  const oncallsIncludeV3 = options.oncallsIncludeV3 ?? false;
  const delay = answerDelay(options.latencyMs ?? 0);
  let index = indexOrg(options.org);
  const accepted = new Set([`Token token=${token}`, `Bearer ${token}`]);

  /** @type {RecordedRequest[]} */
  const requests = [];
  /** @type {Fault[]} */
  const faults = [];
  let api = '';

  /** @param {string} path */
  const faultFor = (path) => takeFault(faults, (f) => f.path === undefined || path.startsWith(f.path));

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {URL} url
   * @param {Array<[string, string]>} query
   */
  const answer = (req, res, url, query) => {
    const authorization = req.headers.authorization;
    try {
      if (authorization === undefined || !accepted.has(authorization)) {
        throw new ApiError(401, 'Authentication failed', 2006);
      }
      const fault = faultFor(url.pathname);
      if (fault?.action === 'hang') return; // never answer: the client's timeout must act
      if (fault?.action === 'truncate') {
        // Headers promise a full body, then the connection drops part-way.
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '4096' });
        res.write('{"oncalls": [{"user": ');
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      if (fault) {
        sendFault(res, fault);
        return;
      }
      if (req.method !== 'GET') throw notFound();
      const now = Number(clock());
      const body = route({ index, api, accountTimeZone, now, oncallsIncludeV3 }, url.pathname, query);
      sendJson(res, 200, body);
      if (url.pathname === '/incidents') {
        const { offset, incidents } = /** @type {{ offset: number, incidents: unknown[] }} */ (body);
        fake.afterIncidentsPage?.({ offset, count: incidents.length });
      }
    } catch (err) {
      if (err instanceof ApiError) sendJson(res, err.status, err.body());
      else sendJson(res, 500, { error: { message: `fake PagerDuty crashed: ${String(err)}`, code: 0 } });
    }
  };

  const server = http.createServer((req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const recorded = recordOf(req, url);
    requests.push(recorded);
    delay.run(res, () => answer(req, res, url, recorded.query));
  });

  const listening = await listenOnLoopback(server, host);
  api = listening.url;
  /** @type {FakePagerDuty} */
  const fake = {
    url: api,
    requests,
    faults,
    setOrg(org) {
      index = indexOrg(org);
    },
    afterIncidentsPage: undefined,
    close() {
      delay.cancel();
      return listening.close();
    },
  };
  return fake;
}
