// Pure planning, no I/O: desired windows (windows.ts) and the ledger in, the rows of this run out.
// desired windows, merged per strongDM account and resource, − ledger = what to grant; ledger grants that
// PagerDuty no longer backs are stale.
import { asciiLowerCase, commandArgumentProblem } from './text.js';
import { mergeWindows, type DesiredWindow } from './windows.js';
import type {
  LedgerEntry,
  PendingGrantRow,
  PendingRevokeRow,
  Person,
  PlanRow,
  SkippedRow,
  StaleRow,
  UnchangedRow,
} from './types.js';

export interface Account {
  sdmEmail?: string; // the strongDM account's spelling, used on the command line
  skipReason?: string;
  missingUser: boolean; // no strongDM account with that email
}

const SECOND = 1000;

/**
 * Which strongDM account a PagerDuty person is. `user-map` (by PagerDuty user ID or email) first, then the same
 * email; matched case-insensitively in ASCII only. `sdmEmails` undefined: accounts could not be checked (dry run,
 * no token).
 *
 * A PagerDuty email with non-ASCII characters is skipped, not matched: Unicode case folding or NFKC would make
 * look-alikes equal (the Kelvin sign "\u212Aate@x".toLowerCase() is "kate@x", a fullwidth "ｋ" NFKC-normalises to
 * "k"), so a PagerDuty user could be given someone else's strongDM account by choosing such an email. Real
 * strongDM emails are ASCII in practice; a person whose email is not is mapped in user-map, which an admin writes
 * (and which is then compared exactly, but for ASCII letter case).
 */
export function resolveAccount(
  person: Person,
  userMap: Map<string, string>,
  sdmEmails: StrongDmEmails | undefined,
): Account {
  const mapped =
    userMap.get(asciiLowerCase(person.pagerdutyUserId)) ??
    (person.email ? userMap.get(asciiLowerCase(person.email)) : undefined);
  const email = mapped ?? person.email;
  if (!email)
    return {
      skipReason: 'PagerDuty has no email address for this user; add them to user-map',
      missingUser: false,
    };
  const unsafe = commandArgumentProblem(email) ?? (email.includes('@') ? undefined : 'has no "@"');
  if (unsafe) return { skipReason: `the email ${unsafe}; it is not passed to sdm`, missingUser: false };
  if (!mapped && /[^\x20-\x7e]/.test(email)) {
    return { skipReason: 'the email has non-ASCII characters; map it in user-map', missingUser: false };
  }
  if (sdmEmails === undefined) return { sdmEmail: email, missingUser: false };
  const sdmEmail = sdmEmails.get(asciiLowerCase(email));
  if (!sdmEmail) {
    return {
      skipReason: mapped
        ? 'no strongDM user has the email user-map gives'
        : 'no strongDM user has this email; map it in user-map if it differs',
      missingUser: true,
    };
  }
  return { sdmEmail, missingUser: false };
}

/** strongDM's active users' emails by their ASCII lower case, each in strongDM's spelling. */
export type StrongDmEmails = ReadonlyMap<string, string>;

/** One lookup per person instead of a scan of every strongDM user (people × users grew quadratically). */
export function strongDmEmails(emails: readonly string[]): StrongDmEmails {
  const byLowerCase = new Map<string, string>();
  for (const email of emails) {
    const key = asciiLowerCase(email);
    if (!byLowerCase.has(key)) byLowerCase.set(key, email); // the first, as a scan would find it
  }
  return byLowerCase;
}

export interface ReconcileInput {
  windows: DesiredWindow[];
  accounts: Map<string, Account>; // by PagerDuty user ID
  ledger: LedgerEntry[]; // active entries (not revoked, not expired)
  now: Date;
  lookaheadMs: number;
  maxGrantMs: number;
  revokeStale: boolean;
  /**
   * No on-call matched the rules while on-call grants are in force: treat no on-call grant as stale (fail-safe
   * against an outage or a bad filter). Incident grants are judged unless `incidentJudged` says not.
   */
  failSafe: boolean;
  /**
   * Whether this run can judge a grant made for this incident (default: yes). Not when the open incidents could not
   * be read (a failed query is not "no incidents"), nor for an open incident whose on-call could not be checked.
   */
  incidentJudged?: (incidentId: string) => boolean;
  /** strongDM's active users, when they could be listed. */
  sdmEmails?: StrongDmEmails;
  /** revoke-stale is asked for but sdm cannot revoke: why, added to each stale grant's reason. */
  revokeUnavailable?: string;
  /**
   * The only resources a revocation may touch: those a current rule names and strongDM lists. Undefined: not
   * known (no sdm in this run), and nothing is applied anyway.
   */
  revocableResources?: Set<string>;
}

