// @ts-check
/**
 * Seed organisations for the fake PagerDuty (./pagerduty.mjs) and the strongDM side, built
 * relative to a given `now` and deterministic for it. Plain JavaScript: also used by scripts/demo.mjs.
 */
import { formatInZone, zonedTimeToUtc } from './pagerduty.mjs';

/** The account time zone the seeds are designed around (the fake's default too). */
export const ACCOUNT_TIME_ZONE = 'America/New_York';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * @typedef {import('./pagerduty.mjs').PagerDutyOrg} PagerDutyOrg
 * @typedef {import('./pagerduty.mjs').SeedUser} SeedUser
 *
 * @typedef {object} StrongdmUser
 * @property {string} id `a-` + 16 hex
 * @property {string} firstName
 * @property {string} lastName
 * @property {string} email
 *
 * @typedef {object} StrongdmResource
 * @property {string} id `rs-` + 16 hex
 * @property {string} name
 * @property {'datasource' | 'server' | 'cluster'} kind
 *
 * @typedef {object} StrongdmOrg
 * @property {StrongdmUser[]} users
 * @property {StrongdmResource[]} resources
 *
 * @typedef {object} SeedOrg
 * @property {PagerDutyOrg} pagerduty
 * @property {StrongdmOrg} strongdm
 * @property {Record<string, unknown>} facts what the seed was built to contain (for tests and the demo)
 */

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/**
 * 64-bit-ish FNV-1a as 16 hex digits: deterministic fake strongDM ids.
 * @param {string} text
 */
function hex16(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 2 * i + 1) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/**
 * A PagerDuty-looking id (P + 6 upper-case alphanumerics) derived from a string.
 * @param {string} text
 */
function pdId(text) {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  let n = BigInt(`0x${hex16(text)}`);
  let id = 'P';
  for (let i = 0; i < 6; i++) {
    id += alphabet[Number(n % 34n)];
    n /= 34n;
  }
  return id;
}

/**
 * @typedef {object} Person
 * @property {string} id PagerDuty user id
 * @property {string} firstName
 * @property {string} lastName
 * @property {string} email as in PagerDuty
 * @property {string} timeZone
 * @property {string | null} [strongdmEmail] email in strongDM; null = absent from strongDM
 * @property {boolean} [omitEmailInInclude]
 */

/**
 * @param {string} id
 * @param {string} fullName "First Last"
 * @param {string} timeZone
 * @param {Partial<Person>} [extra]
 * @returns {Person}
 */
function person(id, fullName, timeZone, extra = {}) {
  const [firstName = '', ...rest] = fullName.split(' ');
  const lastName = rest.join(' ');
  const email = `${firstName}.${lastName.replace(/\s+/g, '')}@example.com`.toLowerCase();
  return { id, firstName, lastName, email, timeZone, ...extra };
}

/**
 * @param {Person} p
 * @returns {SeedUser}
 */
function pagerdutyUser(p) {
  return {
    id: p.id,
    name: `${p.firstName} ${p.lastName}`,
    email: p.email,
    time_zone: p.timeZone,
    ...(p.omitEmailInInclude ? { omitEmailInInclude: true } : {}),
  };
}

/**
 * strongDM accounts of everyone not marked absent (strongdmEmail === null).
 * @param {Person[]} people
 * @returns {StrongdmUser[]}
 */
function strongdmUsers(people) {
  return people
    .filter((p) => p.strongdmEmail !== null)
    .map((p) => ({
      id: `a-${hex16(`account:${p.email}`)}`,
      firstName: p.firstName,
      lastName: p.lastName,
      email: p.strongdmEmail ?? p.email,
    }));
}

/**
 * The strongDM resources of both seed orgs, as (name, kind).
 * @type {Array<[string, StrongdmResource['kind']]>}
 */
const RESOURCES = [
  ['prod-postgres', 'datasource'],
  ['prod-redis', 'datasource'],
  ['bastion-prod', 'server'],
  ['k8s-prod', 'cluster'],
];

