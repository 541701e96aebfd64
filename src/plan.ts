// Pure planning, no I/O: PagerDuty on-calls and the ledger in, the rows of this run out.
// desired windows (rules, lead/grace, merged per strongDM account and resource) − ledger = what to grant;
// ledger grants that PagerDuty no longer backs are stale.
import { unsafeArgumentReason } from './inputs.js';
import type { LedgerEntry } from './ledger.js';
import type { OnCallRow } from './pagerduty.js';
import type { Rule } from './rules.js';

export type RowStatus = 'granted' | 'would-grant' | 'skipped' | 'failed' | 'unchanged' | 'stale' | 'revoked';

/** Why a person is on call: the schedule (or the policy, for a direct target) and level. */
export interface OnCallSource {
  scheduleId: string | null;
  scheduleName: string;
  escalationPolicyId: string;
  escalationPolicyName: string;
  escalationLevel: number;
}

export interface Person {
  pagerdutyUserId: string;
  name: string;
  email: string | undefined; // as PagerDuty knows it
}

/** A span of time someone should hold a resource; `until` may be Infinity for open-ended on-calls. */
export interface DesiredWindow extends Person {
  resource: string;
  rule: string;
  source: OnCallSource;
  from: number;
  until: number;
}

export interface Account {
  sdmEmail?: string; // the strongDM account's spelling, used on the command line
  skipReason?: string;
  missingUser: boolean; // no strongDM account with that email
}

export interface PlanRow extends Person {
  sdmEmail: string | undefined;
  resource: string;
  rule: string;
  source: OnCallSource;
  from: Date;
  until: Date;
  status: RowStatus | 'pending' | 'pending-revoke';
  reason: string;
  missingUser: boolean;
  ledgerEntry?: LedgerEntry; // for unchanged, stale and revoked rows
  accountGone?: boolean; // a ledger grant whose strongDM account no longer exists: record it as ended
  deferred?: boolean; // refused while the same user held another grant of the resource: a later run tries again
}

const SECOND = 1000;

export function ruleMatches(rule: Rule, row: OnCallRow): boolean {
  const schedule = row.schedule?.id ?? 'null';
  return (
    (rule.schedules.length === 0 || rule.schedules.includes(schedule)) &&
    (rule.escalationPolicies.length === 0 || rule.escalationPolicies.includes(row.escalationPolicy.id)) &&
    (rule.escalationLevels.length === 0 || rule.escalationLevels.includes(row.escalationLevel))
  );
}

/**
 * The /oncalls queries that cover every rule. PagerDuty intersects different filters, so schedules and escalation
 * policies are asked separately (each a union); a rule with both is checked row by row in ruleMatches.
 */
export function onCallQueries(
  rules: Rule[],
): Array<{ scheduleIds?: string[]; escalationPolicyIds?: string[] }> {
  const scheduleIds = [
    ...new Set(rules.filter((r) => r.escalationPolicies.length === 0).flatMap((r) => r.schedules)),
  ];
  const escalationPolicyIds = [...new Set(rules.flatMap((r) => r.escalationPolicies))];
  return [
    ...(scheduleIds.length > 0 ? [{ scheduleIds }] : []),
    ...(escalationPolicyIds.length > 0 ? [{ escalationPolicyIds }] : []),
  ];
}

/** The same row can come from both queries. */
export function dedupeOnCalls(rows: OnCallRow[]): OnCallRow[] {
  const seen = new Map<string, OnCallRow>();
  for (const row of rows) {
    const key = [
      row.escalationPolicy.id,
      row.escalationLevel,
      row.user.id,
      row.schedule?.id ?? '',
      row.start?.getTime() ?? '',
      row.end?.getTime() ?? '',
    ].join('|');
    if (!seen.has(key)) seen.set(key, row);
  }
  return [...seen.values()];
}

/**
 * Every (on-call row × matching rule × resource) as a window: lead time before, grace period after, clamped to
 * now; an open start or end stays open (Infinity) for the planner to bound.
 */
