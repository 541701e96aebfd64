// Orchestrates one run: inputs → ledger → PagerDuty on-calls → desired windows → strongDM accounts →
// plan (desired − ledger) → revocations and grants → ledger → report. The only place that calls core.setFailed.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import pLimit from 'p-limit';
import { DIRECT_TARGETS, InputError, MAX_LOOKAHEAD_MS, readInputs, type Inputs } from './inputs.js';
import {
  activeEntries,
  entryId,
  FileLedger,
  GitHubLedger,
  LedgerRecorder,
  NoLedger,
  type LedgerEntry,
  type LedgerStore,
} from './ledger.js';
import { PagerDutyClient, PagerDutyError, type OnCallRow } from './pagerduty.js';
import {
  dedupeOnCalls,
  desiredWindows,
  onCallQueries,
  reconcile,
  resolveAccount,
  rfc3339,
  type Account,
  type PlanRow,
} from './plan.js';
import { Deadline } from './retry.js';
import { describe, SdmCli, type SdmResult } from './sdm.js';
import { installSdm } from './sdm-install.js';
import {
  countByStatus,
  displayText,
  planOutput,
  renderLogTable,
  renderSummary,
  STATUSES,
  type ReportRow,
} from './summary.js';

interface RunContext {
  now: Date;
  runId: string;
  runUrl: string;
  deadline: Deadline;
  /** Aborted by SIGINT/SIGTERM (a cancelled or timed-out job): start nothing new, record what was done. */
  cancel: AbortSignal;
  /** Aborted by SIGTERM or a second signal: stop running sdm commands too. */
  kill: AbortSignal;
}

interface RunResult {
  rows: ReportRow[];
  notes: string[];
  /** Why the step fails regardless of fail-on (refused plan, ledger not written). */
  fatal?: string;
}

export async function run(): Promise<void> {
  // The runner cancels a job with SIGINT, then SIGTERM 7.5 s later. The first signal starts nothing new and lets
  // running commands finish (their outcome would otherwise be unknown); SIGTERM or a second signal stops them.
  const cancel = new AbortController();
  const kill = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      core.warning(`Received ${signal}: starting no new sdm command; recording what was done.`);
      cancel.abort();
    }
    if (signal === 'SIGTERM' || signals > 1) kill.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    maskTokens();
    const inputs = readInputs((name) => core.getInput(name), readWorkspaceFile);
    const context = runContext(inputs, cancel.signal, kill.signal);
    const result = await reconcileRun(inputs, context);
    await report(result, inputs, context);
    const failure = result.fatal ?? failureFor(result.rows, inputs);
    if (failure) core.setFailed(failure);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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

function runContext(inputs: Inputs, cancel: AbortSignal, kill: AbortSignal): RunContext {
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
  const runId = process.env.GITHUB_RUN_ID || 'local';
  const repository = process.env.GITHUB_REPOSITORY || '';
  return {
    now: new Date(),
    runId,
    runUrl: repository ? `${server}/${repository}/actions/runs/${runId}` : '',
    deadline: new Deadline(inputs.timeBudgetMs),
    cancel,
    kill,
  };
}

function ledgerStore(inputs: Inputs): LedgerStore {
  switch (inputs.state.kind) {
    case 'none':
      return new NoLedger();
    case 'file':
      return new FileLedger(path.resolve(workspace(), inputs.state.path));
    case 'github':
      return new GitHubLedger({
        token: inputs.githubToken,
        apiUrl: process.env.GITHUB_API_URL || 'https://api.github.com',
        repository: process.env.GITHUB_REPOSITORY || '',
        branch: inputs.stateBranch,
        requestTimeoutMs: inputs.requestTimeoutMs,
      });
  }
}