const pairKey = (email: string, resource: string) => `${asciiLowerCase(email)}\n${resource}`;

/**
 * Plan = desired − ledger, per strongDM account and resource:
 * - a ledger grant whose remaining time lies within the desired windows is `unchanged`;
 * - a ledger grant with time PagerDuty no longer backs is `stale` (`pending-revoke` with revoke-stale; the revoke
 *   command removes every temporary grant of that user to that resource, so the pair's other grants go too and
 *   their still-wanted time is granted again);
 * - desired time not covered by kept grants becomes new grants (`pending`) for exactly the uncovered part, in
 *   pieces of at most maxGrantMs, for pieces that start within the lookahead (later pieces: a later run);
 * - people without a usable account are `skipped`.
 */
export function reconcile(input: ReconcileInput): PlanRow[] {
  const nowMs = Math.floor(input.now.getTime() / SECOND) * SECOND;
  const horizon = nowMs + input.lookaheadMs;
  const activeEmails = input.sdmEmails;
  const { desiredByPair, ledgerByPair } = groupByPair(input);
  const rows: PlanRow[] = [];
  for (const key of new Set([...desiredByPair.keys(), ...ledgerByPair.keys()])) {
    const windows = desiredByPair.get(key) ?? [];
    // Merged apart, so that a grant made for an incident says so (and renews as one) and a shift's says not.
    const wanted = {
      onCall: mergeWindows(windows.filter((window) => !window.source.incident)),
      byIncident: mergeWindows(windows.filter((window) => window.source.incident)),
    };
    const desired = mergeWindows(windows); // all the time PagerDuty backs, for judging recorded grants
    const first = desired[0];
    const sdmEmail = first ? input.accounts.get(first.pagerdutyUserId)?.sdmEmail : undefined;
    if (first && !sdmEmail) {
      rows.push(...skippedRows([...wanted.onCall, ...wanted.byIncident], input));
      continue;
    }
    const recorded = planRecordedGrants(
      ledgerByPair.get(key) ?? [],
      desired,
      input,
      activeEmails,
      nowMs,
      horizon,
    );
    rows.push(...recorded.rows);
    if (sdmEmail) rows.push(...grantRows(wanted, sdmEmail, recorded, input.maxGrantMs, horizon));
  }
  return sortRows(rows);
}

/** Desired windows and ledger entries by strongDM account and resource (two PagerDuty users may be one account). */
function groupByPair(input: ReconcileInput): {
  desiredByPair: Map<string, DesiredWindow[]>;
  ledgerByPair: Map<string, LedgerEntry[]>;
} {
  const desiredByPair = new Map<string, DesiredWindow[]>();
  for (const window of input.windows) {
    const sdmEmail = input.accounts.get(window.pagerdutyUserId)?.sdmEmail;
    const key = sdmEmail
      ? pairKey(sdmEmail, window.resource)
      : `pd:${window.pagerdutyUserId}\n${window.resource}`;
    appendTo(desiredByPair, key, window);
  }
  const ledgerByPair = new Map<string, LedgerEntry[]>();
  for (const entry of input.ledger) {
    const key = pairKey(entry.email, entry.resource);
    appendTo(ledgerByPair, key, entry);
  }
  return { desiredByPair, ledgerByPair };
}

/** A person on call without a usable strongDM account: one row per window, with why. */
function skippedRows(desired: DesiredWindow[], input: ReconcileInput): SkippedRow[] {
  return desired.map((window) => {
    const account = input.accounts.get(window.pagerdutyUserId);
    return {
      ...personOf(window),
      sdmEmail: undefined,
      resource: window.resource,
      rule: window.rule,
      source: window.source,
      from: new Date(window.from),
      until: new Date(Math.min(window.until, window.from + input.maxGrantMs)),
      status: 'skipped',
      reason: account?.skipReason ?? 'no strongDM account',
      missingUser: account?.missingUser ?? false,
    };
  });
}