export function desiredWindows(options: {
  oncalls: OnCallRow[];
  rules: Rule[];
  now: Date;
  leadMs: number;
  graceMs: number;
}): DesiredWindow[] {
  const nowMs = Math.floor(options.now.getTime() / SECOND) * SECOND;
  const windows: DesiredWindow[] = [];
  for (const row of options.oncalls) {
    const from = Math.max(row.start ? row.start.getTime() - options.leadMs : -Infinity, nowMs);
    const until = row.end ? Math.ceil((row.end.getTime() + options.graceMs) / SECOND) * SECOND : Infinity;
    if (until <= from) continue; // already over
    for (const rule of options.rules) {
      if (!ruleMatches(rule, row)) continue;
      for (const resource of rule.resources) {
        windows.push({
          pagerdutyUserId: row.user.id,
          name: row.user.name,
          email: row.user.email,
          resource,
          rule: rule.name,
          source: {
            scheduleId: row.schedule?.id ?? null,
            scheduleName: row.schedule?.name ?? '',
            escalationPolicyId: row.escalationPolicy.id,
            escalationPolicyName: row.escalationPolicy.name,
            escalationLevel: row.escalationLevel,
          },
          from,
          until,
        });
      }
    }
  }
  return windows;
}

/** Merges overlapping or touching windows; the merged one keeps the most urgent (lowest level) source and its rule. */
export function mergeWindows<T extends { from: number; until: number; source: OnCallSource; rule: string }>(
  windows: T[],
): T[] {
  const sorted = [...windows].sort((a, b) => a.from - b.from || a.until - b.until);
  const merged: T[] = [];
  for (const window of sorted) {
    const last = merged[merged.length - 1];
    if (last && window.from <= last.until) {
      last.until = Math.max(last.until, window.until);
      if (compareSources(window.source, last.source) < 0) {
        last.source = window.source;
        last.rule = window.rule;
      }
    } else {
      merged.push({ ...window });
    }
  }
  return merged;
}

function compareSources(a: OnCallSource, b: OnCallSource): number {
  return (
    a.escalationLevel - b.escalationLevel ||
    a.scheduleName.localeCompare(b.scheduleName) ||
    a.escalationPolicyName.localeCompare(b.escalationPolicyName)
  );
}

/**
 * Which strongDM account a PagerDuty person is. `user-map` (by PagerDuty user ID or email) first, then the same
 * email; matched case-insensitively. `sdmEmails` undefined: accounts could not be checked (dry run, no token).
 */
