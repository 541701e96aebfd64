// The on-calls every rule needs, read from PagerDuty: one paged query for the schedules and one for the escalation
// policies (the rules' and, for require-on-call, those of open incidents), rows seen by both once, missing emails
// asked for once per person, and schedules nobody is on call in checked for existence (a wrong ID must fail the
// run, not grant nothing in silence).
import * as core from '@actions/core';
import type { Checklist } from './checklist.js';
import { InputError, MAX_LOOKAHEAD_MS, type Inputs } from './inputs.js';
import { PagerDutyError, type PagerDutyClient, type OnCallRow } from './pagerduty.js';
import { DIRECT_TARGETS, type Rule } from './rules.js';
import { forLogLine } from './text.js';
import { ruleMatches } from './windows.js';

/**
 * On-calls for every rule: one paged query for the schedules, one for the escalation policies (with
 * `incidentPolicies`: those of open incidents whose assignees must be on call).
 */
export async function readOnCalls(
  inputs: Inputs,
  pagerduty: PagerDutyClient,
  now: Date,
  checklist: Checklist,
  incidentPolicies: string[] = [],
): Promise<OnCallRow[]> {
  // A shift that ended less than grace-period ago, or starts less than lead-time after the lookahead, still counts.
  const since = new Date(now.getTime() - inputs.graceMs);
  // PagerDuty refuses a range over 90 days.
  const until = new Date(
    Math.min(now.getTime() + inputs.lookaheadMs + inputs.leadMs, since.getTime() + MAX_LOOKAHEAD_MS),
  );
  return core.group('Reading on-calls from PagerDuty', async () => {
    const oncalls = await checklist.verify(
      'PagerDuty',
      async () => {
        const rows: OnCallRow[] = [];
        for (const query of onCallQueries(inputs.rules, incidentPolicies))
          rows.push(...(await pagerduty.listOnCalls(query, since, until)));
        return dedupeOnCalls(rows);
      },
      (rows) => `pagerduty-token accepted: ${rows.length} on-call rows`,
    );
    await fillMissingEmails(
      pagerduty,
      oncalls.map((row) => row.user),
    );
    core.info(
      `${oncalls.length} on-call rows (${pagerduty.requestCount} PagerDuty requests so far in this run)`,
    );
    await checkSchedules(inputs, pagerduty, oncalls, { since, until }, checklist);
    await checkEscalationPolicies(inputs, pagerduty, oncalls, checklist);
    return oncalls;
  });
}

/**
 * Each configured schedule, with its name from PagerDuty. One with nobody on call is looked up: unknown to both the
 * v2 and the v3 API, the run fails naming it; a v3 schedule whose final schedule has people on call that /oncalls
 * did not return is said loudly, since nobody in it gets access.
 */
async function checkSchedules(
  inputs: Inputs,
  pagerduty: PagerDutyClient,
  oncalls: OnCallRow[],
  window: { since: Date; until: Date },
  checklist: Checklist,
): Promise<void> {
  const missing: string[] = [];
  for (const id of [...new Set(inputs.rules.flatMap((rule) => rule.schedules))]) {
    if (id === DIRECT_TARGETS) continue;
    const check = `schedule ${id}`;
    const rows = oncalls.filter((row) => row.schedule?.id === id);
    if (rows[0]) {
      checklist.pass(check, `"${rows[0].schedule?.name ?? id}": ${rows.length} on-call rows`);
      continue;
    }
    const schedule = await pagerduty.lookUpSchedule(id, window.since, window.until);
    if (!schedule) {
      checklist.fail(
        check,
        'PagerDuty has no such schedule (404 from /schedules and /v3/schedules)',
        "check the ID in the schedule's URL",
      );
      missing.push(id);
    } else if (schedule.onCallUserIds.length > 0) {
      const message = `Schedule ${id} ("${forLogLine(schedule.name)}") is a v3 schedule: its final schedule has ${schedule.onCallUserIds.length} people on call in this window, but PagerDuty's /oncalls returned none of them, so they get no access.`;
      core.warning(
        `${message} Add a rule with escalation-policies naming the policy that uses this schedule.`,
      );
      checklist.fail(
        check,
        `v3 schedule "${schedule.name}": ${schedule.onCallUserIds.length} people on call in its final schedule, none of them in /oncalls`,
        'add a rule with escalation-policies naming the policy that uses this schedule',
      );
    } else {
      core.warning(
        `Nobody is on call in schedule ${id} in this window: check that an escalation policy uses it.`,
      );
      checklist.warn(
        check,
        `${schedule.version} schedule "${schedule.name}": nobody on call in this window`,
        'check that an escalation policy uses it',
      );
    }
  }
  if (missing.length > 0) {
    const where = inputs.simpleMode ? 'schedule-ids' : 'rules';
    throw new InputError(
      missing.map(
        (id) => `${where}: PagerDuty has no schedule ${id} (404); check the ID in the schedule's URL`,
      ),
    );
  }
}

