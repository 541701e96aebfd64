// PagerDuty REST API v2 client: the on-calls of some schedules over a window, users' emails, the open incidents of
// some services, and look-ups of schedules, escalation policies and services by ID.
// The PagerDuty facts it relies on (paging, includes, error bodies, rate limits) are in docs/pagerduty.md.
import { request } from 'undici';
import * as core from '@actions/core';
import { backoffMs, Deadline, retry, type Attempt } from './retry.js';
import { PAGERDUTY_ID, type IncidentStatus, type IncidentUrgency } from './rules.js';
import { asciiLowerCase, forErrorDetail } from './text.js';
import { displayUrl } from './urls.js';

export interface OnCallRow {
  user: { id: string; name: string; email?: string };
  schedule: { id: string; name: string } | null; // null: targeted directly by the escalation policy
  escalationPolicy: { id: string; name: string };
  escalationLevel: number;
  start: Date | null; // null: on call since forever
  end: Date | null; // null: never goes off call
}

/** A schedule as its own endpoint describes it. */
export interface ScheduleInfo {
  id: string;
  version: 'v2' | 'v3';
  name: string;
  /** v3 only: the users its final schedule has on call in the window asked about. */
  onCallUserIds: string[];
}

/** PagerDuty intersects different filters; each list is a union. */
export interface OnCallFilter {
  scheduleIds?: string[];
  escalationPolicyIds?: string[];
}

/** What `listIncidents` asks for; each list is a union, different lists intersect. None may be empty. */
export interface IncidentFilter {
  serviceIds: string[];
  urgencies: IncidentUrgency[];
  statuses: IncidentStatus[];
}

export interface IncidentAssignee {
  id: string;
  name: string;
  email: string | undefined; // undefined: not in the answer; the caller looks it up (getUserEmail)
}

/** An open incident as `listIncidents` reads it. Title and names are untrusted text, escaped where shown. */
export interface Incident {
  id: string;
  number: number;
  title: string; // at most TITLE_MAX characters
  url: string; // html_url; '' when missing, not an http(s) URL, or over URL_MAX characters once normalized
  status: IncidentStatus;
  urgency: IncidentUrgency;
  /** escalationPolicyId: the service's own policy (include[]=services), which a responder cannot change. */
  service: { id: string; name: string; escalationPolicyId: string };
  /** The incident's policy: the service's, unless a responder moved the incident to another one. */
  escalationPolicy: { id: string; name: string };
  assignees: IncidentAssignee[]; // from assignments[].assignee (current assignees), never from user_ids
}

export interface PagerDutyClientOptions {
  baseUrl: string;
  token: string;
  requestTimeoutMs?: number;
  deadline?: Deadline;
}

export class PagerDutyError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PagerDutyError';
  }
}

const MAX_ATTEMPTS = 5;
const PAGE_LIMIT = 100; // PagerDuty's maximum page size
const OFFSET_CAP = 10_000; // offset + limit above this is refused with 400/2002
const MAX_RETRY_WAIT_MS = 60_000;
// PagerDuty object IDs (PABC123): checked before an ID is used or named in a message.
// Untrusted text is cut so that what the action writes to the ledger always reads back well formed
// (src/ledger.ts isWellFormed: url at most 500 UTF-16 units, names and titles at most 1000; 500 code points are at
// most 1000 units).
const TITLE_MAX = 500; // an incident title is free text from alerts: keep what reaches the report bounded
const NAME_MAX = 500; // user, schedule, escalation policy and service names
const URL_MAX = 500; // html_url, measured as normalized (percent-encoded) for the ledger

/** `Token token=<key>` for REST API keys; a value given as `Bearer <token>` (OAuth) or already in header form is kept. */
export function authorizationHeader(token: string): string {
  if (/^(Bearer|Token)\s/i.test(token)) return token;
  return `Token token=${token}`;
}

export class PagerDutyClient {
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;
  private readonly deadline: Deadline;
  /** Number of HTTP requests sent, retries included (reported in the summary and checked by tests). */
  requestCount = 0;
  private readonly emails = new Map<string, string | undefined>(); // by user ID

  constructor(private readonly options: PagerDutyClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.authorization = authorizationHeader(options.token);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.deadline = options.deadline ?? new Deadline(10 * 60_000);
  }

