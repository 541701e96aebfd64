// Generated companies for the benchmark: N on-call rows within the action's lookahead, designed so that one row is
// one grant. Every person is on exactly one schedule (so shifts of different schedules never merge into one
// window), each schedule rotates through at least two people (so a person's consecutive shifts there are never
// adjacent), every shift lies inside the lookahead and is shorter than max-grant-duration, every person has a
// strongDM user and the one resource exists. Each schedule sits alone at level 1 of its own escalation policy, so
// /oncalls returns each shift exactly once and one `schedule_ids[]` query (paged at limit=100) covers every row.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The action's lookahead in the bench, as the input and in milliseconds. */
export const LOOKAHEAD = '7d';
export const LOOKAHEAD_MS = 7 * DAY_MS;
/** The first shift starts this long after the company is made; the last ends this long before the lookahead. */
export const START_MARGIN_MS = 2 * HOUR_MS;
export const END_MARGIN_MS = 12 * HOUR_MS;
/** The action's default max-grant-duration (7d); every shift is shorter. */
export const MAX_GRANT_MS = 7 * DAY_MS;
export const RESOURCE = 'prod-db';

/** The sizes the bench measures: the 150-row company (3 schedules, 40 people), then larger ones. */
export const SIZES = Object.freeze([
  { rows: 150, schedules: 3, people: 40 },
  { rows: 1000, schedules: 10, people: 250 },
  { rows: 5000, schedules: 25, people: 1000 },
]);

/**
 * `total` split into `parts` counts that differ by at most one, larger first.
 * @param {number} total
 * @param {number} parts
 * @returns {number[]}
 */
export function split(total, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** @param {number} ms */
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * @param {{ rows: number, schedules: number, people: number, now?: number }} size
 */
export function makeCompany({ rows, schedules, people, now = Date.now() }) {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer: ${rows}`);
  if (!Number.isInteger(schedules) || schedules < 1) throw new RangeError(`schedules: ${schedules}`);
  if (!Number.isInteger(people) || people < 2 * schedules) {
    throw new RangeError(`people must be at least 2 per schedule: ${people} for ${schedules}`);
  }
  if (rows < schedules) throw new RangeError(`rows (${rows}) must be at least schedules (${schedules})`);
  // Whole minutes, so every instant prints the same in RFC3339 with and without offsets.
  const t0 = Math.ceil(now / 60_000) * 60_000;
  const shiftsPer = split(rows, schedules);
  const peoplePer = split(people, schedules);
  const span = LOOKAHEAD_MS - START_MARGIN_MS - END_MARGIN_MS;
  // Whole minutes; every schedule's shifts fit in the span.
  const shiftMs = Math.floor(span / Math.max(...shiftsPer) / 60_000) * 60_000;
  if (shiftMs < 60_000) throw new RangeError(`${rows} rows do not fit in the lookahead with minute shifts`);
  if (shiftMs >= MAX_GRANT_MS) throw new RangeError('shifts must be shorter than max-grant-duration');

  const users = [];
  const pdSchedules = [];
  const policies = [];
  /** @type {Array<{ userId: string, email: string, scheduleId: string, start: string, end: string }>} */
  const expected = [];
  let person = 0;
  for (let s = 0; s < schedules; s++) {
    const scheduleId = `PSCH${String(s).padStart(3, '0')}`;
    const members = [];
    for (let k = 0; k < /** @type {number} */ (peoplePer[s]); k++, person++) {
      const id = `PU${String(person).padStart(5, '0')}`;
      const email = `person${person}@example.com`;
      users.push({ id, name: `Person ${person}`, email });
      members.push({ id, email });
    }
    const entries = [];
    for (let k = 0; k < /** @type {number} */ (shiftsPer[s]); k++) {
      const member = /** @type {{ id: string, email: string }} */ (members[k % members.length]);
      const start = iso(t0 + START_MARGIN_MS + k * shiftMs);
      const end = iso(t0 + START_MARGIN_MS + (k + 1) * shiftMs);
      entries.push({ user: member.id, start, end });
      expected.push({ userId: member.id, email: member.email, scheduleId, start, end });
    }
    pdSchedules.push({ id: scheduleId, name: `Schedule ${s}`, time_zone: 'UTC', entries });
    policies.push({
      id: `PEP${String(s).padStart(4, '0')}`,
      name: `Policy ${s}`,
      levels: [{ targets: [{ type: 'schedule', id: scheduleId }] }],
    });
  }
  const scheduleIds = pdSchedules.map((s) => s.id);
  return {
    rows,
    schedules,
    people,
    t0,
    shiftMs,
    /** What the action's query covers, as the seed asks for it: [now, now + lookahead]. */
    window: { since: iso(t0), until: iso(t0 + LOOKAHEAD_MS) },
    scheduleIds,
    resource: RESOURCE,
    expected,
    seed: {
      pagerduty: { users, schedules: pdSchedules, escalationPolicies: policies },
      strongdm: {
        users: users.map((u, i) => ({ firstName: 'Person', lastName: String(i), email: u.email })),
        resources: [{ name: RESOURCE, kind: 'datasource' }],
      },
    },
    /** The action's inputs for this company (simple mode: one /oncalls query over every schedule). */
    inputs: {
      'schedule-ids': scheduleIds.join(', '),
      resources: RESOURCE,
      lookahead: LOOKAHEAD,
    },
  };
}
