// The open incidents the incident rules need, read from PagerDuty: one paged /incidents query for all of them, and
// only when some rule has `incidents`. A failed query is said, never read as "no incidents": the incident part of
// the run stops (no incident grant is judged), on-call access goes on, and the step fails at the end.
// In a dry run, each rule service without an open incident is looked up, so that a mistyped ID fails the run instead
// of matching nothing forever; real runs (most of which see no incident) spend no request on it.
import * as core from '@actions/core';
import type { Checklist } from './checklist.js';
import { InputError } from './inputs.js';
import { fillMissingEmails } from './oncalls.js';
import { PagerDutyError, type Incident, type OnCallRow, type PagerDutyClient } from './pagerduty.js';
import { INCIDENT_STATUSES, INCIDENT_URGENCIES, type Rule } from './rules.js';
import { asciiLowerCase, forLogLine } from './text.js';
import { incidentMatches, type IncidentAssigneeLeftOut } from './windows.js';

export type OpenIncidents =
  | { kind: 'not-needed' } // no rule has incidents
  /** `snapshot`: the list came in one page (paging over a list that changes can skip an incident). */
  | { kind: 'read'; incidents: Incident[]; snapshot: boolean }
  | { kind: 'failed'; error: string };

const INCIDENTS_CHECK = 'incidents';

/**
 * Open incidents on every incident rule's services, each with its assignees' emails. With `dryRun`, once they are
 * read, the rules' services are checked too (`checkIncidentServices`): an unknown one throws an InputError.
 */