/**
 * Each configured escalation policy, with its name: from the on-call rows it gave, or looked up when it gave none
 * (unknown to PagerDuty, the run fails naming it).
 */
async function checkEscalationPolicies(
  inputs: Inputs,
  pagerduty: PagerDutyClient,
  oncalls: OnCallRow[],
  checklist: Checklist,
): Promise<void> {
  const missing: string[] = [];
  for (const id of [...new Set(inputs.rules.flatMap((rule) => rule.escalationPolicies))]) {
    const check = `escalation policy ${id}`;
    const rows = oncalls.filter((row) => row.escalationPolicy.id === id);
    const rules = inputs.rules.filter((rule) => rule.escalationPolicies.includes(id));
    const matching = rows.filter((row) => rules.some((rule) => ruleMatches(rule, row)));
    if (rows[0]) {
      const name = rows[0].escalationPolicy.name;
      if (matching.length > 0) checklist.pass(check, `"${name}": ${matching.length} on-call rows`);
      else
        checklist.warn(
          check,
          `"${name}": no on-call rows at the levels the rules ask for`,
          "check the rule's escalation-levels",
        );
      continue;
    }
    const name = await pagerduty.lookUpEscalationPolicy(id);
    if (name === undefined) {
      checklist.fail(
        check,
        'PagerDuty has no such escalation policy (404)',
        "check the ID in the policy's URL",
      );
      missing.push(id);
    } else {
      checklist.warn(
        check,
        `"${name}": nobody on call in this window`,
        "check that the policy's schedules have shifts in this window",
      );
    }
  }
  if (missing.length > 0) {
    throw new InputError(
      missing.map(
        (id) => `rules: PagerDuty has no escalation policy ${id} (404); check the ID in the policy's URL`,
      ),
    );
  }
}

/** Included users normally carry their email; ask for the rest once per user, not once per row. */
export async function fillMissingEmails(
  pagerduty: PagerDutyClient,
  people: Array<{ id: string; email?: string | undefined }>,
): Promise<void> {
  const missing = [...new Set(people.filter((person) => !person.email).map((person) => person.id))];
  for (const userId of missing) {
    let email: string | undefined;
    try {
      email = await pagerduty.getUserEmail(userId);
    } catch (error) {
      if (!(error instanceof PagerDutyError && error.status === 404)) throw error;
    }
    if (!email) continue;
    for (const person of people) if (person.id === userId) person.email = email;
  }
}

/**
 * The /oncalls queries that cover every rule. PagerDuty intersects different filters, so schedules and escalation
 * policies are asked separately (each a union); a rule with both is checked row by row in ruleMatches.
 */
export function onCallQueries(
  rules: Rule[],
  incidentPolicies: string[] = [],
): Array<{ scheduleIds?: string[]; escalationPolicyIds?: string[] }> {
  const scheduleIds = [
    ...new Set(rules.filter((r) => r.escalationPolicies.length === 0).flatMap((r) => r.schedules)),
  ];
  const escalationPolicyIds = [
    ...new Set([...rules.flatMap((r) => r.escalationPolicies), ...incidentPolicies]),
  ];
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
