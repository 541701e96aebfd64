// One run, as a list of steps: inputs → ledger → PagerDuty open incidents and on-calls → desired windows →
// strongDM accounts → plan (desired − ledger) → revocations and grants → ledger → report. The only place that
// calls core.setFailed.
// docs/architecture.md shows the data flow and which module owns what.
import * as core from '@actions/core';
import { watchCancellation, type Cancellation } from './cancellation.js';
import { applyPlan } from './executor.js';
import { readInputs, type Inputs } from './inputs.js';
import { ledgerKeys, type LedgerKey } from './ledger-seal.js';
import { checkLedgerWrite, readActiveGrants, signingRecorder } from './ledger-trust.js';
import { LedgerRecorder } from './ledger-recorder.js';
import { openLedgerStore, type LedgerStore } from './ledger-stores.js';
import {
  incidentsNotEvaluated,
  incidentJudgement,
  policiesOfOpenIncidents,
  readOpenIncidents,
  reportLeftOut,
  type OpenIncidents,
} from './incidents.js';
import { readOnCalls } from './oncalls.js';
import { PagerDutyClient, type OnCallRow } from './pagerduty.js';
import { reconcile, resolveAccount, rfc3339, strongDmEmails, type Account } from './plan.js';
import { desiredWindows, incidentWindows, type DesiredWindow } from './windows.js';
import { failureFor, notApplied, report, reportStopped, warnPeople, type RunResult } from './report.js';
import { Deadline } from './retry.js';
import { Checklist } from './checklist.js';
import { REVOKE_SUBCOMMAND, type SdmCli } from './sdm.js';
import { sdmNeed, setUpSdmIfNeeded, type SdmSession } from './sdm-setup.js';
import { forLogLine } from './text.js';
import { locateInWorkspace, MAX_RULES_BYTES, readRegularFileSync } from './workspace-files.js';
import type { LedgerEntry, PlanRow } from './types.js';

interface RunContext {
  now: Date;
  runId: string;
  runUrl: string;
  deadline: Deadline;
  cancellation: Cancellation;
  checklist: Checklist;
}

export async function run(): Promise<void> {
  const cancellation = watchCancellation();
  const checklist = new Checklist();
  let sdm: SdmSession | undefined;
  try {
    maskTokens();
    const inputs = readInputs((name) => core.getInput(name), readWorkspaceFile);
    const context = runContext(inputs, cancellation, checklist);
    const store = openLedgerStore(inputs, workspace());
    const keys = ledgerKeys(inputs.ledgerKey, inputs.sdmAdminToken);
    const active = await readActiveGrants(store, keys, context);
    const pagerduty = pagerDutyClient(inputs, context.deadline);
    const incidents = await readOpenIncidents(inputs.rules, pagerduty, checklist, { dryRun: inputs.dryRun });
    const oncalls = await readOnCalls(
      inputs,
      pagerduty,
      context.now,
      checklist,
      policiesOfOpenIncidents(incidents, inputs.rules),
    );
    const wanted = wantedWindows(inputs, context.now, oncalls, incidents, active);
    const { windows, notes } = wanted;
    const setUp = {
      deadline: context.deadline,
      cancel: context.cancellation.cancel,
      kill: context.cancellation.kill,
      checklist,
    };
    // Planned first without strongDM: a run with nothing to grant or revoke never sets sdm up.
    const offline = planRun(inputs, context, { ...wanted, active, sdm: undefined });
    sdm = await setUpSdmIfNeeded(inputs, setUp, sdmNeed(inputs, windows, active, offline), notes);
    const plan = sdm ? planRun(inputs, context, { ...wanted, active, sdm }) : offline;
    warnPeople(plan);
    const result =
      refuseOversizedPlan(plan, inputs, notes) ??
      (inputs.dryRun || !sdm
        ? notAppliedRun(plan, inputs, store, checklist, notes)
        : await applyAndRecord(sdm.cli, plan, inputs, store, keys, context, notes));
    result.fatal = [result.fatal, incidentsNotEvaluated(incidents)].filter(Boolean).join(' ') || undefined;
    await report(result, inputs, context);
    const failure = result.fatal ?? failureFor(result.rows, inputs, revokeFailure(inputs, sdm));
    if (failure) core.setFailed(failure);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await reportStopped(message, checklist, runUrl());
    core.setFailed(message);
  } finally {
    await sdm?.close();
    cancellation.stop();
  }
}

/** Mask before anything can print them, including the bare token inside a "Bearer …" or "Token token=…" value. */
function maskTokens(): void {
  for (const name of ['pagerduty-token', 'sdm-admin-token', 'github-token']) {
    const value = core.getInput(name).trim();
    if (!value) continue;
    core.setSecret(value);
    const bare = /^(?:Bearer\s+|Token\s+token=)(.+)$/i.exec(value)?.[1];
    if (bare) core.setSecret(bare);
  }
  for (const line of core.getInput('ledger-key').split(/\r?\n/)) if (line.trim()) core.setSecret(line.trim());
}