async function reconcileRun(inputs: Inputs, context: RunContext): Promise<RunResult> {
  const { now } = context;
  const notes: string[] = [];
  const store = ledgerStore(inputs);
  const ledger = await core.group(`Reading the ledger (${store.description})`, () => store.load());
  const active = activeEntries(ledger, now);
  core.info(`${active.length} grants in force according to ${store.description}`);

  const oncalls = await readOnCalls(inputs, context);
  const windows = desiredWindows({
    oncalls,
    rules: inputs.rules,
    now,
    leadMs: inputs.leadMs,
    graceMs: inputs.graceMs,
  });

  let sdm: SdmCli | undefined;
  let sdmEmails: string[] | undefined;
  if ((windows.length > 0 || active.length > 0) && inputs.sdmAdminToken) {
    sdm = await core.group('Setting up sdm', () => setUpSdm(inputs, context));
    sdmEmails = await sdm.listUserEmails();
  } else if (windows.length > 0) {
    notes.push('Dry run without sdm-admin-token: strongDM accounts and resource names were not checked.');
  }

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
  const planned = reconcile({
    windows,
    accounts,
    ledger: active,
    now,
    lookaheadMs: inputs.lookaheadMs,
    maxGrantMs: inputs.maxGrantMs,
    revokeStale: inputs.revokeStale,
    failSafe,
    ...(sdmEmails ? { sdmEmails } : {}),
  });
  warnPeople(planned);

  const newGrants = planned.filter((row) => row.status === 'pending').length;
  const revocations = planned.filter((row) => row.status === 'pending-revoke').length;
  if (newGrants > inputs.maxNewGrants || revocations > inputs.maxNewGrants) {
    const what = newGrants > inputs.maxNewGrants ? `${newGrants} new grants` : `${revocations} revocations`;
    const reason = `not applied: ${what} exceed max-new-grants (${inputs.maxNewGrants})`;
    return {
      rows: planned.map((row) => settle(row, { grant: reason, revoke: reason })),
      notes,
      fatal: `Refused to apply: the plan has ${what}, more than max-new-grants (${inputs.maxNewGrants}). Check the rules, or raise max-new-grants if this is intended; the plan is in the job summary.`,
    };
  }
  if (inputs.dryRun || !sdm) {
    return { rows: planned.map((row) => settle(row, { revoke: 'would be revoked (revoke-stale)' })), notes };
  }

  const recorder = new LedgerRecorder(store, now, context.runUrl);
  for (const row of planned) {
    if (row.accountGone && row.ledgerEntry) {
      recorder.revoke({ id: row.ledgerEntry.id, at: rfc3339(now), runUrl: context.runUrl });
    }
  }
  const rows = await core.group('Applying the plan', () =>
    apply(sdm, planned, inputs.concurrency, recorder, context),
  );
  const { unrecorded, error } = await recorder.close();
  const result: RunResult = { rows, notes };
  if (context.cancel.aborted) {
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

async function setUpSdm(inputs: Inputs, context: RunContext): Promise<SdmCli> {
  const installation = await installSdm({
    version: inputs.sdmVersion,
    downloadUrl: inputs.sdmDownloadUrl,
    sha256: inputs.sdmSha256,
    checksumUrl: inputs.sdmChecksumUrl,
    tempDir: process.env.RUNNER_TEMP || os.tmpdir(),
    timeoutMs: inputs.requestTimeoutMs,
    deadline: context.deadline,
  });
  core.setOutput('sdm-version', installation.version);
  const sdm = new SdmCli({
    binary: installation.binary,
    adminToken: inputs.sdmAdminToken,
    timeoutMs: inputs.sdmTimeoutMs,
    deadline: context.deadline,
    signal: context.kill,
  });
  // Unknown resource names are a configuration error: refuse before any grant rather than fail one per person.
  const known = await sdm.listResourceNames();
  const unknown = inputs.rules.flatMap((rule) =>
    rule.resources.filter((name) => !known.has(name)).map((name) => ({ rule: rule.name, name })),
  );
  if (unknown.length > 0) {
    const where = inputs.simpleMode ? 'resources' : 'rules';
    throw new InputError(
      unknown.map(
        ({ rule, name }) =>
          `${where}${inputs.simpleMode ? '' : ` (rule "${rule}")`}: strongDM has no datasource, server or cluster named "${displayText(name)}"; check the spelling in strongDM`,
      ),
    );
  }
  return sdm;
}

/** On-calls for every rule: one paged query for the schedules, one for the escalation policies. */
async function readOnCalls(inputs: Inputs, context: RunContext): Promise<OnCallRow[]> {
  const { now } = context;
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
    deadline: context.deadline,
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

/** One annotation per person (GitHub shows only 10 per step), not one per row. */
function warnPeople(rows: PlanRow[]): void {
  const warned = new Set<string>();
  for (const row of rows) {
    const key = `${row.status}:${row.pagerdutyUserId}`;
    if (warned.has(key)) continue;
    if (row.status === 'skipped') {
      core.warning(
        `${displayText(row.name)} <${displayText(row.email ?? 'no email')}> is on call but gets no access: ${row.reason}`,
      );
    } else if (row.status === 'stale' || row.status === 'pending-revoke') {
      if (!row.reason.startsWith('PagerDuty no longer')) continue;
      core.warning(
        `Stale grant: ${displayText(row.name)} <${displayText(row.sdmEmail ?? '')}> holds ${displayText(row.resource)} until ${rfc3339(row.until)}, which PagerDuty no longer backs${row.status === 'stale' ? ' (set revoke-stale: true to revoke it)' : ''}.`,
      );
    } else {
      continue;
    }
    warned.add(key);
  }
}

/** A row that will not be applied: pending → would-grant, pending-revoke → stale, with why. */
function settle(row: PlanRow, why: { grant?: string; revoke: string }): ReportRow {
  if (row.status === 'pending') return { ...row, status: 'would-grant', reason: why.grant ?? row.reason };
  if (row.status === 'pending-revoke')
    return { ...row, status: 'stale', reason: `${row.reason}; ${why.revoke}` };
  return row as ReportRow;
}

/**
 * Revocations first (strongDM refuses a grant that overlaps one still in force), then grants, a few at a time.
 * Each success is handed to the recorder at once. Once the run is cancelled or its time budget is spent, nothing
 * new starts; what did not run is a failed row with the reason, and the next run does it.
 */
async function apply(
  sdm: SdmCli,
  rows: PlanRow[],
  concurrency: number,
  recorder: LedgerRecorder,
  context: RunContext,
): Promise<ReportRow[]> {
  const limit = pLimit(concurrency);
  const notStarted = (): string | undefined =>
    context.cancel.aborted
      ? 'not attempted: the run was cancelled'
      : context.deadline.expired()
        ? 'not attempted: time-budget was spent'
        : undefined;
  const pairKey = (row: PlanRow) => `${(row.sdmEmail ?? '').toLowerCase()}\n${row.resource}`;
  const revokeFailures = new Map<string, string>();
  // Rows with this status, by user and resource, in time order (rows come sorted by start).
  const byPair = (status: PlanRow['status']) => {
    const groups = new Map<string, PlanRow[]>();
    for (const row of rows)
      if (row.status === status) groups.set(pairKey(row), [...(groups.get(pairKey(row)) ?? []), row]);
    return groups;
  };
  await Promise.all(
    [...byPair('pending-revoke')].map(([key, pairRows]) =>
      limit(async () => {
        const first = pairRows[0] as PlanRow;
        const skip = notStarted();
        const result = skip ? undefined : await sdm.revokeTemporary(first.resource, first.sdmEmail as string);
        if (!result || result.exitCode !== 0) {
          revokeFailures.set(key, skip ?? describe(result as SdmResult));
          return;
        }
        for (const row of pairRows) {
          recorder.revoke({
            id: (row.ledgerEntry as LedgerEntry).id,
            at: rfc3339(context.now),
            runUrl: context.runUrl,
          });
        }
      }),
    ),
  );
  // Grants of one user and resource run one after another, in time order: strongDM may refuse a second grant while
  // one is in force (which it does is unconfirmed). Such a refusal defers the grant to a later run instead of
  // failing the step; a refusal with no other grant held is a failure.
  const holding = new Set(
    rows
      .filter(
        (row) =>
          row.ledgerEntry &&
          (row.status === 'unchanged' || row.status === 'stale' || revokeFailures.has(pairKey(row))),
      )
      .map(pairKey),
  );
  const results = new Map<PlanRow, ReportRow>();
  await Promise.all(
    [...byPair('pending')].map(([key, pairRows]) =>
      limit(async () => {
        for (const row of pairRows) {
          const skip = notStarted();
          if (skip) {
            results.set(row, { ...row, status: 'failed', reason: skip });
            continue;
          }
          const result = await sdm.grantTemporary(
            row.resource,
            row.sdmEmail as string,
            rfc3339(row.from),
            rfc3339(row.until),
          );
          if (result.exitCode === 0) {
            recorder.add(ledgerEntry(row, context));
            results.set(row, { ...row, status: 'granted' });
            holding.add(key);
          } else if (holding.has(key) && !result.timedOut && !result.cancelled) {
            results.set(row, {
              ...row,
              status: 'skipped',
              deferred: true,
              reason: `deferred: refused while this user holds another grant of ${row.resource} (${describe(result)}); a later run grants it`,
            });
          } else {
            results.set(row, { ...row, status: 'failed', reason: describe(result) });
          }
        }
      }),
    ),
  );
  return rows.map((row): ReportRow => {
    if (row.status === 'pending-revoke') {
      const failedRevoke = revokeFailures.get(pairKey(row));
      return failedRevoke
        ? { ...row, status: 'failed', reason: `revoke failed: ${failedRevoke}` }
        : { ...row, status: 'revoked' };
    }
    return results.get(row) ?? (row as ReportRow);
  });
}

function ledgerEntry(row: PlanRow, context: RunContext): LedgerEntry {
  const email = row.sdmEmail as string;
  const from = rfc3339(row.from);
  const until = rfc3339(row.until);
  return {
    id: entryId(email, row.resource, from, until, `${context.runId}@${rfc3339(context.now)}`),
    email,
    resource: row.resource,
    from,
    until,
    grantedAt: rfc3339(context.now),
    runId: context.runId,
    runUrl: context.runUrl,
    name: row.name,
    pagerdutyUserId: row.pagerdutyUserId,
    rule: row.rule,
    source: row.source,
  };
}

async function report(result: RunResult, inputs: Inputs, context: RunContext): Promise<void> {
  const { rows, notes } = result;
  const counts = countByStatus(rows);
  for (const status of STATUSES) if (status !== 'would-grant') core.setOutput(status, String(counts[status]));
  core.setOutput('plan', planJson(rows, context.runUrl));

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
    });
    await core.summary.addRaw(summary).write();
  }
}

const MAX_PLAN_OUTPUT_BYTES = 900 * 1024; // GitHub limits a job's outputs to 1 MiB in all

/** The `plan` output, cut to whole rows that fit, with a warning, when a huge organisation would overflow it. */
function planJson(rows: ReportRow[], runUrl: string): string {
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

function failureFor(rows: ReportRow[], inputs: Inputs): string | undefined {
  if (inputs.failOn === 'never') return undefined;
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