export async function readOpenIncidents(
  rules: Rule[],
  pagerduty: PagerDutyClient,
  checklist: Checklist,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<OpenIncidents> {
  const conditions = rules.flatMap((rule) => (rule.incidents ? [rule.incidents] : []));
  if (conditions.length === 0) return { kind: 'not-needed' };
  return core.group('Reading open incidents from PagerDuty', async () => {
    // One query for all rules (each list a union); incidentWindows matches each rule on its own.
    const filter = {
      serviceIds: [...new Set(conditions.flatMap((condition) => condition.services))],
      urgencies: INCIDENT_URGENCIES.filter((u) => conditions.some((c) => c.urgencies.includes(u))),
      statuses: INCIDENT_STATUSES.filter((s) => conditions.some((c) => c.statuses.includes(s))),
    };
    let incidents: Incident[];
    let snapshot: boolean;
    try {
      ({ incidents, snapshot } = await pagerduty.listIncidents(filter));
      await fillMissingEmails(
        pagerduty,
        incidents.flatMap((incident) => incident.assignees),
      );
      const unchecked = !dryRun && servicesWithoutIncidents(filter.serviceIds, incidents).length > 0;
      checklist.pass(
        INCIDENTS_CHECK,
        `${plural(incidents.length, 'open incident')} on ${plural(filter.serviceIds.length, 'service')}${incidents.length > 0 ? `: ${incidents.map((incident) => `#${incident.number}`).join(', ')}` : ''}${unchecked ? ' (service IDs are checked in dry runs only)' : ''}`,
      );
      for (const incident of incidents) {
        core.info(
          `Incident #${incident.number} (${incident.status}, ${incident.urgency}) on ${forLogLine(incident.service.name, 80)}: assigned to ${incident.assignees.map((assignee) => forLogLine(assignee.name, 80)).join(', ') || 'nobody'}`,
        );
      }
    } catch (error) {
      const message = forLogLine(error instanceof Error ? error.message : String(error), 500);
      checklist.fail(
        INCIDENTS_CHECK,
        `the open incidents could not be read: ${message}`,
        'an OAuth token needs incidents.read; otherwise see the error. On-call access is reconciled as usual',
      );
      core.warning(`Incident access was not evaluated: the open incidents could not be read (${message}).`);
      return { kind: 'failed', error: message };
    }
    // Outside the try: an unknown service is the rules' mistake, not a failed incidents query.
    if (dryRun) await checkIncidentServices(filter.serviceIds, incidents, pagerduty, checklist);
    return { kind: 'read', incidents, snapshot };
  });
}

/**
 * Each incident rule's service, in the checklist: one with open incidents is known (no request); one without is
 * looked up (`GET /services/{id}`, one request each). A 404 fails the check, and the run with an InputError naming
 * every unknown service, as for schedules. Any other failure (a 403: an OAuth token without services.read) is a
 * warning, for that service and, without more requests, the rest: the rules may be right.
 */
async function checkIncidentServices(
  serviceIds: string[],
  incidents: Incident[],
  pagerduty: PagerDutyClient,
  checklist: Checklist,
): Promise<void> {
  const missing: string[] = [];
  let notChecked: { why: string; fix: string } | undefined; // why lookups stopped
  for (const id of serviceIds) {
    const check = `service ${id}`;
    const open = incidents.filter((incident) => sameId(incident.service.id, id));
    if (open[0]) {
      checklist.pass(check, `"${open[0].service.name}": ${plural(open.length, 'open incident')}`);
      continue;
    }
    if (notChecked === undefined) {
      try {
        const name = await pagerduty.lookUpService(id);
        if (name === undefined) {
          checklist.fail(check, 'PagerDuty has no such service (404)', "check the ID in the service's URL");
          missing.push(id);
        } else checklist.pass(check, `"${name}": no open incident`);
        continue;
      } catch (error) {
        if (!(error instanceof PagerDutyError)) throw error;
        notChecked = {
          why: forLogLine(error.message, 500),
          fix:
            error.status === 403
              ? "give the OAuth token services.read (only dry runs use it), or check the IDs in the services' URLs"
              : 'run the dry run again later',
        };
      }
    }
    checklist.warn(check, `could not check: ${notChecked.why}`, notChecked.fix);
  }
  if (missing.length > 0) {
    throw new InputError(
      missing.map((id) => `rules: PagerDuty has no service ${id} (404); check the ID in the service's URL`),
    );
  }
}

/** The rules' services no open incident was read on: only these need a lookup. */
function servicesWithoutIncidents(serviceIds: string[], incidents: Incident[]): string[] {
  return serviceIds.filter((id) => !incidents.some((incident) => sameId(incident.service.id, id)));
}

/** Service IDs are compared as listIncidents compares them. */
const sameId = (a: string, b: string) => asciiLowerCase(a) === asciiLowerCase(b);

/** The escalation policies whose on-calls decide who may have incident access (rules with require-on-call). */
export function policiesOfOpenIncidents(open: OpenIncidents, rules: Rule[]): string[] {
  if (open.kind !== 'read') return [];
  const conditions = rules.flatMap((rule) => (rule.incidents?.requireOnCall ? [rule.incidents] : []));
  const matching = open.incidents.filter((incident) =>
    conditions.some((condition) => incidentMatches(condition, incident)),
  );
  return [...new Set(matching.map((incident) => incident.service.escalationPolicyId))];
}

/** Says who is assigned but gets nothing, so that nobody wonders why. */
export function reportLeftOut(leftOut: IncidentAssigneeLeftOut[]): void {
  // The line starts with the action's own words: a name from PagerDuty could begin with "::" (a workflow command).
  for (const { incident, assignee, rule } of leftOut) {
    const moved =
      incident.escalationPolicy.id === incident.service.escalationPolicyId
        ? ''
        : ` (the incident is on policy ${forLogLine(incident.escalationPolicy.name, 80)}; access follows its service's)`;
    core.info(
      `Incident #${incident.number}: ${forLogLine(assignee.name, 80)} is assigned but not on call in the escalation policy of service ${forLogLine(incident.service.name, 80)}${moved}, so rule "${forLogLine(rule, 80)}" gives no access (require-on-call)`,
    );
  }
}

/** Why the step fails when the incidents could not be read. */
export function incidentsNotEvaluated(open: OpenIncidents): string | undefined {
  if (open.kind !== 'failed') return undefined;
  return `Incident access was not evaluated: the open incidents could not be read from PagerDuty (${open.error}). No incident grant was treated as stale; on-call access was reconciled.`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * Which incident grants this run can judge, and what the summary says about those it cannot:
 * - none, when the open incidents could not be read (a failed query is not "no incidents");
 * - not those of an open incident (of a require-on-call rule) whose service's escalation policy has nobody on call
 *   at all in PagerDuty's answer: that looks like an outage rather than a handover;
 * - not those of an incident missing from a list of several pages: paging over a list that changes can skip an
 *   open incident, so missing is not proof of resolved (such grants end by themselves).
 */
export function incidentJudgement(
  open: OpenIncidents,
  rules: Rule[],
  oncalls: OnCallRow[],
): { judged: (incidentId: string) => boolean; notes: string[] } {
  if (open.kind === 'failed') {
    return {
      judged: () => false,
      notes: [
        'The open incidents could not be read from PagerDuty: incident access was not evaluated, and no incident grant is treated as stale in this run.',
      ],
    };
  }
  if (open.kind !== 'read') return { judged: () => true, notes: [] };
  const conditions = rules.flatMap((rule) => (rule.incidents?.requireOnCall ? [rule.incidents] : []));
  const staffed = new Set(oncalls.map((row) => row.escalationPolicy.id));
  const held = open.incidents.filter(
    (incident) =>
      conditions.some((condition) => incidentMatches(condition, incident)) &&
      !staffed.has(incident.service.escalationPolicyId),
  );
  const heldIds = new Set(held.map((incident) => incident.id));
  const listed = new Set(open.incidents.map((incident) => incident.id));
  const notes: string[] = [];
  if (held.length > 0) {
    const numbers = held.map((incident) => `#${incident.number}`).join(', ');
    notes.push(
      `PagerDuty returned nobody on call in the escalation policy of the service of incident ${numbers}: ${held.length === 1 ? 'its' : 'their'} grants are not treated as stale in this run (an outage must not revoke access).`,
    );
  }
  if (!open.snapshot) {
    notes.push(
      'The open incidents came in several pages, and paging over a list that changes can miss one: grants of incidents not listed are not treated as stale in this run; they end by themselves within incident-window.',
    );
  }
  return {
    judged: (id) => !heldIds.has(id) && (open.snapshot || listed.has(id)),
    notes,
  };
}