function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd();
}

/**
 * A rules file must be a regular file (never a FIFO or device: it would hang or never end) of at most 1 MiB whose
 * real path, symlinks followed, is inside the workspace: the workflow checked it out there.
 */
function readWorkspaceFile(relativePath: string): string {
  const { file } = locateInWorkspace(workspace(), relativePath, { maxBytes: MAX_RULES_BYTES });
  return readRegularFileSync(file, MAX_RULES_BYTES);
}

/** This run's page on GitHub; empty outside a workflow. */
function runUrl(): string {
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
  const repository = process.env.GITHUB_REPOSITORY || '';
  return repository ? `${server}/${repository}/actions/runs/${process.env.GITHUB_RUN_ID || 'local'}` : '';
}

function runContext(inputs: Inputs, cancellation: Cancellation, checklist: Checklist): RunContext {
  return {
    now: new Date(),
    runId: process.env.GITHUB_RUN_ID || 'local',
    runUrl: runUrl(),
    deadline: new Deadline(inputs.timeBudgetMs),
    cancellation,
    checklist,
  };
}

function pagerDutyClient(inputs: Inputs, deadline: Deadline): PagerDutyClient {
  return new PagerDutyClient({
    baseUrl: inputs.pagerdutyApiUrl,
    token: inputs.pagerdutyToken,
    requestTimeoutMs: inputs.requestTimeoutMs,
    deadline,
  });
}

/** What PagerDuty backs, and which recorded grants this run must not judge (with why, said once). */
interface WantedWindows {
  windows: DesiredWindow[];
  notes: string[];
  failSafe: boolean;
  incidentJudged: (incidentId: string) => boolean;
}

/**
 * On-call windows and incident windows. A PagerDuty outage or a wrong filter must not revoke access: with no
 * on-call matching while on-call grants are in force, none of them is judged; with the open incidents unknown
 * (incidentJudgement), no incident grant is.
 */
function wantedWindows(
  inputs: Inputs,
  now: Date,
  oncalls: OnCallRow[],
  incidents: OpenIncidents,
  active: LedgerEntry[],
): WantedWindows {
  const times = { now, leadMs: inputs.leadMs, graceMs: inputs.graceMs };
  const onCallWindows = desiredWindows({ oncalls, rules: inputs.rules, ...times });
  const byIncident = incidentWindows({
    incidents: incidents.kind === 'read' ? incidents.incidents : [],
    rules: inputs.rules,
    oncalls,
    ...times,
  });
  reportLeftOut(byIncident.leftOut);
  const notes: string[] = [];
  const onCallGrants = active.filter((entry) => !entry.source.incident).length;
  const failSafe = onCallWindows.length === 0 && onCallGrants > 0;
  if (failSafe) {
    notes.push(
      `${oncalls.length === 0 ? 'PagerDuty returned no on-calls at all' : 'No on-call matched the rules'} while ${onCallGrants} grants are in force: no on-call grant is treated as stale in this run (a PagerDuty outage or a wrong filter must not revoke access).`,
    );
  }
  const judgement = incidentJudgement(incidents, inputs.rules, oncalls);
  notes.push(...judgement.notes);
  return {
    windows: [...onCallWindows, ...byIncident.windows],
    notes,
    failSafe,
    incidentJudged: judgement.judged,
  };
}

/**
 * Who is which strongDM account, then desired − ledger; fail-safe when nothing matched but grants are in force.
 * Without sdm, every email is taken as strongDM's (not checked) and every resource as revocable.
 */
function planRun(
  inputs: Inputs,
  context: RunContext,
  seen: WantedWindows & { active: LedgerEntry[]; sdm: SdmSession | undefined },
): PlanRow[] {
  const { windows, active, sdm } = seen;
  const sdmEmails = sdm && strongDmEmails(sdm.activeEmails);
  // Without a revoke command, revoke-stale cannot be honoured: stale grants stay, and say why.
  const cannotRevoke = inputs.revokeStale && sdm !== undefined && !sdm.capabilities.canRevoke;
  const accounts = new Map<string, Account>();
  for (const window of windows) {
    if (!accounts.has(window.pagerdutyUserId)) {
      accounts.set(window.pagerdutyUserId, resolveAccount(window, inputs.userMap, sdmEmails));
    }
  }
  return reconcile({
    windows,
    accounts,
    ledger: active,
    now: context.now,
    lookaheadMs: inputs.lookaheadMs,
    maxGrantMs: inputs.maxGrantMs,
    revokeStale: inputs.revokeStale && !cannotRevoke,
    ...(sdm ? { revocableResources: revocable(inputs, sdm) } : {}),
    failSafe: seen.failSafe,
    incidentJudged: seen.incidentJudged,
    ...(sdmEmails ? { sdmEmails } : {}),
    ...(cannotRevoke
      ? { revokeUnavailable: `this sdm offers no revoke command (sdm admin users ${REVOKE_SUBCOMMAND})` }
      : {}),
  });
}