  /**
   * Every on-call period matching the filter that overlaps [since, until], with users' details included
   * (one request per 100 rows instead of one per row), following `more` until the end.
   */
  async listOnCalls(filter: OnCallFilter, since: Date, until: Date): Promise<OnCallRow[]> {
    const query = new URLSearchParams();
    for (const id of filter.scheduleIds ?? []) query.append('schedule_ids[]', id);
    for (const id of filter.escalationPolicyIds ?? []) query.append('escalation_policy_ids[]', id);
    query.set('since', since.toISOString());
    query.set('until', until.toISOString());
    query.set('time_zone', 'UTC');
    query.append('include[]', 'users');
    const { items } = await this.readPages('/oncalls', query, {
      list: 'oncalls',
      what: 'on-calls',
      // Stopping at the cap would silently drop on-calls; refuse instead.
      tooMany:
        `PagerDuty has more than ${OFFSET_CAP} on-call rows for these schedules and window, more than its API pages through; ` +
        'shorten lookahead or split schedule-ids across several steps',
    });
    return items.map(parseOnCall);
  }

  /**
   * The open incidents on the filter's services, all of them: `date_range=all`, since without it (or since/until)
   * PagerDuty lists only incidents created in the last 30 days, and an incident open longer would look resolved.
   * Assignees come as full users (`include[]=assignees`) so that most carry their email, services as full services
   * (`include[]=services`) for their escalation policy. `urgencies[]` is sent only when it filters something: it
   * needs the account's `urgencies` ability (a 402 without it). Follows `more` to the end; an answer that does not
   * match what was asked (another status, urgency or service) is refused, never used. `snapshot`: the list came in
   * one page; offset paging over a list that changes can skip an incident, so a longer list is no proof that an
   * incident missing from it is resolved.
   */
  async listIncidents(filter: IncidentFilter): Promise<{ incidents: Incident[]; snapshot: boolean }> {
    const serviceIds = [...new Set(filter.serviceIds)]; // the spec's uniqueItems: PagerDuty refuses repeats
    const statuses = [...new Set(filter.statuses)];
    const urgencies = [...new Set(filter.urgencies)];
    // An empty list would drop that filter and list every service's (or resolved) incidents: a caller's bug.
    if (serviceIds.length === 0 || statuses.length === 0 || urgencies.length === 0) {
      throw new Error('listIncidents needs at least one service, one status and one urgency');
    }
    const query = new URLSearchParams();
    query.set('date_range', 'all');
    for (const status of statuses) query.append('statuses[]', status);
    for (const id of serviceIds) query.append('service_ids[]', id);
    // Both urgencies are every incident: the filter would only risk a 402 on accounts without the ability.
    if (!(urgencies.includes('high') && urgencies.includes('low'))) {
      for (const urgency of urgencies) query.append('urgencies[]', urgency);
    }
    query.append('include[]', 'assignees');
    query.append('include[]', 'services');
    query.set('time_zone', 'UTC');
    const { items, pages } = await this.readPages('/incidents', query, {
      list: 'incidents',
      what: 'incidents',
      // Stopping at the cap would silently drop open incidents; refuse instead.
      tooMany:
        `PagerDuty has more than ${OFFSET_CAP} open incidents on the rules' services, more than its API pages ` +
        'through; name fewer services per rule (or fewer statuses/urgencies) in the rules with incidents',
    });
    const services = new Set(serviceIds.map(asciiLowerCase));
    const byId = new Map<string, Incident>();
    for (const item of items) {
      const incident = parseIncident(item);
      const unasked = !statuses.includes(incident.status)
        ? 'status'
        : !urgencies.includes(incident.urgency)
          ? 'urgency'
          : !services.has(asciiLowerCase(incident.service.id))
            ? 'service'
            : undefined;
      if (unasked) {
        throw new PagerDutyError(
          `PagerDuty answered /incidents with incident ${incident.id}, whose ${unasked} was not asked for`,
        );
      }
      byId.set(incident.id, incident); // paging over a list that changes can repeat one across pages
    }
    return { incidents: [...byId.values()], snapshot: pages === 1 };
  }