export function resolveAccount(
  person: Person,
  userMap: Map<string, string>,
  sdmEmails: string[] | undefined,
): Account {
  const mapped =
    userMap.get(person.pagerdutyUserId.toLowerCase()) ??
    (person.email ? userMap.get(person.email.toLowerCase()) : undefined);
  const email = mapped ?? person.email;
  if (!email)
    return {
      skipReason: 'PagerDuty has no email address for this user; add them to user-map',
      missingUser: false,
    };
  const unsafe = unsafeArgumentReason(email) ?? (email.includes('@') ? undefined : 'has no "@"');
  if (unsafe) return { skipReason: `the email ${unsafe}; it is not passed to sdm`, missingUser: false };
  if (sdmEmails === undefined) return { sdmEmail: email, missingUser: false };
  const sdmEmail = sdmEmails.find((candidate) => candidate.toLowerCase() === email.toLowerCase());
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

export interface ReconcileInput {
  windows: DesiredWindow[];
  accounts: Map<string, Account>; // by PagerDuty user ID
  ledger: LedgerEntry[]; // active entries (not revoked, not expired)
  now: Date;
  lookaheadMs: number;
  maxGrantMs: number;
  revokeStale: boolean;
  /** PagerDuty returned no on-call at all: treat nothing as stale (fail-safe against an outage or a bad filter). */
  failSafe: boolean;
  /** strongDM's active users, when they could be listed. */
  sdmEmails?: string[];
}

const pairKey = (email: string, resource: string) => `${email.toLowerCase()}\n${resource}`;

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
  const rows: PlanRow[] = [];

  // Group desired windows by account and resource (two PagerDuty users may be one strongDM account).
  const pairs = new Map<string, DesiredWindow[]>();
  for (const window of input.windows) {
    const account = input.accounts.get(window.pagerdutyUserId) ?? {
      missingUser: false,
      skipReason: 'not checked',
    };
    if (!account.sdmEmail) {
      const key = `pd:${window.pagerdutyUserId}\n${window.resource}`;
      pairs.set(key, [...(pairs.get(key) ?? []), window]);
      continue;
    }
    const key = pairKey(account.sdmEmail, window.resource);
    pairs.set(key, [...(pairs.get(key) ?? []), window]);
  }
  const ledgerByPair = new Map<string, LedgerEntry[]>();
  for (const entry of input.ledger) {
    const key = pairKey(entry.email, entry.resource);
    ledgerByPair.set(key, [...(ledgerByPair.get(key) ?? []), entry]);
  }

  for (const key of new Set([...pairs.keys(), ...ledgerByPair.keys()])) {
    const desired = mergeWindows(pairs.get(key) ?? []);
    const first = desired[0];
    const account = first ? input.accounts.get(first.pagerdutyUserId) : undefined;
    if (first && !account?.sdmEmail) {
      for (const window of desired) {
        rows.push({
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
        });
      }
      continue;
    }

    const entries = ledgerByPair.get(key) ?? [];
    // A grant of an account strongDM no longer has (deleted or suspended) ended with it: nothing to revoke.
    const accountGone = (entry: LedgerEntry) =>
      input.sdmEmails !== undefined &&
      !input.sdmEmails.some((email) => email.toLowerCase() === entry.email.toLowerCase());
    const stale = input.failSafe
      ? []
      : entries.filter((entry) => {
          if (accountGone(entry)) return false;
          const from = Math.max(Date.parse(entry.from), nowMs);
          if (Date.parse(entry.from) >= horizon) return false; // beyond what this run can see: not judged
          return !covered(from, Date.parse(entry.until), desired);
        });
    // The revoke command ends every grant of the pair, live sessions included. While a grant PagerDuty still backs
    // is in force, a stale grant that has not started yet waits: it is revoked once the one in force has ended.
    const inForceAndBacked = entries.some(
      (entry) => !stale.includes(entry) && !accountGone(entry) && Date.parse(entry.from) <= nowMs,
    );
    const deferred = inForceAndBacked && stale.every((entry) => Date.parse(entry.from) > nowMs);
    const revokePair = input.revokeStale && stale.length > 0 && !deferred;
    const kept = revokePair ? [] : entries.filter((entry) => !accountGone(entry));

    for (const entry of entries) {
      let status: PlanRow['status'] = 'unchanged';
      let reason = '';
      let ended = false;
      if (accountGone(entry)) {
        status = 'stale';
        reason = 'strongDM has no active user with this email any more; the grant ended with the account';
        ended = true;
      } else if (stale.includes(entry)) {
        status = revokePair ? 'pending-revoke' : 'stale';
        reason =
          'PagerDuty no longer has this person on call for all of this grant (override, swap or change)';
        if (input.revokeStale && deferred) {
          reason += '; it is revoked once the grant in force ends (revoking now would end that one too)';
        }
      } else if (revokePair) {
        status = 'pending-revoke';
        reason =
          'revoked together with a stale grant of the same user and resource; the on-call time is granted again';
      }
      rows.push({ ...rowFromEntry(entry, status, reason), ...(ended ? { accountGone: true } : {}) });
    }

    if (!first || !account?.sdmEmail) continue;
    const keptSpans = kept.map((entry) => [Date.parse(entry.from), Date.parse(entry.until)] as const);
    for (const window of desired) {
      for (const [gapFrom, gapUntil] of subtract(window.from, window.until, keptSpans)) {
        for (let cursor = gapFrom; cursor < gapUntil && cursor < horizon;) {
          const end = Math.min(gapUntil, cursor + input.maxGrantMs);
          rows.push({
            ...personOf(window),
            sdmEmail: account.sdmEmail,
            resource: window.resource,
            rule: window.rule,
            source: window.source,
            from: new Date(cursor),
            until: new Date(end),
            status: 'pending',
            reason: revokePair ? 'granted again after revoking a stale grant' : '',
            missingUser: false,
          });
          cursor = end;
        }
      }
    }
  }
  return sortRows(rows);
}

function personOf(window: DesiredWindow): Person {
  return { pagerdutyUserId: window.pagerdutyUserId, name: window.name, email: window.email };
}

function rowFromEntry(entry: LedgerEntry, status: PlanRow['status'], reason: string): PlanRow {
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
  };
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

function sortRows<T extends PlanRow>(rows: T[]): T[] {
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
