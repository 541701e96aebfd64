// The on-calls every rule needs, read from PagerDuty: one paged query for the schedules and one for the escalation
// policies, rows seen by both once, missing emails asked for once per person, and schedules nobody is on call in
// checked for existence (a wrong ID must fail the run, not grant nothing in silence).
import * as core from '@actions/core';
import { InputError, MAX_LOOKAHEAD_MS, type Inputs } from './inputs.js';
import { PagerDutyClient, PagerDutyError, type OnCallRow } from './pagerduty.js';
import type { Deadline } from './retry.js';
import { DIRECT_TARGETS, type Rule } from './rules.js';

/** On-calls for every rule: one paged query for the schedules, one for the escalation policies. */
export async function readOnCalls(inputs: Inputs, now: Date, deadline: Deadline): Promise<OnCallRow[]> {
  // A shift that ended less than grace-period ago, or starts less than lead-time after the lookahead, still counts.
  const since = new Date(now.getTime() - inputs.graceMs);
  // PagerDuty refuses a range over 90 days.
  const until = new Date(
    Math.min(now.getTime() + inputs.lookaheadMs + inputs.leadMs, since.getTime() + MAX_LOOKAHEAD_MS),
  );
  const pagerduty = new PagerDutyClient({
    baseUrl: inputs.pagerdutyApiUrl,
    token: inputs.pagerdutyToken,
    requestTimeoutMs: inputs.requestTimeoutMs,
    deadline,
  });
  return core.group('Reading on-calls from PagerDuty', async () => {
    const rows: OnCallRow[] = [];
    for (const query of onCallQueries(inputs.rules))
      rows.push(...(await pagerduty.listOnCalls(query, since, until)));
    const oncalls = dedupeOnCalls(rows);
    await fillMissingEmails(pagerduty, oncalls);
    core.info(`${oncalls.length} on-call rows from ${pagerduty.requestCount} PagerDuty requests`);
    const empty = [...new Set(inputs.rules.flatMap((rule) => rule.schedules))].filter(
      (id) => id !== DIRECT_TARGETS && !oncalls.some((row) => row.schedule?.id === id),
    );
    const missing = await pagerduty.missingSchedules(empty);
    if (missing.length > 0) {
      const where = inputs.simpleMode ? 'schedule-ids' : 'rules';
      throw new InputError(
        missing.map(
          (id) => `${where}: PagerDuty has no schedule ${id} (404); check the ID in the schedule's URL`,
        ),
      );
    }
    for (const id of empty) {
      core.warning(
        `Nobody is on call in schedule ${id} in this window: check that an escalation policy uses it.`,
      );
    }
    return oncalls;
  });
}

/** Included users normally carry their email; ask for the rest once per user, not once per row. */
async function fillMissingEmails(pagerduty: PagerDutyClient, oncalls: OnCallRow[]): Promise<void> {
  const missing = [...new Set(oncalls.filter((row) => !row.user.email).map((row) => row.user.id))];
  for (const userId of missing) {
    let email: string | undefined;
    try {
      email = await pagerduty.getUserEmail(userId);
    } catch (error) {
      if (!(error instanceof PagerDutyError && error.status === 404)) throw error;
    }
    if (!email) continue;
    for (const row of oncalls) if (row.user.id === userId) row.user.email = email;
  }
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