interface RecordedGrantsPlan {
  rows: PlanRow[];
  /** Entries that stay in force: new grants cover only what they do not. */
  kept: LedgerEntry[];
  /** The pair's grants are all revoked: its wanted time is granted again. */
  revokePair: boolean;
}

/** Can this run judge the grant? Not an on-call grant under the fail-safe, nor an incident grant it cannot see. */
function judgeable(entry: LedgerEntry, input: ReconcileInput): boolean {
  const { incident } = entry.source;
  if (!incident) return !input.failSafe;
  return input.incidentJudged?.(incident.id) ?? true;
}

/** Recorded grants with time PagerDuty no longer backs, among those this run can judge. */
function staleEntries(
  entries: LedgerEntry[],
  desired: DesiredWindow[],
  input: ReconcileInput,
  accountGone: (entry: LedgerEntry) => boolean,
  nowMs: number,
  horizon: number,
): Set<LedgerEntry> {
  return new Set(
    entries.filter((entry) => {
      if (!judgeable(entry, input)) return false;
      if (accountGone(entry)) return false;
      const from = Math.max(Date.parse(entry.from), nowMs);
      if (Date.parse(entry.from) >= horizon) return false; // beyond what this run can see: not judged
      return !covered(from, Date.parse(entry.until), desired);
    }),
  );
}

/** What becomes of one pair's recorded grants: unchanged, stale, ended with the account, or revoked. */
function planRecordedGrants(
  entries: LedgerEntry[],
  desired: DesiredWindow[],
  input: ReconcileInput,
  activeEmails: StrongDmEmails | undefined, // undefined: not known
  nowMs: number,
  horizon: number,
): RecordedGrantsPlan {
  // A grant of an account strongDM no longer has (deleted or suspended) ended with it: nothing to revoke.
  const accountGone = (entry: LedgerEntry) =>
    activeEmails !== undefined && !activeEmails.has(asciiLowerCase(entry.email));
  const stale = staleEntries(entries, desired, input, accountGone, nowMs, horizon);
  // The revoke command ends every grant of the pair, live sessions included. While a grant PagerDuty still backs
  // is in force, a stale grant that has not started yet waits: it is revoked once the one in force has ended.
  const inForceAndBacked = entries.some(
    (entry) => !stale.has(entry) && !accountGone(entry) && Date.parse(entry.from) <= nowMs,
  );
  const deferred = inForceAndBacked && [...stale].every((entry) => Date.parse(entry.from) > nowMs);
  // Nor may it end a grant that this run cannot judge, in force or to come: it could not grant that time again.
  const holdsUnjudged = entries.some(
    (entry) => !judgeable(entry, input) && !accountGone(entry) && nowMs < Date.parse(entry.until),
  );
  const resource = entries[0]?.resource ?? '';
  const revocable = !input.revocableResources || input.revocableResources.has(resource);
  const revokePair = input.revokeStale && revocable && stale.size > 0 && !deferred && !holdsUnjudged;

  const rows = entries.map((entry): PlanRow => {
    if (accountGone(entry)) {
      return {
        ...rowFromEntry(
          entry,
          'stale',
          'strongDM has no active user with this email any more; the grant ended with the account',
        ),
        accountGone: true,
      };
    }
    if (stale.has(entry)) {
      let reason = entry.source.incident
        ? `incident #${entry.source.incident.number} is resolved, reassigned or no longer matches the rule, or its assignee is no longer on call`
        : 'PagerDuty no longer has this person on call for all of this grant (override, swap or change)';
      if (input.revokeStale && deferred) {
        reason += '; it is revoked once the grant in force ends (revoking now would end that one too)';
      } else if (input.revokeStale && holdsUnjudged) {
        reason +=
          '; not revoked in this run: revoking would also end a grant of this resource that this run cannot judge';
      }
      if (input.revokeUnavailable) reason += `; ${input.revokeUnavailable}`;
      else if (input.revokeStale && !revocable) {
        reason += '; not revoked: no rule names this resource now, or strongDM does not list it';
      }
      return { ...rowFromEntry(entry, revokePair ? 'pending-revoke' : 'stale', reason), unbacked: true };
    }
    if (revokePair) {
      return rowFromEntry(
        entry,
        'pending-revoke',
        'revoked together with a stale grant of the same user and resource; the time still wanted is granted again',
      );
    }
    return rowFromEntry(entry, 'unchanged', '');
  });
  return { rows, kept: revokePair ? [] : entries.filter((entry) => !accountGone(entry)), revokePair };
}

