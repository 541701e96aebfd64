// @ts-check
/**
 * The fake PagerDuty's incidents: the seed model (`org.incidents`) and `GET /incidents` (listIncidents in
 * PagerDuty's OpenAPI spec), routed here by pagerduty.mjs, which keeps auth, faults and latency for every path.
 *
 * Never kinder than the real service (see docs/pagerduty.md):
 * - Without `since`/`until` (and without `date_range=all`) only incidents created in the last 30 days are listed,
 *   whatever their status: the spec gives since/until a default range of one month and a maximum of six, and
 *   PagerDuty staff confirm "a 30-day time limit on the default query" (community.pagerduty.com, 2023). An
 *   incident open for longer is invisible unless the client sends `date_range=all`. Inferred, not confirmed: that
 *   the window applies to `created_at`, that a lone `since` runs to now, and the error codes of bad ranges.
 * - `assignments` is empty once resolved; `acknowledgements` only while acknowledged (the spec says so).
 * - Assignees are user references (no email) unless `include[]=assignees` is given.
 * - `limit` is capped at 100 (the spec's "Maximum of 100"), `offset + limit` at 10,000 (PagerDuty's docs), as
 *   for /oncalls; `statuses[]`, `urgencies[]`, `include[]` and `date_range` are checked against the spec's enums,
 *   and the spec's `uniqueItems` arrays refuse repeated values. `total` is null unless `total=true`.
 * - `urgencies[]` needs the account's `urgencies` ability and `team_ids[]` its `teams` ability (the spec): an org
 *   whose `abilities` lack one answers 402 in the spec's generic error shape (message and code inferred). An org
 *   without `abilities` has both.
 * - With `include[]=services`, `service` is the full service, whose `escalation_policy` is the service's own (the
 *   same as `GET /services/{id}`), which need not be the incident's: a responder can move an incident to another
 *   policy. Without the include it is a `service_reference`, with no policy.
 * Not modelled: `sort_by` (ignored; the order is incident_number ascending), `include[]` values other than
 * assignees, acknowledgers, services, escalation_policies and teams (accepted, no effect).
 *
 * Plain JavaScript (ESM): also run by `node scripts/demo.mjs`. Helpers come from pagerduty.mjs (a cycle that is
 * safe: neither module uses the other's bindings while it is being evaluated).
 */
import {
  ApiError,
  formatInZone,
  includes,
  invalidInput,
  last,
  list,
  pageFields,
  parsePaging,
  parseIsoTime,
  parseTimeZone,
  renderers,
} from './pagerduty.mjs';

const DAY_MS = 86_400_000;
/** listIncidents: since/until default to the last 30 days; "Maximum range is 6 months" (taken as 180 days). */
export const INCIDENTS_DEFAULT_RANGE_MS = 30 * DAY_MS;
export const INCIDENTS_MAX_RANGE_MS = 180 * DAY_MS;
const STATUSES = ['triggered', 'acknowledged', 'resolved'];
const URGENCIES = ['high', 'low'];
/** The `include[]` enum of listIncidents. */
const INCIDENT_INCLUDES = new Set([
  'acknowledgers',
  'agents',
  'assignees',
  'conference_bridge',
  'escalation_policies',
  'first_trigger_log_entries',
  'priorities',
  'services',
  'teams',
  'users',
]);

/**
 * @typedef {import('./pagerduty.mjs').SeedUser} SeedUser
 * @typedef {import('./pagerduty.mjs').SeedEscalationPolicy} SeedEscalationPolicy
 *
 * @typedef {object} SeedIncident
 * @property {string} id
 * @property {number} number incident_number, unique
 * @property {string} title
 * @property {'triggered' | 'acknowledged' | 'resolved'} status
 * @property {'high' | 'low'} [urgency] default 'high'
 * @property {{ id: string, name: string, escalationPolicyId?: string }} service escalationPolicyId: the service's
 *   own policy (default: as `org.services` says, else the policy of the service's first incident), which
 *   `escalationPolicy` may differ from (an incident moved to another policy)
 * @property {string} escalationPolicy id of one of the org's escalation policies: the incident's
 * @property {Array<{ id: string, name: string }>} [teams]
 * @property {Array<{ user: string, at: string }>} [assignments] user ids; must be empty when resolved
 * @property {Array<{ user: string, at: string }>} [acknowledgements] only when acknowledged
 * @property {string} createdAt ISO 8601 with an offset
 * @property {string} [lastStatusChangeAt] default createdAt
 * @property {string} [resolvedAt] required when resolved, refused otherwise
 * @property {string} [incidentKey]
 *
 * @typedef {object} IndexedIncident
 * @property {SeedIncident} seed
 * @property {number} created
 * @property {number} lastChange
 * @property {number | null} resolved
 * @property {'high' | 'low'} urgency
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
 * Validates `org.incidents` against the org's users and policies; throws TypeError on seed mistakes.
 * @param {SeedIncident[] | undefined} seeds
 * @param {Map<string, SeedUser>} users
 * @param {SeedEscalationPolicy[]} policies
 * @returns {IndexedIncident[]} sorted by incident_number
 */
