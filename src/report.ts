// What a run tells people: the outputs, the step log (its table inside ::stop-commands::), the job summary,
// warnings for people who get no access, and whether the step fails (fail-on).
import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import type { Inputs } from './inputs.js';
import { rfc3339 } from './plan.js';
import type { Checklist } from './checklist.js';
import { renderMessage, renderStoppedMessage } from './message.js';
import {
  checklistLines,
  countByStatus,
  renderLogTable,
  renderStopped,
  renderSummary,
  STATUSES,
} from './summary.js';
import { incidentNumber } from './summary-incidents.js';
import { forLogLine } from './text.js';
import type { IncidentRef, PlanRow, ReportRow } from './types.js';

/** What a run came to. */
export interface RunResult {
  rows: ReportRow[];
  notes: string[]; // plain sentences written by this action, shown in the log and the summary
  /** Why the step fails regardless of fail-on (refused plan, ledger not written, cancelled). */
  fatal?: string;
}

export interface ReportContext {
  now: Date;
  runUrl: string;
  checklist: Checklist;
}

/** One annotation per person (GitHub shows only 10 per step), not one per row. */
export function warnPeople(rows: PlanRow[]): void {
  const warned = new Set<string>();
  for (const row of rows) {
    const key = `${row.status}:${row.pagerdutyUserId}`;
    if (warned.has(key)) continue;
    const { incident } = row.source;
    if (row.status === 'skipped') {
      const why = incident ? `is assigned incident ${incidentNumber(incident)}` : 'is on call';
      core.warning(
        `${forLogLine(row.name)} <${forLogLine(row.email ?? 'no email')}> ${why} but gets no access: ${row.reason}`,
      );
    } else if (row.status === 'stale' || row.status === 'pending-revoke') {
      if (!row.unbacked) continue;
      const why = incident
        ? `: incident ${incidentNumber(incident)} is resolved or no longer matches`
        : ', which PagerDuty no longer backs';
      core.warning(
        `Stale grant: ${forLogLine(row.name)} <${forLogLine(row.sdmEmail ?? '')}> holds ${forLogLine(row.resource)} until ${rfc3339(row.until)}${why}${row.status === 'stale' ? ' (set revoke-stale: true to revoke it)' : ''}.`,
      );
    } else {
      continue;
    }
    warned.add(key);
  }
}

/** A row that will not be applied: pending → would-grant, pending-revoke → stale, with why. */
export function notApplied(row: PlanRow, why: { grant?: string; revoke: string }): ReportRow {
  if (row.status === 'pending') return { ...row, status: 'would-grant', reason: why.grant ?? row.reason };
  if (row.status === 'pending-revoke')
    return { ...row, status: 'stale', reason: `${row.reason}; ${why.revoke}` };
  return row;
}

export async function report(result: RunResult, inputs: Inputs, context: ReportContext): Promise<void> {
  const { rows, notes } = result;
  const counts = countByStatus(rows);
  for (const status of STATUSES) if (status !== 'would-grant') core.setOutput(status, String(counts[status]));
  core.setOutput('plan', planJson(rows, context.runUrl));
  core.setOutput(
    'message',
    renderMessage(rows, {
      runUrl: context.runUrl,
      now: context.now,
      dryRun: inputs.dryRun,
      fatal: result.fatal,
    }),
  );
  reportChecks(context.checklist);

  for (const note of notes) core.info(note);
  if (rows.length > 0) {
    // Names come from PagerDuty: the runner reads no workflow command until the table is over.
    const endToken = randomUUID();
    core.info(`::stop-commands::${endToken}`);
    core.info(renderLogTable(rows));
    core.info(`::${endToken}::`);
  } else {
    core.info('Nobody is on call in the chosen schedules during this window.');
  }
  if (process.env.GITHUB_STEP_SUMMARY) {
    const summary = renderSummary(rows, {
      dryRun: inputs.dryRun,
      now: context.now,
      lookahead: inputs.lookahead,
      lookaheadMs: inputs.lookaheadMs,
      notes,
      runUrl: context.runUrl,
      checks: context.checklist.checks,
    });
    await core.summary.addRaw(summary).write();
  }
}