  /**
   * Every item of a paged list, following `more` to the end: the offset moves by the items received (a server may
   * send fewer than asked for; never skip any), an empty page that says more follow is refused, and so is a list
   * longer than the 10,000 PagerDuty pages through (`tooMany` says why and the fix).
   */
  private async readPages(
    path: string,
    query: URLSearchParams,
    names: { list: string; what: string; tooMany: string },
  ): Promise<{ items: unknown[]; pages: number }> {
    const items: unknown[] = [];
    for (let offset = 0, pages = 1; ; pages++) {
      if (offset + PAGE_LIMIT > OFFSET_CAP) throw new PagerDutyError(names.tooMany);
      const pageQuery = new URLSearchParams(query);
      pageQuery.set('limit', String(PAGE_LIMIT));
      pageQuery.set('offset', String(offset));
      const page = asRecord(await this.getJson(path, pageQuery), `${path} response`);
      const list = page[names.list];
      if (!Array.isArray(list))
        throw new PagerDutyError(`PagerDuty answered ${path} without an "${names.list}" list`);
      items.push(...(list as unknown[]));
      if (page.more !== true) return { items, pages };
      if (list.length === 0) {
        throw new PagerDutyError(
          `PagerDuty said more ${names.what} follow but sent an empty page; try again later`,
        );
      }
      offset += list.length;
    }
  }

  /** One user's email, for rows where the included user carried none. */
  async getUserEmail(userId: string): Promise<string | undefined> {
    // Asked once per person and run: incident assignees and on-call rows may both lack the same person's email.
    if (this.emails.has(userId)) return this.emails.get(userId);
    const body = asRecord(await this.getJson(`/users/${encodeURIComponent(userId)}`), '/users response');
    const user = asRecord(body.user, 'user');
    const email = typeof user.email === 'string' && user.email !== '' ? user.email : undefined;
    this.emails.set(userId, email);
    return email;
  }

