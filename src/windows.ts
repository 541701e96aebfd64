// Desired windows, pure: each on-call row × matching rule × resource, with lead time and grace period, clamped to
// now; and merging a person's overlapping or touching windows.
import type { OnCallRow } from './pagerduty.js';
import type { Rule } from './rules.js';
import type { OnCallSource, Person } from './types.js';

/** A span of time someone should hold a resource; `until` may be Infinity for open-ended on-calls. */
export interface DesiredWindow extends Person {
  resource: string;
  rule: string;
  source: OnCallSource;
  from: number;
  until: number;
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