export function indexIncidents(seeds, users, policies) {
  /** @param {string} msg @returns {never} */
  const fail = (msg) => {
    throw new TypeError(`fake PagerDuty seed: ${msg}`);
  };
  if (seeds === undefined) return [];
  if (!Array.isArray(seeds)) fail('incidents must be an array');
  const ids = new Set();
  const numbers = new Set();
  return seeds
    .map((s) => {
      if (!s.id || !Number.isInteger(s.number) || typeof s.title !== 'string') {
        fail(`incident needs id, number, title`);
      }
      if (ids.has(s.id) || numbers.has(s.number)) fail(`duplicate incident ${s.id} / #${s.number}`);
      ids.add(s.id);
      numbers.add(s.number);
      if (!STATUSES.includes(s.status)) fail(`incident ${s.id}: bad status ${String(s.status)}`);
      const urgency = s.urgency ?? 'high';
      if (!URGENCIES.includes(urgency)) fail(`incident ${s.id}: bad urgency ${String(urgency)}`);
      if (!s.service?.id || !s.service.name) fail(`incident ${s.id}: service needs id, name`);
      const servicePolicy = s.service.escalationPolicyId;
      if (servicePolicy !== undefined && !policies.some((ep) => ep.id === servicePolicy)) {
        fail(`incident ${s.id}: service ${s.service.id} has unknown escalation policy ${servicePolicy}`);
      }
      if (!policies.some((ep) => ep.id === s.escalationPolicy)) {
        fail(`incident ${s.id}: unknown escalation policy ${s.escalationPolicy}`);
      }
      for (const a of [...(s.assignments ?? []), ...(s.acknowledgements ?? [])]) {
        if (!users.has(a.user)) fail(`incident ${s.id}: unknown user ${a.user}`);
        seedTime(a.at, `incident ${s.id} assignment/acknowledgement time`);
      }
      // The spec: assignments are empty once resolved, acknowledgements empty unless acknowledged.
      if (s.status === 'resolved' && (s.assignments ?? []).length > 0) {
        fail(`incident ${s.id}: a resolved incident has no assignments`);
      }
      if (s.status !== 'acknowledged' && (s.acknowledgements ?? []).length > 0) {
        fail(`incident ${s.id}: only an acknowledged incident has acknowledgements`);
      }
      if ((s.status === 'resolved') !== (s.resolvedAt !== undefined)) {
        fail(`incident ${s.id}: resolvedAt is required when resolved, and only then`);
      }
      const created = seedTime(s.createdAt, `incident ${s.id} createdAt`);
      return {
        seed: s,
        created,
        lastChange:
          s.lastStatusChangeAt === undefined ? created : seedTime(s.lastStatusChangeAt, `incident ${s.id}`),
        resolved: s.resolvedAt === undefined ? null : seedTime(s.resolvedAt, `incident ${s.id} resolvedAt`),
        urgency: /** @type {'high' | 'low'} */ (urgency),
      };
    })
    .sort((a, b) => a.seed.number - b.seed.number);
}

/**
 * Values of an enum-typed `key[]`, each checked; undefined when absent.
 * @param {Array<[string, string]>} query
 * @param {string} key
 * @param {string[]} allowed
 */
function enumList(query, key, allowed) {
  const values = list(query, key);
  for (const v of values ?? []) {
    if (!allowed.includes(v)) {
      throw invalidInput([`${key}[] ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`]);
    }
  }
  return values;
}