  /**
   * A schedule nobody is on call in, looked up to tell a quiet schedule from a wrong ID: the legacy (v2) endpoint
   * first, then the v3 one, which also gives who its final schedule has on call over [since, until] (PagerDuty
   * says v3 schedules are "not compatible with V2 automations", so /oncalls may not show them). Undefined when
   * neither knows the ID.
   */
  async lookUpSchedule(id: string, since: Date, until: Date): Promise<ScheduleInfo | undefined> {
    const path = `/schedules/${encodeURIComponent(id)}`;
    try {
      const body = asRecord(await this.getJson(path), '/schedules response');
      return { id, version: 'v2', name: nameOf(body.schedule, id), onCallUserIds: [] };
    } catch (error) {
      if (!(error instanceof PagerDutyError && error.status === 404)) throw error;
    }
    const query = new URLSearchParams({
      since: since.toISOString(),
      until: until.toISOString(),
      time_zone: 'UTC',
    });
    query.append('include[]', 'final_schedule');
    try {
      const body = asRecord(await this.getJson(`/v3${path}`, query), '/v3/schedules response');
      return {
        id,
        version: 'v3',
        name: nameOf(body.schedule, id),
        onCallUserIds: finalScheduleUsers(body.schedule),
      };
    } catch (error) {
      if (error instanceof PagerDutyError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** An escalation policy's name, or undefined when PagerDuty does not have it (404). */
  async lookUpEscalationPolicy(id: string): Promise<string | undefined> {
    try {
      const body = asRecord(
        await this.getJson(`/escalation_policies/${encodeURIComponent(id)}`),
        '/escalation_policies response',
      );
      return nameOf(body.escalation_policy, id);
    } catch (error) {
      if (error instanceof PagerDutyError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * A service's name, or undefined when PagerDuty does not have it (404): a mistyped service ID in an incident rule
   * would otherwise match no incident, forever and in silence. Any other failure is thrown; an OAuth token without
   * services.read gets a 403.
   */
  async lookUpService(id: string): Promise<string | undefined> {
    try {
      const body = asRecord(await this.getJson(`/services/${encodeURIComponent(id)}`), '/services response');
      return nameOf(body.service, id);
    } catch (error) {
      if (error instanceof PagerDutyError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * GET with retries: 429 waits as PagerDuty says, 408/5xx/network errors/broken bodies back off; 400-404 are final.
   * Every attempt has a timeout, and no wait goes past the run's time budget.
   */
  private async getJson(path: string, query?: URLSearchParams): Promise<unknown> {
    const url = `${this.baseUrl}${path}${query ? `?${query.toString()}` : ''}`;
    return retry((attempt) => this.tryGet(url, path, attempt, query), {
      attempts: MAX_ATTEMPTS,
      deadline: this.deadline,
      onRetry: (failure, waitMs) =>
        core.info(`PagerDuty ${path}: ${failure}; trying again in ${Math.round(waitMs / 1000)} s`),
      giveUp: (failure, why) => {
        throw new PagerDutyError(
          `PagerDuty at ${displayUrl(this.baseUrl)} did not answer ${path} successfully ${why}; last: ${failure}. ` +
            'Check pagerduty-api-url and PagerDuty status, or run again later',
        );
      },
    });
  }

  /** One GET: the parsed body, a failure worth another try, or (400-404) a PagerDutyError. */
  private async tryGet(
    url: string,
    path: string,
    attempt: number,
    query: URLSearchParams | undefined,
  ): Promise<Attempt<unknown>> {
    this.requestCount++;
    try {
      // undici does not follow redirects here: the token only ever goes to pagerduty-api-url.
      const response = await request(url, {
        method: 'GET',
        // PagerDuty's spec lists Content-Type as required on every operation, GETs included.
        headers: {
          authorization: this.authorization,
          accept: 'application/vnd.pagerduty+json;version=2',
          'content-type': 'application/json',
        },
        headersTimeout: this.requestTimeoutMs,
        bodyTimeout: this.requestTimeoutMs,
        // headers/body timeouts are idle timers: a body that trickles in must not outlast the whole request.
        signal: AbortSignal.timeout(
          Math.max(1, Math.min(this.requestTimeoutMs, this.deadline.remainingMs())),
        ),
      });
      const text = await response.body.text();
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        try {
          return { done: JSON.parse(text) as unknown };
        } catch {
          return { again: `a ${status} answer whose body is not JSON` }; // truncated or from a proxy
        }
      }
      if (status === 429 || status === 408 || status >= 500) {
        const detail = errorDetail(text, (t) => this.scrub(t));
        return {
          again: `HTTP ${status}${detail ? ` (${detail})` : ''}`,
          waitMs: retryWaitMs(status, response.headers, attempt),
        };
      }
      throw new PagerDutyError(this.describeFailure(path, status, text, query), status);
    } catch (error) {
      if (error instanceof PagerDutyError) throw error;
      return { again: forErrorDetail(this.scrub(errorText(error))) };
    }
  }

  private describeFailure(path: string, status: number, body: string, query?: URLSearchParams): string {
    const detail = errorDetail(body, (t) => this.scrub(t));
    const said = detail ? `: ${detail}` : '';
    if (path === '/incidents' && status === 402 && query?.has('urgencies[]')) {
      // The spec: filtering by urgencies needs the account's `urgencies` ability; both urgencies send no filter.
      return (
        `PagerDuty says the account lacks an ability needed for /incidents (402${said}); remove ` +
        'incidents.urgencies from the rules (this PagerDuty account lacks the urgencies ability), or enable that ' +
        'ability for the account (it depends on the PagerDuty plan)'
      );
    }
    if (path === '/incidents' && (status === 400 || status === 403)) {
      return status === 400
        ? `PagerDuty refused the request to /incidents (400${said}); check the services of the rules with incidents`
        : `pagerduty-token is not allowed to read /incidents (403${said}); rules with incidents need incidents.read`;
    }
    if (path.startsWith('/services/') && status === 403) {
      return `pagerduty-token is not allowed to read ${path} (403${said}); checking the services of rules with incidents needs services.read`;
    }
    switch (status) {
      case 400:
        return `PagerDuty refused the request to ${path} (400${said}); check schedule-ids and lookahead`;
      case 401:
        return `PagerDuty rejected pagerduty-token (401${said}); set a valid REST API key (or "Bearer <oauth token>")`;
      case 402:
        return `PagerDuty says the account lacks the ability needed for ${path} (402${said})`;
      case 403:
        return `pagerduty-token is not allowed to read ${path} (403${said}); it needs oncalls.read and users.read`;
      case 404:
        return `PagerDuty has no ${path} (404${said}); check pagerduty-api-url and the IDs`;
      default:
        return `PagerDuty answered ${path} with HTTP ${status}${said}`;
    }
  }

  /** Servers sometimes echo the request back; never let the token (bare or encoded) reach a log through an error. */
  private scrub(text: string): string {
    const bare = /^(?:Bearer\s+|Token\s+token=)(.+)$/i.exec(this.options.token)?.[1];
    const secrets = [this.options.token, bare].filter((s): s is string => Boolean(s));
    const forms = secrets.flatMap((s) => [s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]);
    return forms.sort((a, b) => b.length - a.length).reduce((out, form) => out.split(form).join('***'), text);
  }
}

/** 429: `Retry-After` or `ratelimit-reset` (both seconds); otherwise exponential backoff with jitter. */
export function retryWaitMs(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  attempt: number,
): number {
  if (status === 429) {
    for (const name of ['retry-after', 'ratelimit-reset']) {
      const value = Number(firstHeader(headers[name]));
      if (Number.isFinite(value) && value >= 0 && firstHeader(headers[name]) !== '') {
        return Math.min(MAX_RETRY_WAIT_MS, value * 1000);
      }
    }
  }
  return backoffMs(attempt);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The human part of a PagerDuty error body, safe to log: bodies come as JSON with `errors` in several shapes, or as
 * plain text. `scrub` removes secrets from the whole text first; only then is it cut (forErrorDetail), so that a
 * secret echoed near the cut is never shown in part.
 */
export function errorDetail(body: string, scrub: (text: string) => string = (text) => text): string {
  return forErrorDetail(scrub(bodyText(body)));
}

function bodyText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  if (!error || typeof error !== 'object') return '';
  const { message, code, errors } = error as { message?: unknown; code?: unknown; errors?: unknown };
  const parts: string[] = [];
  if (typeof message === 'string') parts.push(message);
  if (typeof code === 'number' || typeof code === 'string') parts.push(`code ${code}`);
  const details = Array.isArray(errors)
    ? errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))
    : typeof errors === 'string'
      ? [errors]
      : errors && typeof errors === 'object'
        ? Object.entries(errors).map(([key, value]) => `${key}: ${String(value)}`)
        : [];
  if (details.length > 0) parts.push(details.join('; '));
  return parts.join(', ');
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new PagerDutyError(`PagerDuty sent a malformed ${what}`);
  }
  return value as Record<string, unknown>;
}

// ISO 8601 date-time with an explicit offset: anything else would be read in the runner's own time zone.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function parseTime(value: unknown, what: string): Date | null {
  if (value === null || value === undefined) return null;
  const time = typeof value === 'string' && ISO_WITH_OFFSET.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(time.getTime()))
    throw new PagerDutyError(`PagerDuty sent an on-call with an invalid ${what} time`);
  return time;
}

/** The `name` (or `summary`) of a schedule or policy object, or its ID. */
function nameOf(value: unknown, id: string): string {
  const record = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return nameFrom([record.name, record.summary], id);
}

/** Users in a v3 schedule's `final_schedule.computed_shift_assignments[]` (`member.type` "user_member"). */
function finalScheduleUsers(schedule: unknown): string[] {
  const final = (schedule as { final_schedule?: { computed_shift_assignments?: unknown } } | null)
    ?.final_schedule;
  const assignments = Array.isArray(final?.computed_shift_assignments)
    ? final.computed_shift_assignments
    : [];
  const users = assignments.flatMap((assignment: unknown) => {
    const member = (assignment as { member?: { type?: unknown; user_id?: unknown } } | null)?.member;
    return member?.type === 'user_member' && typeof member.user_id === 'string' ? [member.user_id] : [];
  });
  return [...new Set(users)];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Validates one `oncalls[]` item. Names are untrusted text and are escaped wherever they are shown. */
export function parseOnCall(item: unknown): OnCallRow {
  const row = asRecord(item, 'on-call entry');
  const user = asRecord(row.user, 'on-call user');
  const policy = asRecord(row.escalation_policy, 'on-call escalation policy');
  if (typeof user.id !== 'string' || user.id === '')
    throw new PagerDutyError('PagerDuty sent an on-call without a user id');
  if (typeof policy.id !== 'string')
    throw new PagerDutyError('PagerDuty sent an on-call without an escalation policy id');
  let schedule: OnCallRow['schedule'] = null;
  if (row.schedule !== null && row.schedule !== undefined) {
    const s = asRecord(row.schedule, 'on-call schedule');
    if (typeof s.id !== 'string')
      throw new PagerDutyError('PagerDuty sent an on-call schedule without an id');
    schedule = { id: s.id, name: nameFrom([s.summary, s.name], s.id) };
  }
  const level = row.escalation_level;
  if (typeof level !== 'number' || !Number.isInteger(level)) {
    throw new PagerDutyError('PagerDuty sent an on-call without an escalation level');
  }
  const email = text(user.email);
  return {
    user: {
      id: user.id,
      name: nameFrom([user.name, user.summary], user.id),
      ...(email ? { email } : {}),
    },
    schedule,
    escalationPolicy: { id: policy.id, name: nameFrom([policy.summary, policy.name], policy.id) },
    escalationLevel: level,
    start: parseTime(row.start, 'start'),
    end: parseTime(row.end, 'end'),
  };
}

/** A PagerDuty object ID, or a PagerDutyError naming `what` (the value itself is untrusted: never quoted). */
function pagerDutyId(value: unknown, what: string): string {
  if (typeof value !== 'string' || !PAGERDUTY_ID.test(value))
    throw new PagerDutyError(`PagerDuty sent ${what} without a valid id`);
  return value;
}

/**
 * An http(s) address to link to, or '' (a `javascript:` or malformed html_url must never become a link). The length
 * limit applies to the normalized address kept, which percent-encoding can make longer than the one received.
 */
function webUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length > URL_MAX) return '';
  try {
    const url = new URL(value);
    const web = url.protocol === 'https:' || url.protocol === 'http:';
    return web && url.href.length <= URL_MAX ? url.href : '';
  } catch {
    return '';
  }
}

/** A name from the first non-empty string of `candidates`, else `id`, cut to NAME_MAX. */
function nameFrom(candidates: unknown[], id: string): string {
  return cut(candidates.map(text).find((name) => name !== '') ?? id, NAME_MAX);
}

/** At most `max` characters (code points: a surrogate pair is never cut in half), "…" marking a cut. */
function cut(value: string, max: number): string {
  const points: string[] = [];
  for (const point of value) {
    if (points.length === max) return `${points.slice(0, max - 1).join('')}…`;
    points.push(point);
  }
  return value;
}

/**
 * Validates one `incidents[]` item of `GET /incidents?include[]=assignees&include[]=services`. Strict like parseOnCall: the action was
 * asked for open incidents only, so any other status or urgency is a malformed answer, not one to skip. Assignees are
 * the current ones (`assignments[].assignee`); an assignee without an email gets `email: undefined`.
 */
export function parseIncident(item: unknown): Incident {
  const row = asRecord(item, 'incident');
  const id = pagerDutyId(row.id, 'an incident');
  const which = `incident ${id}`; // safe to name: checked against PAGERDUTY_ID
  const number = row.incident_number;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1)
    throw new PagerDutyError(`PagerDuty sent ${which} without a valid incident_number`);
  if (typeof row.title !== 'string') throw new PagerDutyError(`PagerDuty sent ${which} without a title`);
  const status = row.status;
  if (status !== 'triggered' && status !== 'acknowledged')
    throw new PagerDutyError(`PagerDuty sent ${which} with a status other than triggered or acknowledged`);
  const urgency = row.urgency;
  if (urgency !== 'high' && urgency !== 'low')
    throw new PagerDutyError(`PagerDuty sent ${which} with an urgency other than high or low`);
  const service = asRecord(row.service, `${which} service`);
  const policy = asRecord(row.escalation_policy, `${which} escalation policy`);
  const serviceId = pagerDutyId(service.id, `${which} service`);
  const policyId = pagerDutyId(policy.id, `${which} escalation policy`);
  // The service's own policy, present only in the full service (include[]=services): require-on-call checks it.
  if (!service.escalation_policy || typeof service.escalation_policy !== 'object')
    throw new PagerDutyError(
      `PagerDuty sent ${which} without its service's escalation policy (asked for with include[]=services)`,
    );
  const servicePolicyId = pagerDutyId(
    (service.escalation_policy as Record<string, unknown>).id,
    `${which} service escalation policy`,
  );
  const assignments = row.assignments;
  if (!Array.isArray(assignments))
    throw new PagerDutyError(`PagerDuty sent ${which} without an assignments list`);
  const assignees = new Map<string, IncidentAssignee>();
  for (const assignment of assignments) {
    const user = asRecord(asRecord(assignment, `${which} assignment`).assignee, `${which} assignee`);
    const userId = pagerDutyId(user.id, `${which} assignee`);
    const email = text(user.email) || undefined;
    const seen = assignees.get(userId);
    if (seen) seen.email ??= email;
    else assignees.set(userId, { id: userId, name: nameFrom([user.name, user.summary], userId), email });
  }
  return {
    id,
    number,
    title: cut(row.title, TITLE_MAX),
    url: webUrl(row.html_url),
    status,
    urgency,
    service: {
      id: serviceId,
      name: nameFrom([service.summary, service.name], serviceId),
      escalationPolicyId: servicePolicyId,
    },
    escalationPolicy: { id: policyId, name: nameFrom([policy.summary, policy.name], policyId) },
    assignees: [...assignees.values()],
  };
}