/** A run that stopped before its report: the error and the checklist so far, in the summary and the outputs. */
export async function reportStopped(message: string, checklist: Checklist, runUrl: string): Promise<void> {
  reportChecks(checklist);
  core.setOutput('message', renderStoppedMessage(message, runUrl));
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(renderStopped(message, checklist.checks)).write();
  }
}

/** The `checks` output, and one log line per check. */
function reportChecks(checklist: Checklist): void {
  core.setOutput('checks', JSON.stringify(checklist.checks));
  core.info(`Preflight checklist: ${checklist.counts()}`);
  for (const line of checklistLines(checklist.checks)) core.info(line);
}

const MAX_PLAN_OUTPUT_BYTES = 900 * 1024; // GitHub limits a job's outputs to 1 MiB in all

/** The `plan` output, cut to whole rows that fit, with a warning, when a huge organisation would overflow it. */
export function planJson(rows: ReportRow[], runUrl: string): string {
  const all = planOutput(rows, runUrl);
  let json = JSON.stringify(all);
  if (Buffer.byteLength(json) <= MAX_PLAN_OUTPUT_BYTES) return json;
  let count = all.length;
  while (count > 0 && Buffer.byteLength(json) > MAX_PLAN_OUTPUT_BYTES) {
    count = Math.floor(count * 0.9);
    json = JSON.stringify(all.slice(0, count));
  }
  core.warning(
    `The plan output holds the first ${count} of ${all.length} rows (GitHub limits outputs to 1 MiB); the step log has them all.`,
  );
  return json;
}

/**
 * Whether the step fails, and why, under fail-on. `unmet` is a configured behaviour the run could not honour
 * (revoke-stale without a revoke command): it fails the step like a failed change does.
 */
export function failureFor(rows: ReportRow[], inputs: Inputs, unmet?: string): string | undefined {
  if (inputs.failOn === 'never') return undefined;
  if (unmet) return unmet;
  const failed = rows.filter((row) => row.status === 'failed').length;
  const attempted =
    failed + rows.filter((row) => row.status === 'granted' || row.status === 'revoked').length;
  if (failed > 0) return `${failed} of ${attempted} sdm changes failed; see the job summary for each reason`;
  if (inputs.failOn === 'missing-user') {
    const skipped = new Set(
      rows.filter((row) => row.status === 'skipped' && !row.deferred).map((row) => row.pagerdutyUserId),
    ).size;
    if (skipped > 0)
      return `${skipped} on-call people get no access (fail-on: missing-user); see the job summary`;
  }
  return undefined;
}

/** The `plan` output's `incident`: the PagerDuty incident an incident grant is for, or null. */
function planIncident(incident: IncidentRef | undefined): object | null {
  if (incident === undefined) return null;
  const { id, number, title, url, serviceId, serviceName } = incident;
  return { id, number, title, url, serviceId, serviceName };
}

/**
 * The `plan` output: one object per row, times in UTC RFC3339. JSON: the incident's title is as PagerDuty wrote it,
 * for whoever reads the output to escape for where they show it.
 */
export function planOutput(rows: ReportRow[], runUrl: string): object[] {
  return rows.map((row) => ({
    email: row.sdmEmail ?? row.email ?? '',
    name: row.name,
    pagerdutyUserId: row.pagerdutyUserId,
    scheduleId: row.source.scheduleId,
    scheduleName: row.source.scheduleId === null ? '' : row.source.scheduleName,
    escalationPolicyId: row.source.escalationPolicyId,
    escalationLevel: row.source.escalationLevel,
    rule: row.rule,
    resource: row.resource,
    from: rfc3339(row.from),
    until: rfc3339(row.until),
    status: row.status,
    reason: row.reason,
    runUrl: row.ledgerEntry?.runUrl ?? (row.status === 'skipped' ? '' : runUrl),
    incident: planIncident(row.source.incident),
  }));
}