/**
 * since/until of listIncidents: plain strings in the spec, read as ISO 8601 (without an offset: in `time_zone`,
 * else the account's zone). Absent: until = now, since = until - 1 month. `date_range=all` ignores both.
 * @param {Array<[string, string]>} query
 * @param {number} now
 * @param {string} inputZone
 * @returns {{ since: number, until: number } | null} null = no window
 */
function incidentWindow(query, now, inputZone) {
  const dateRange = last(query, 'date_range');
  if (dateRange !== undefined && dateRange !== 'all') {
    throw invalidInput([`date_range must be "all", got ${JSON.stringify(dateRange)}`]);
  }
  /** @param {'since' | 'until'} key */
  const read = (key) => {
    const text = last(query, key);
    if (text === undefined) return undefined;
    const ms = parseIsoTime(text, inputZone);
    if (ms === null) {
      throw new ApiError(400, 'Invalid since or until', 2004, [
        `${key} is not a date: ${JSON.stringify(text)}`,
      ]);
    }
    return ms;
  };
  const givenSince = read('since');
  const givenUntil = read('until');
  if (dateRange === 'all') return null;
  const until = givenUntil ?? now;
  const since = givenSince ?? until - INCIDENTS_DEFAULT_RANGE_MS;
  if (until < since) throw new ApiError(400, 'Invalid date range', 2005, ['until must not be before since']);
  if (until - since > INCIDENTS_MAX_RANGE_MS) {
    throw new ApiError(400, 'Invalid date range', 2005, ['The search range cannot exceed 6 months']);
  }
  return { since, until };
}

/**
 * @typedef {object} IncidentsContext
 * @property {import('./pagerduty.mjs').OrgIndex} index
 * @property {string} api
 * @property {string} accountTimeZone
 * @property {number} now
 */

/**
 * The spec: "Account must have the `urgencies` ability" for `urgencies[]`, the `teams` ability for `team_ids[]`.
 * The 402 body follows the spec's generic error schema; its message is the spec's description of a 402, its code
 * (2012) an assumption.
 * @param {import('./pagerduty.mjs').OrgIndex} index
 * @param {string} ability
 * @param {string} parameter
 */
function needAbility(index, ability, parameter) {
  if (index.abilities.has(ability)) return;
  throw new ApiError(402, 'Account does not have the abilities to perform the action', 2012, [
    `${parameter} requires the ${ability} ability`,
  ]);
}

/**
 * `GET /incidents` (listIncidents).
 * @param {IncidentsContext} ctx
 * @param {Array<[string, string]>} query
 */
