// One run, as a list of steps: inputs → ledger → PagerDuty on-calls → desired windows → strongDM accounts →
// plan (desired − ledger) → revocations and grants → ledger → report. The only place that calls core.setFailed.
// docs/architecture.md shows the data flow and which module owns what.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { watchCancellation, type Cancellation } from './cancellation.js';
import { applyPlan } from './executor.js';
import { readInputs, type Inputs } from './inputs.js';
import { activeEntries } from './ledger.js';
import { LedgerRecorder } from './ledger-recorder.js';
import { openLedgerStore, type LedgerStore } from './ledger-stores.js';
import { readOnCalls } from './oncalls.js';
import type { OnCallRow } from './pagerduty.js';
import {
  desiredWindows,
  reconcile,
  resolveAccount,
  rfc3339,
  type Account,
  type DesiredWindow,
} from './plan.js';
import { failureFor, notApplied, report, warnPeople, type RunResult } from './report.js';
import { Deadline } from './retry.js';
import type { SdmCli } from './sdm.js';
import { setUpSdmIfNeeded } from './sdm-setup.js';
import type { LedgerEntry, PlanRow } from './types.js';

interface RunContext {
  now: Date;
  runId: string;
  runUrl: string;
  deadline: Deadline;
  cancellation: Cancellation;
}

export async function run(): Promise<void> {
  const cancellation = watchCancellation();
  try {
    maskTokens();
    const inputs = readInputs((name) => core.getInput(name), readWorkspaceFile);
    const context = runContext(inputs, cancellation);
    const store = openLedgerStore(inputs, workspace());
    const active = await readActiveGrants(store, context.now);
    const oncalls = await readOnCalls(inputs, context.now, context.deadline);
    const windows = desiredWindows({
      oncalls,
      rules: inputs.rules,
      now: context.now,
      leadMs: inputs.leadMs,
      graceMs: inputs.graceMs,
    });
    const notes: string[] = [];
    const sdm = await setUpSdmIfNeeded(
      inputs,
      { deadline: context.deadline, kill: context.cancellation.kill },
      windows,
      active,
      notes,
    );
    const sdmEmails = await sdm?.listUserEmails();
    const plan = planRun(inputs, context, { oncalls, windows, active, sdmEmails, notes });
    warnPeople(plan);
    const result =
      refuseOversizedPlan(plan, inputs, notes) ??
      (inputs.dryRun || !sdm
        ? { rows: plan.map((row) => notApplied(row, { revoke: 'would be revoked (revoke-stale)' })), notes }
        : await applyAndRecord(sdm, plan, inputs, store, context, notes));
    await report(result, inputs, context);
    const failure = result.fatal ?? failureFor(result.rows, inputs);
    if (failure) core.setFailed(failure);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  } finally {
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
}

function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd();
}

/** A rules file must be inside the workspace: the workflow checked it out there. */
function readWorkspaceFile(relativePath: string): string {
  const root = path.resolve(workspace());
  const file = path.resolve(root, relativePath);
  if (file !== root && !file.startsWith(`${root}${path.sep}`))
    throw new Error('the path leads outside the workspace');
  return readFileSync(file, 'utf8');
}

function runContext(inputs: Inputs, cancellation: Cancellation): RunContext {
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
  const runId = process.env.GITHUB_RUN_ID || 'local';
  const repository = process.env.GITHUB_REPOSITORY || '';
  return {
    now: new Date(),
    runId,
    runUrl: repository ? `${server}/${repository}/actions/runs/${runId}` : '',
    deadline: new Deadline(inputs.timeBudgetMs),
    cancellation,
  };
}

async function readActiveGrants(store: LedgerStore, now: Date): Promise<LedgerEntry[]> {
  const ledger = await core.group(`Reading the ledger (${store.description})`, () => store.load());
  const active = activeEntries(ledger, now);
  core.info(`${active.length} grants in force according to ${store.description}`);
  return active;
}

/** Who is which strongDM account, then desired − ledger; fail-safe when nothing matched but grants are in force. */
function planRun(
  inputs: Inputs,
  context: RunContext,
  seen: {
    oncalls: OnCallRow[];
    windows: DesiredWindow[];
    active: LedgerEntry[];
    sdmEmails: string[] | undefined;
    notes: string[];
  },
): PlanRow[] {
  const { oncalls, windows, active, sdmEmails, notes } = seen;
  const accounts = new Map<string, Account>();
  for (const window of windows) {
    if (!accounts.has(window.pagerdutyUserId)) {
      accounts.set(window.pagerdutyUserId, resolveAccount(window, inputs.userMap, sdmEmails));
    }
  }
  const failSafe = windows.length === 0 && active.length > 0;
  if (failSafe) {
    notes.push(
      `${oncalls.length === 0 ? 'PagerDuty returned no on-calls at all' : 'No on-call matched the rules'} while ${active.length} grants are in force: nothing is treated as stale in this run (a PagerDuty outage or a wrong filter must not revoke access).`,
    );
  }
  return reconcile({
    windows,
    accounts,
    ledger: active,
    now: context.now,
    lookaheadMs: inputs.lookaheadMs,
    maxGrantMs: inputs.maxGrantMs,
    revokeStale: inputs.revokeStale,
    failSafe,
    ...(sdmEmails ? { sdmEmails } : {}),
  });
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
  context: RunContext,
  notes: string[],
): Promise<RunResult> {
  const recorder = new LedgerRecorder(store, context.now, context.runUrl);
  for (const row of plan) {
    if (row.status === 'stale' && row.accountGone) {
      recorder.revoke({ id: row.ledgerEntry.id, at: rfc3339(context.now), runUrl: context.runUrl });
    }
  }
  const rows = await core.group('Applying the plan', () =>
    applyPlan(sdm, plan, recorder, {
      now: context.now,
      runId: context.runId,
      runUrl: context.runUrl,
      concurrency: inputs.concurrency,
      deadline: context.deadline,
      cancel: context.cancellation.cancel,
    }),
  );
  const { unrecorded, error } = await recorder.close();
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