/** A revocation may only touch a resource a current rule names and strongDM lists. */
function revocable(inputs: Inputs, sdm: SdmSession): Set<string> {
  return new Set(
    inputs.rules.flatMap((rule) => rule.resources).filter((name) => sdm.resourceNames.has(name)),
  );
}

/** revoke-stale asked for what this sdm cannot do: the step fails saying so (under fail-on error or missing-user). */
function revokeFailure(inputs: Inputs, sdm: SdmSession | undefined): string | undefined {
  if (!inputs.revokeStale || !sdm || sdm.capabilities.canRevoke) return undefined;
  const offered = sdm.capabilities.userCommands.join(', ') || 'none that could be read';
  return `revoke-stale is true, but this sdm offers no revoke command: "sdm admin users ${REVOKE_SUBCOMMAND}" is not among its subcommands (${forLogLine(offered, 300)}). Stale grants were reported, not revoked. Set revoke-stale: false, or use an sdm that offers the command.`;
}

/** A dry run, or a run without sdm: the plan is reported as it would be applied; the ledger is not written. */
function notAppliedRun(
  plan: PlanRow[],
  inputs: Inputs,
  store: LedgerStore,
  checklist: Checklist,
  notes: string[],
): RunResult {
  if (inputs.state.kind === 'none') checklist.pass('ledger write', 'state: none keeps no ledger');
  else if (inputs.dryRun) {
    checklist.warn(
      'ledger write',
      `${store.description}: not written in a dry run, so write access is not checked`,
      'the first real run writes it: with state: github, give the job permissions: contents: write',
    );
  } else checklist.pass('ledger write', `${store.description}: nothing to record in this run`);
  return { rows: plan.map((row) => notApplied(row, { revoke: 'would be revoked (revoke-stale)' })), notes };
}

/** max-new-grants: a plan that would change too much is applied not at all. */
function refuseOversizedPlan(plan: PlanRow[], inputs: Inputs, notes: string[]): RunResult | undefined {
  const newGrants = plan.filter((row) => row.status === 'pending').length;
  const revocations = plan.filter((row) => row.status === 'pending-revoke').length;
  if (newGrants <= inputs.maxNewGrants && revocations <= inputs.maxNewGrants) return undefined;
  const what = newGrants > inputs.maxNewGrants ? `${newGrants} new grants` : `${revocations} revocations`;
  const reason = `not applied: ${what} exceed max-new-grants (${inputs.maxNewGrants})`;
  return {
    rows: plan.map((row) => notApplied(row, { grant: reason, revoke: reason })),
    notes,
    fatal: `Refused to apply: the plan has ${what}, more than max-new-grants (${inputs.maxNewGrants}). Check the rules, or raise max-new-grants if this is intended; the plan is in the job summary.`,
  };
}

/** Runs the plan through sdm, recording each change as it is made; says so when the ledger could not keep up. */
async function applyAndRecord(
  sdm: SdmCli,
  plan: PlanRow[],
  inputs: Inputs,
  store: LedgerStore,
  keys: LedgerKey[],
  context: RunContext,
  notes: string[],
): Promise<RunResult> {
  const recorder = new LedgerRecorder(store, context.now, context.runUrl);
  const signing = signingRecorder(recorder, keys);
  for (const row of plan) {
    if (row.status === 'stale' && row.accountGone) {
      recorder.revoke({ id: row.ledgerEntry.id, at: rfc3339(context.now), runUrl: context.runUrl });
    }
  }
  const rows = await core.group('Applying the plan', () =>
    applyPlan(sdm, plan, signing, {
      now: context.now,
      runId: context.runId,
      runUrl: context.runUrl,
      concurrency: inputs.concurrency,
      deadline: context.deadline,
      cancel: context.cancellation.cancel,
    }),
  );
  const { unrecorded, error } = await recorder.close();
  checkLedgerWrite(inputs, store, recorder, error, context.checklist);
  const result: RunResult = { rows, notes };
  if (context.cancellation.cancel.aborted) {
    result.fatal =
      'The run was cancelled: what was done is recorded in the ledger; the next run does the rest.';
  }
  if (unrecorded.add.length > 0 || unrecorded.revoke.length > 0) {
    const message = error?.message ?? 'unknown error';
    notes.push(`The ledger was NOT fully updated: ${message}`);
    result.fatal = `${unrecorded.add.length} grants and ${unrecorded.revoke.length} revocations were made but not recorded in the ledger: ${message}`;
  }
  return result;
}
