// Desired windows, pure: each on-call row × matching rule × resource, with lead time and grace period, clamped to
// now; each open incident's assignee × matching incident rule × resource, for the incident window; and merging a
// person's overlapping or touching windows.
import type { Incident, IncidentAssignee, OnCallRow } from './pagerduty.js';
import type { IncidentCondition, Rule } from './rules.js';
import { asciiLowerCase } from './text.js';
import type { IncidentRef, OnCallSource, Person } from './types.js';

/** A span of time someone should hold a resource; `until` may be Infinity for open-ended on-calls. */
export interface DesiredWindow extends Person {
  resource: string;
  rule: string;
  source: OnCallSource;
  from: number;
  until: number;
  /**
   * Incident windows: time not yet granted is granted only when it starts before this, i.e. once less than half of
   * the incident window is left, so that a run every few minutes does not add a grant every run.
   */
  renewBefore?: number;
}

const SECOND = 1000;

/** Does an on-call row match an on-call rule? (Incident rules match incidents, never on-call rows.) */
export function ruleMatches(rule: Rule, row: OnCallRow): boolean {
  if (rule.incidents) return false;
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

/** Why an assignee gets no incident access although an incident rule matches their incident. */
export interface IncidentAssigneeLeftOut {
  incident: Incident;
  assignee: IncidentAssignee;
  rule: string;
}

/**
 * Every (matching open incident × assignee × incident rule × resource) as a window [now, now + incident-window].
 * With require-on-call, only assignees on call (lead time and grace period included) in the escalation policy of the
 * incident's service, and not past the end of that on-call (+ grace period); the others are returned as left out.
 * The service's policy, not the incident's: anyone who may edit an incident can move it to a policy they are on call
 * in, but not change the service's.
 */
export function incidentWindows(options: {
  incidents: Incident[];
  rules: Rule[];
  oncalls: OnCallRow[];
  now: Date;
  leadMs: number;
  graceMs: number;
}): { windows: DesiredWindow[]; leftOut: IncidentAssigneeLeftOut[] } {
  const nowMs = Math.floor(options.now.getTime() / SECOND) * SECOND;
  const windows: DesiredWindow[] = [];
  const leftOut: IncidentAssigneeLeftOut[] = [];
  for (const rule of options.rules) {
    const condition = rule.incidents;
    if (!condition) continue;
    for (const incident of options.incidents.filter((each) => incidentMatches(condition, each))) {
      for (const assignee of incident.assignees) {
        const rows = options.oncalls.filter(
          (row) =>
            row.user.id === assignee.id &&
            row.escalationPolicy.id === incident.service.escalationPolicyId &&
            (row.start === null || row.start.getTime() - options.leadMs <= nowMs) &&
            (row.end === null || nowMs < row.end.getTime() + options.graceMs),
        );
        if (condition.requireOnCall && rows.length === 0) {
          leftOut.push({ incident, assignee, rule: rule.name });
          continue;
        }
        const onCallUntil = condition.requireOnCall
          ? Math.max(...rows.map((row) => (row.end ? row.end.getTime() + options.graceMs : Infinity)))
          : Infinity;
        const until = Math.ceil(Math.min(nowMs + condition.windowMs, onCallUntil) / SECOND) * SECOND;
        if (until <= nowMs) continue;
        const row = [...rows].sort((a, b) => a.escalationLevel - b.escalationLevel)[0];
        const source: OnCallSource = {
          scheduleId: row?.schedule?.id ?? null,
          scheduleName: row?.schedule?.name ?? '',
          escalationPolicyId: row?.escalationPolicy.id ?? incident.escalationPolicy.id,
          escalationPolicyName: row?.escalationPolicy.name ?? incident.escalationPolicy.name,
          escalationLevel: row?.escalationLevel ?? 0,
          incident: incidentRef(incident),
        };
        for (const resource of rule.resources) {
          windows.push({
            pagerdutyUserId: assignee.id,
            name: assignee.name,
            email: assignee.email ?? row?.user.email,
            resource,
            rule: rule.name,
            source,
            from: nowMs,
            until,
            renewBefore: nowMs + condition.windowMs / 2,
          });
        }
      }
    }
  }
  return { windows, leftOut };
}

/** Service IDs compared in ASCII lower case, as listIncidents and the dry-run check compare them. */
export function incidentMatches(condition: IncidentCondition, incident: Incident): boolean {
  const service = asciiLowerCase(incident.service.id);
  return (
    condition.services.some((id) => asciiLowerCase(id) === service) &&
    condition.urgencies.includes(incident.urgency) &&
    condition.statuses.includes(incident.status)
  );
}

function incidentRef(incident: Incident): IncidentRef {
  return {
    id: incident.id,
    number: incident.number,
    title: incident.title,
    url: incident.url,
    serviceId: incident.service.id,
    serviceName: incident.service.name,
  };
}

/**
 * Merges overlapping or touching windows; the merged one keeps the most urgent (lowest level) source and its rule.
 * Windows to grant are merged by kind (plan.ts: on-call with on-call, incident with incident), so incident windows
 * keep the latest renewBefore of theirs.
 */
export function mergeWindows<
  T extends { from: number; until: number; source: OnCallSource; rule: string; renewBefore?: number },
>(windows: T[]): T[] {
  const sorted = [...windows].sort((a, b) => a.from - b.from || a.until - b.until);
  const merged: T[] = [];
  for (const window of sorted) {
    const last = merged[merged.length - 1];
    if (last && window.from <= last.until) {
      last.until = Math.max(last.until, window.until);
      if (last.renewBefore !== undefined && window.renewBefore !== undefined)
        last.renewBefore = Math.max(last.renewBefore, window.renewBefore);
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
    (a.incident?.number ?? 0) - (b.incident?.number ?? 0) ||
    a.escalationLevel - b.escalationLevel ||
    a.scheduleName.localeCompare(b.scheduleName) ||
    a.escalationPolicyName.localeCompare(b.escalationPolicyName)
  );
}