/**
 * @param {Array<[string, StrongdmResource['kind']]>} list
 * @returns {StrongdmResource[]}
 */
function resources(list) {
  return list.map(([name, kind]) => ({ id: `rs-${hex16(`resource:${name}`)}`, name, kind }));
}

/** @param {number} ms */
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * The first instant strictly after `now` at which the wall clock of `timeZone` shows `hour`:00.
 * @param {Date} now
 * @param {string} timeZone
 * @param {number} hour
 */
export function nextLocalTime(now, timeZone, hour) {
  const [year, month, day] = formatInZone(now.getTime(), timeZone).slice(0, 10).split('-').map(Number);
  for (let d = 0; d < 3; d++) {
    const t = zonedTimeToUtc({ year: year ?? 0, month: month ?? 1, day: (day ?? 1) + d, hour }, timeZone);
    if (t > now.getTime()) return t;
  }
  throw new Error('unreachable: no local time found within 3 days');
}

/**
 * Ids of all schedules of a seed (used or not), in declaration order.
 * @param {SeedOrg | PagerDutyOrg} seed
 */
export function scheduleIdsOf(seed) {
  const org = 'pagerduty' in seed ? seed.pagerduty : seed;
  return org.schedules.map((s) => s.id);
}

/**
 * Ids of the schedules some escalation policy uses (the ones that can appear in /oncalls).
 * @param {SeedOrg | PagerDutyOrg} seed
 */
export function usedScheduleIdsOf(seed) {
  const org = 'pagerduty' in seed ? seed.pagerduty : seed;
  const used = new Set(
    org.escalationPolicies.flatMap((ep) =>
      ep.levels.flatMap((l) => l.targets.filter((t) => t.type === 'schedule').map((t) => t.id)),
    ),
  );
  return org.schedules.map((s) => s.id).filter((id) => used.has(id));
}

// ---------------------------------------------------------------------------------------------
// demoOrg
// ---------------------------------------------------------------------------------------------

/** Fixed ids of the demo org, exported so tests and the demo can refer to them by name. */
export const DEMO = Object.freeze({
  users: Object.freeze({
    ada: 'PQ7LV2A',
    grace: 'PH0PR4G',
    alan: 'PT9RN6W',
    katherine: 'PJ5KX3N',
    linus: 'PL8TV1D',
    margaret: 'PM2HQ7C',
    barbara: 'PB6SK4Z',
    edsger: 'PD3JK9E',
    ken: 'PK1TH5M',
  }),
  schedules: Object.freeze({
    platformPrimary: 'PSX4R7Z',
    platformSecondary: 'PX8M2KD',
    database: 'PDB3N9W',
    weekendSupport: 'PWK6T1E',
  }),
  escalationPolicies: Object.freeze({
    platform: 'PPE2A7K',
    database: 'PDR5B3M',
  }),
});

/**
 * A small company (account zone America/New_York), relative to `now`:
 * - "Platform Primary" (PSX4R7Z): weekly rotation Ada → Grace → Alan → Katherine, handing over at the
 *   next 09:00 New York (21:00 when now is within 5 minutes of 09:00 or a DST day pushes 09:00 past
 *   now+24h), so a 24h lookahead sees Katherine then Ada.
 * - "Platform Secondary" (PX8M2KD): weekly, same handover, Grace then Alan.
 * - "Database On-Call" (PDB3N9W): 12h shifts anchored on the same handover, Barbara on
 *   call now, then Margaret, then Linus; an override by Grace for 4h starting 2h after the next full hour.
 * - "Weekend Support" (PWK6T1E): used by no policy, never in /oncalls.
 * - "Platform Engineering" (PPE2A7K): L1 Platform Primary, L2 Platform Secondary, L3 Edsger directly.
 * - "Database Reliability" (PDR5B3M): L1 Database On-Call, L2 Platform Primary (duplicate rows).
 * - Barbara Liskov is on call in PagerDuty but has no strongDM account; Grace's strongDM email is
 *   `Grace.Hopper@Example.com`; Margaret has `omitEmailInInclude` (client must fall back to GET /users/{id}).
 * @param {Date} now
 * @returns {SeedOrg}
 */