/**
 * Desired time that the kept grants do not cover, in pieces of at most maxGrantMs starting before the horizon;
 * incident time only where no on-call window covers it, so the two never overlap.
 */
function grantRows(
  wanted: { onCall: DesiredWindow[]; byIncident: DesiredWindow[] },
  sdmEmail: string,
  recorded: RecordedGrantsPlan,
  maxGrantMs: number,
  horizon: number,
): PendingGrantRow[] {
  const keptSpans = recorded.kept.map((entry) => [Date.parse(entry.from), Date.parse(entry.until)] as const);
  const onCallSpans = wanted.onCall.map((window) => [window.from, window.until] as const);
  const toGrant = [
    ...wanted.onCall.map((window) => ({ window, taken: keptSpans })),
    ...wanted.byIncident.map((window) => ({ window, taken: [...keptSpans, ...onCallSpans] })),
  ];
  const rows: PendingGrantRow[] = [];
  for (const { window, taken } of toGrant) {
    for (const [gapFrom, gapUntil] of subtract(window.from, window.until, taken)) {
      if (window.renewBefore !== undefined && gapFrom >= window.renewBefore) continue; // renewed by a later run
      for (let cursor = gapFrom; cursor < gapUntil && cursor < horizon;) {
        const end = Math.min(gapUntil, cursor + maxGrantMs);
        rows.push({
          ...personOf(window),
          sdmEmail,
          resource: window.resource,
          rule: window.rule,
          source: window.source,
          from: new Date(cursor),
          until: new Date(end),
          status: 'pending',
          reason: recorded.revokePair ? 'granted again after revoking a stale grant' : '',
          missingUser: false,
        });
        cursor = end;
      }
    }
  }
  return rows;
}

/** Appends in place: copying the list on every append made large ledgers quadratic. */
function appendTo<T>(groups: Map<string, T[]>, key: string, item: T): void {
  const group = groups.get(key);
  if (group) group.push(item);
  else groups.set(key, [item]);
}

function personOf(window: DesiredWindow): Person {
  return { pagerdutyUserId: window.pagerdutyUserId, name: window.name, email: window.email };
}

/** The row of a recorded grant; its status says what becomes of it. */
function rowFromEntry<S extends (UnchangedRow | StaleRow | PendingRevokeRow)['status']>(
  entry: LedgerEntry,
  status: S,
  reason: string,
): Extract<PlanRow, { status: S }> {
  return {
    pagerdutyUserId: entry.pagerdutyUserId,
    name: entry.name,
    email: entry.email,
    sdmEmail: entry.email,
    resource: entry.resource,
    rule: entry.rule,
    source: entry.source,
    from: new Date(entry.from),
    until: new Date(entry.until),
    status,
    reason,
    missingUser: false,
    ledgerEntry: entry,
  } as Extract<PlanRow, { status: S }>;
}

/** Is [from, until] inside the union of the (merged, non-touching) windows? */
function covered(from: number, until: number, windows: Array<{ from: number; until: number }>): boolean {
  if (until <= from) return true;
  return windows.some((window) => window.from <= from && until <= window.until);
}

/** [from, until] minus the spans, as sorted pieces. */
export function subtract(
  from: number,
  until: number,
  spans: ReadonlyArray<readonly [number, number]>,
): Array<[number, number]> {
  let pieces: Array<[number, number]> = [[from, until]];
  for (const [spanFrom, spanUntil] of spans) {
    pieces = pieces.flatMap(([a, b]): Array<[number, number]> => {
      if (spanUntil <= a || spanFrom >= b) return [[a, b]];
      const out: Array<[number, number]> = [];
      if (spanFrom > a) out.push([a, spanFrom]);
      if (spanUntil < b) out.push([spanUntil, b]);
      return out;
    });
  }
  return pieces.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
}

function sortRows(rows: PlanRow[]): PlanRow[] {
  return rows.sort(
    (a, b) =>
      a.from.getTime() - b.from.getTime() ||
      a.name.localeCompare(b.name) ||
      a.pagerdutyUserId.localeCompare(b.pagerdutyUserId) ||
      a.resource.localeCompare(b.resource),
  );
}

/** RFC3339 in UTC without fractions, the form `sdm --from/--until`, the ledger and the `plan` output use. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
