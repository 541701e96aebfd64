// Pure planning: PagerDuty on-call rows in, bounded grant windows per person and resource out. No I/O here.
import { unsafeArgumentReason } from './inputs.js';
import type { OnCallRow } from './pagerduty.js';

export type RowStatus = 'granted' | 'would-grant' | 'skipped' | 'failed';

/** Why a person is on call: the schedule (or the policy, for a direct target) and level. */
export interface OnCallSource {
  scheduleId: string | null;
  scheduleName: string;
  escalationPolicyId: string;
  escalationPolicyName: string;
  escalationLevel: number;
}

export interface GrantWindow {
  pagerdutyUserId: string;
  name: string;
  email: string | undefined; // as PagerDuty knows it
  resource: string;
  from: Date;
  until: Date;
  source: OnCallSource; // the lowest escalation level among the merged shifts
}

export interface PlanRow extends GrantWindow {
  sdmEmail: string | undefined; // the strongDM account's spelling, used on the command line
  status: RowStatus | 'pending';
  reason: string;
  missingUser: boolean; // skipped because strongDM has no such account (fail-on: missing-user)
}

export interface PlanningInput {
  oncalls: OnCallRow[];
  resources: string[];
  now: Date;
  lookaheadMs: number;
}

const SECOND = 1000;

/**
 * Turns on-call rows into grant windows: clamp to [now, …], bound anything open-ended to now + lookahead,
 * then merge each person's identical, overlapping and touching shifts, and repeat for each resource.
 */
export function planGrantWindows({ oncalls, resources, now, lookaheadMs }: PlanningInput): GrantWindow[] {
  const nowMs = Math.floor(now.getTime() / SECOND) * SECOND;
  const horizonMs = nowMs + lookaheadMs;

  interface Shift {
    from: number;
    until: number;
    source: OnCallSource;
  }
  const people = new Map<string, { name: string; email: string | undefined; shifts: Shift[] }>();
  for (const row of oncalls) {
    const from = Math.max(row.start?.getTime() ?? nowMs, nowMs);
    // Open-ended on-calls (no end, or permanently on call) are bounded: nothing unbounded is ever granted.
    const until = Math.ceil((row.end?.getTime() ?? horizonMs) / SECOND) * SECOND;
    if (until <= from) continue; // already over
    const person = people.get(row.user.id) ?? { name: row.user.name, email: undefined, shifts: [] };
    person.email ??= row.user.email;
    person.shifts.push({
      from,
      until,
      source: {
        scheduleId: row.schedule?.id ?? null,
        scheduleName: row.schedule?.name ?? '',
        escalationPolicyId: row.escalationPolicy.id,
        escalationPolicyName: row.escalationPolicy.name,
        escalationLevel: row.escalationLevel,
      },
    });
    people.set(row.user.id, person);
  }

  const windows: GrantWindow[] = [];
  for (const [pagerdutyUserId, person] of people) {
    for (const merged of mergeShifts(person.shifts)) {
      for (const resource of resources) {
        windows.push({
          pagerdutyUserId,
          name: person.name,
          email: person.email,
          resource,
          from: new Date(merged.from),
          until: new Date(merged.until),
          source: merged.source,
        });
      }
    }
  }
  return sortWindows(windows);
}

/** Merges overlapping or touching shifts; the merged shift keeps the most urgent (lowest level) source. */
export function mergeShifts<T extends { from: number; until: number; source: OnCallSource }>(
  shifts: T[],
): T[] {
  const sorted = [...shifts].sort((a, b) => a.from - b.from || a.until - b.until);
  const merged: T[] = [];
  for (const shift of sorted) {
    const last = merged[merged.length - 1];
    if (last && shift.from <= last.until) {
      last.until = Math.max(last.until, shift.until);
      if (compareSources(shift.source, last.source) < 0) last.source = shift.source;
    } else {
      merged.push({ ...shift });
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

export function sortWindows<T extends GrantWindow>(rows: T[]): T[] {
  return rows.sort(
    (a, b) =>
      a.from.getTime() - b.from.getTime() ||
      a.name.localeCompare(b.name) ||
      a.pagerdutyUserId.localeCompare(b.pagerdutyUserId) ||
      a.resource.localeCompare(b.resource),
  );
}

/**
 * Matches each window's person to a strongDM account by email, case-insensitively. `sdmEmails` undefined means
 * the accounts could not be checked (dry run without an admin token): every usable row stays pending.
 */
export function matchAccounts(windows: GrantWindow[], sdmEmails: string[] | undefined): PlanRow[] {
  const accounts = new Map((sdmEmails ?? []).map((email) => [email.toLowerCase(), email]));
  return windows.map((window) => {
    const row: PlanRow = {
      ...window,
      sdmEmail: undefined,
      status: 'pending',
      reason: '',
      missingUser: false,
    };
    if (!window.email) {
      return { ...row, status: 'skipped', reason: 'PagerDuty has no email address for this user' };
    }
    const unsafe =
      unsafeArgumentReason(window.email) ?? (window.email.includes('@') ? undefined : 'has no "@"');
    if (unsafe) {
      return { ...row, status: 'skipped', reason: `the PagerDuty email ${unsafe}; it is not passed to sdm` };
    }
    if (sdmEmails === undefined) return { ...row, sdmEmail: window.email };
    const sdmEmail = accounts.get(window.email.toLowerCase());
    if (!sdmEmail) {
      return { ...row, status: 'skipped', reason: 'no strongDM user has this email', missingUser: true };
    }
    return { ...row, sdmEmail };
  });
}

/** RFC3339 in UTC without fractions, the form `sdm --from/--until` and the `plan` output use. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