export function demoOrg(now) {
  const u = DEMO.users;
  const s = DEMO.schedules;
  const people = [
    person(u.ada, 'Ada Lovelace', 'Europe/London'),
    person(u.grace, 'Grace Hopper', 'America/New_York', { strongdmEmail: 'Grace.Hopper@Example.com' }),
    person(u.alan, 'Alan Turing', 'Europe/London'),
    person(u.katherine, 'Katherine Johnson', 'America/New_York'),
    person(u.linus, 'Linus Torvalds', 'America/Los_Angeles'),
    person(u.margaret, 'Margaret Hamilton', 'America/New_York', { omitEmailInInclude: true }),
    person(u.barbara, 'Barbara Liskov', 'America/Chicago', { strongdmEmail: null }),
    person(u.edsger, 'Edsger Dijkstra', 'Europe/Amsterdam'),
    person(u.ken, 'Ken Thompson', 'America/Los_Angeles'),
  ];

  const t = now.getTime();
  let handover = nextLocalTime(now, ACCOUNT_TIME_ZONE, 9);
  if (handover - t < 5 * MINUTE_MS || handover - t > DAY_MS - 5 * MINUTE_MS) {
    handover = nextLocalTime(now, ACCOUNT_TIME_ZONE, 21);
  }
  const overrideStart = Math.ceil(t / HOUR_MS) * HOUR_MS + 2 * HOUR_MS;
  const overrideEnd = overrideStart + 4 * HOUR_MS;
  const week = 7 * 24 * 60;
  // Database shifts: 12h, anchored on the handover, ordered so that Barbara (no strongDM account)
  // holds the shift that contains `now` and Margaret (omitEmailInInclude) the next one, always within 24h.
  const dbShift = 12 * HOUR_MS;
  const current = ((Math.floor((t - handover) / dbShift) % 3) + 3) % 3;
  const dbUsers = [u.barbara, u.margaret, u.linus];
  const dbRotation = [0, 1, 2].map((i) => /** @type {string} */ (dbUsers[(i - current + 3) % 3]));

  /** @type {PagerDutyOrg} */
  const pagerduty = {
    subdomain: 'acme',
    users: people.map(pagerdutyUser),
    schedules: [
      {
        id: s.platformPrimary,
        name: 'Platform Primary',
        time_zone: ACCOUNT_TIME_ZONE,
        rotation: { start: iso(handover), shiftMinutes: week, users: [u.ada, u.grace, u.alan, u.katherine] },
      },
      {
        id: s.platformSecondary,
        name: 'Platform Secondary',
        time_zone: ACCOUNT_TIME_ZONE,
        rotation: { start: iso(handover), shiftMinutes: week, users: [u.alan, u.katherine, u.ada, u.grace] },
      },
      {
        id: s.database,
        name: 'Database On-Call',
        time_zone: ACCOUNT_TIME_ZONE,
        rotation: { start: iso(handover), shiftMinutes: 12 * 60, users: dbRotation },
        overrides: [{ user: u.grace, start: iso(overrideStart), end: iso(overrideEnd) }],
      },
      {
        id: s.weekendSupport,
        name: 'Weekend Support',
        time_zone: ACCOUNT_TIME_ZONE,
        rotation: { start: iso(handover), shiftMinutes: 24 * 60, users: [u.ken, u.ada] },
      },
    ],
    escalationPolicies: [
      {
        id: DEMO.escalationPolicies.platform,
        name: 'Platform Engineering',
        levels: [
          { targets: [{ type: 'schedule', id: s.platformPrimary }] },
          { targets: [{ type: 'schedule', id: s.platformSecondary }] },
          { targets: [{ type: 'user', id: u.edsger }] },
        ],
      },
      {
        id: DEMO.escalationPolicies.database,
        name: 'Database Reliability',
        levels: [
          { targets: [{ type: 'schedule', id: s.database }] },
          { targets: [{ type: 'schedule', id: s.platformPrimary }] },
        ],
      },
    ],
  };

  return {
    pagerduty,
    strongdm: {
      users: strongdmUsers(people),
      resources: resources(RESOURCES),
    },
    facts: {
      primaryHandover: iso(handover),
      override: { user: u.grace, schedule: s.database, start: iso(overrideStart), end: iso(overrideEnd) },
      permanentlyOnCall: [u.edsger],
      missingFromStrongdm: [u.barbara],
      caseDifferingEmail: { pagerduty: 'grace.hopper@example.com', strongdm: 'Grace.Hopper@Example.com' },
      omitEmailInInclude: [u.margaret],
      unusedSchedules: [s.weekendSupport],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// bigOrg
// ---------------------------------------------------------------------------------------------

const ZONES = [
  'America/New_York',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Australia/Sydney',
  'America/Los_Angeles',
];

const BIG_NAMES = [
  'Frances Allen',
  'John Backus',
  'Leslie Lamport',
  'Radia Perlman',
  'Donald Knuth',
  'Shafi Goldwasser',
  'Tony Hoare',
  'Adele Goldberg',
  'Niklaus Wirth',
  'Jean Sammet',
];

/**
 * A "follow the sun" org whose 24h lookahead needs more than one page of 100:
 * - "Follow the Sun - Primary": 1-hour shifts rotating through 10 people (anchored on the hour),
 *   used by "Core Services" L1 and by "Payments" at L1 and L2;
 * - "Follow the Sun - Shadow": the same people shifted by 5, used by "Core Services" L2 and by
 *   "Data Platform" at L1 and L2; "Data Platform" L3 targets Barbara Liskov (manager) directly.
 * A [now, now+24h] window yields 6 × 25 + 1 = 151 rows (6 × 24 + 1 = 145 when now is on the hour).
 * Everyone has a strongDM account.
 * @param {Date} now
 * @returns {SeedOrg}
 */
export function bigOrg(now) {
  const engineers = BIG_NAMES.map((name, i) =>
    person(pdId(`big:${name}`), name, ZONES[i % ZONES.length] ?? 'UTC'),
  );
  const manager = person(pdId('big:Barbara Liskov'), 'Barbara Liskov', 'America/Chicago');
  const ids = engineers.map((p) => p.id);
  const anchor = iso(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
  const primary = pdId('big:schedule:primary');
  const shadow = pdId('big:schedule:shadow');
  /** @param {string} id */
  const sched = (id) => ({ targets: [{ type: /** @type {const} */ ('schedule'), id }] });

  /** @type {PagerDutyOrg} */
  const pagerduty = {
    subdomain: 'bigcorp',
    users: [...engineers, manager].map(pagerdutyUser),
    schedules: [
      {
        id: primary,
        name: 'Follow the Sun - Primary',
        rotation: { start: anchor, shiftMinutes: 60, users: ids },
      },
      {
        id: shadow,
        name: 'Follow the Sun - Shadow',
        rotation: { start: anchor, shiftMinutes: 60, users: [...ids.slice(5), ...ids.slice(0, 5)] },
      },
    ],
    escalationPolicies: [
      { id: pdId('big:ep:core'), name: 'Core Services', levels: [sched(primary), sched(shadow)] },
      { id: pdId('big:ep:payments'), name: 'Payments', levels: [sched(primary), sched(primary)] },
      {
        id: pdId('big:ep:data'),
        name: 'Data Platform',
        levels: [sched(shadow), sched(shadow), { targets: [{ type: 'user', id: manager.id }] }],
      },
    ],
  };

  return {
    pagerduty,
    strongdm: {
      users: strongdmUsers([...engineers, manager]),
      resources: resources(RESOURCES),
    },
    facts: {
      rotationAnchor: anchor,
      expectedRowsNext24h: now.getTime() % HOUR_MS === 0 ? 145 : 151,
    },
  };
}