export function listIncidents(ctx, query) {
  const { index, api } = ctx;
  // The spec: timestamps render in UTC unless time_zone is given; since/until without an offset are read in
  // time_zone, else in the account's zone.
  const givenZone = last(query, 'time_zone') === undefined ? undefined : parseTimeZone(query, 'UTC');
  const renderZone = givenZone ?? 'UTC';
  const window = incidentWindow(query, ctx.now, givenZone ?? ctx.accountTimeZone);
  const paging = parsePaging(query);
  const statuses = enumList(query, 'statuses', STATUSES);
  const urgencies = enumList(query, 'urgencies', URGENCIES);
  const serviceIds = list(query, 'service_ids');
  const teamIds = list(query, 'team_ids');
  if (urgencies) needAbility(index, 'urgencies', 'urgencies[]');
  if (teamIds) needAbility(index, 'teams', 'team_ids[]');
  const userIds = list(query, 'user_ids');
  const include = includes(query, INCIDENT_INCLUDES);
  const incidentKey = last(query, 'incident_key');

  const rows = index.incidents.filter(
    ({ seed, created, urgency }) =>
      (!window || (created >= window.since && created <= window.until)) &&
      (!statuses || statuses.includes(seed.status)) &&
      (!urgencies || urgencies.includes(urgency)) &&
      (!serviceIds || serviceIds.includes(seed.service.id)) &&
      (!teamIds || (seed.teams ?? []).some((t) => teamIds.includes(t.id))) &&
      // "currently assigned to the passed user(s)": resolved incidents have no assignments, so never match.
      (!userIds || (seed.assignments ?? []).some((a) => userIds.includes(a.user))) &&
      (incidentKey === undefined || seed.incidentKey === incidentKey),
  );

  const r = renderers(index, api);
  /** @param {string} id */
  const user = (id) => /** @type {SeedUser} */ (index.users.get(id));
  /** @param {number} ms */
  const time = (ms) => formatInZone(ms, renderZone);
  /** @param {IndexedIncident} incident */
  const render = ({ seed, created, lastChange, resolved, urgency }) => {
    const policy = /** @type {SeedEscalationPolicy} */ (
      index.policies.find((ep) => ep.id === seed.escalationPolicy)
    );
    const serviceRef = {
      id: seed.service.id,
      type: 'service_reference',
      summary: seed.service.name,
      self: `${api}/services/${seed.service.id}`,
      html_url: `${index.web}/service-directory/${seed.service.id}`,
    };
    const teamRef = (/** @type {{ id: string, name: string }} */ t) => ({
      id: t.id,
      type: 'team_reference',
      summary: t.name,
      self: `${api}/teams/${t.id}`,
      html_url: `${index.web}/teams/${t.id}`,
    });
    // With the include, the full user; its email may be missing when the seed says so (as for /oncalls).
    const person = (/** @type {string} */ id, /** @type {boolean} */ full) =>
      full ? r.fullUser(user(id), { withEmail: !user(id).omitEmailInInclude }) : r.userRef(user(id));
    return {
      id: seed.id,
      type: 'incident',
      summary: `[#${seed.number}] ${seed.title}`,
      self: `${api}/incidents/${seed.id}`,
      html_url: `${index.web}/incidents/${seed.id}`,
      incident_number: seed.number,
      title: seed.title,
      description: seed.title,
      created_at: time(created),
      updated_at: time(lastChange),
      status: seed.status,
      incident_key: seed.incidentKey ?? null,
      service: include.has('services')
        ? {
            ...serviceRef,
            type: 'service',
            name: seed.service.name,
            description: null,
            status: seed.status === 'resolved' ? 'active' : 'critical',
            // The service's own policy, whichever policy the incident is on now.
            escalation_policy: r.policyRef(
              /** @type {import('./pagerduty.mjs').IndexedService} */ (index.services.get(seed.service.id))
                .policy,
            ),
            teams: (seed.teams ?? []).map(teamRef),
          }
        : serviceRef,
      assignments:
        seed.status === 'resolved'
          ? []
          : (seed.assignments ?? []).map((a) => ({
              at: time(/** @type {number} */ (parseIsoTime(a.at, 'UTC'))),
              assignee: person(a.user, include.has('assignees')),
            })),
      assigned_via: 'escalation_policy',
      last_status_change_at: time(lastChange),
      resolved_at: resolved === null ? null : time(resolved),
      first_trigger_log_entry: {
        id: `R${seed.id.slice(1)}T`,
        type: 'trigger_log_entry_reference',
        summary: `Triggered through the API.`,
        self: `${api}/log_entries/R${seed.id.slice(1)}T`,
        html_url: `${index.web}/incidents/${seed.id}/log_entries/R${seed.id.slice(1)}T`,
      },
      alert_counts: {
        all: 1,
        triggered: seed.status === 'resolved' ? 0 : 1,
        resolved: seed.status === 'resolved' ? 1 : 0,
      },
      is_mergeable: true,
      escalation_policy: include.has('escalation_policies') ? r.fullPolicy(policy) : r.policyRef(policy),
      teams: (seed.teams ?? []).map((t) =>
        include.has('teams') ? { ...teamRef(t), type: 'team', name: t.name, description: null } : teamRef(t),
      ),
      pending_actions: [],
      acknowledgements:
        seed.status === 'acknowledged'
          ? (seed.acknowledgements ?? []).map((a) => ({
              at: time(/** @type {number} */ (parseIsoTime(a.at, 'UTC'))),
              acknowledger: person(a.user, include.has('acknowledgers')),
            }))
          : [],
      alert_grouping: null,
      priority: null,
      resolve_reason: null,
      conference_bridge: null,
      incidents_responders: [],
      responder_requests: [],
      urgency,
    };
  };
  return {
    incidents: rows.slice(paging.offset, paging.offset + paging.limit).map(render),
    ...pageFields(paging, rows.length),
  };
}
