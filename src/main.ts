// Orchestrates one run: inputs → PagerDuty on-calls → grant windows → strongDM accounts → grants → report.
// The only place that calls core.setFailed.
import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pLimit from 'p-limit';
import { DIRECT_TARGETS, readInputs, type Inputs } from './inputs.js';
import { PagerDutyClient, PagerDutyError, type OnCallRow } from './pagerduty.js';
import { matchAccounts, planGrantWindows, rfc3339, type PlanRow } from './plan.js';
import { describe, SdmCli } from './sdm.js';
import { installSdm } from './sdm-install.js';
import {
  countByStatus,
  displayText,
  planOutput,
  renderLogTable,
  renderSummary,
  type ReportRow,
} from './summary.js';

export async function run(): Promise<void> {
  try {
    maskTokens();
    const inputs = readInputs((name) => core.getInput(name));
    const { rows, notes, now } = await reconcile(inputs);
    await report(rows, inputs, notes, now);
    const failure = failureFor(rows, inputs);
    if (failure) core.setFailed(failure);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}

/** Mask before anything can print them, including the bare token inside a "Bearer …" or "Token token=…" value. */
function maskTokens(): void {
  for (const name of ['pagerduty-token', 'sdm-admin-token']) {
    const value = core.getInput(name).trim();
    if (!value) continue;
    core.setSecret(value);
    const bare = /^(?:Bearer\s+|Token\s+token=)(.+)$/i.exec(value)?.[1];
    if (bare) core.setSecret(bare);
  }
}

async function reconcile(inputs: Inputs): Promise<{ rows: ReportRow[]; notes: string[]; now: Date }> {
  const notes: string[] = [];
  const now = new Date();
  const until = new Date(now.getTime() + inputs.lookaheadMs);

  const pagerduty = new PagerDutyClient({ baseUrl: inputs.pagerdutyApiUrl, token: inputs.pagerdutyToken });
  const oncalls = await core.group('Reading on-calls from PagerDuty', async () => {
    const found = await pagerduty.listOnCalls(inputs.scheduleIds, now, until);
    await fillMissingEmails(pagerduty, found);
    core.info(`${found.length} on-call rows from ${pagerduty.requestCount} PagerDuty requests`);
    for (const id of inputs.scheduleIds) {
      if (id !== DIRECT_TARGETS && !found.some((row) => row.schedule?.id === id)) {
        core.warning(
          `Nobody is on call in schedule ${id} in this window: check the ID, and that an escalation policy uses the schedule.`,
        );
      }
    }
    return found;
  });

  const windows = planGrantWindows({
    oncalls,
    resources: inputs.resources,
    now,
    lookaheadMs: inputs.lookaheadMs,
  });
  let sdm: SdmCli | undefined;
  let sdmEmails: string[] | undefined;
  if (windows.length > 0 && inputs.sdmAdminToken) {
    sdm = await core.group('Setting up sdm', async () => {
      const installation = await installSdm({
        version: inputs.sdmVersion,
        downloadUrl: inputs.sdmDownloadUrl,
        sha256: inputs.sdmSha256,
        tempDir: process.env.RUNNER_TEMP || os.tmpdir(),
      });
      core.setOutput('sdm-version', installation.version);
      return new SdmCli({ binary: installation.binary, adminToken: inputs.sdmAdminToken });
    });
    sdmEmails = await sdm.listUserEmails();
  } else if (windows.length > 0) {
    notes.push('Dry run without sdm-admin-token: strongDM accounts were not checked.');
  }

  const planned = matchAccounts(windows, sdmEmails);
  warnMissingPeople(planned);

  let rows: ReportRow[];
  if (inputs.dryRun || !sdm) {
    rows = planned.map((row) =>
      row.status === 'pending' ? { ...row, status: 'would-grant' } : (row as ReportRow),
    );
  } else {
    rows = await grantAll(sdm, planned, inputs.concurrency);
  }
  return { rows, notes, now };
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
function warnMissingPeople(rows: PlanRow[]): void {
  const warned = new Set<string>();
  for (const row of rows) {
    if (row.status !== 'skipped' || warned.has(row.pagerdutyUserId)) continue;
    warned.add(row.pagerdutyUserId);
    core.warning(
      `${displayText(row.name)} <${displayText(row.email ?? 'no email')}> is on call but gets no access: ${row.reason}`,
    );
  }
}

async function grantAll(sdm: SdmCli, rows: PlanRow[], concurrency: number): Promise<ReportRow[]> {
  const limit = pLimit(concurrency);
  return Promise.all(
    rows.map((row) =>
      row.status !== 'pending'
        ? (row as ReportRow)
        : limit(async (): Promise<ReportRow> => {
            const result = await sdm.grantTemporary(
              row.resource,
              row.sdmEmail as string,
              rfc3339(row.from),
              rfc3339(row.until),
            );
            if (result.exitCode === 0) return { ...row, status: 'granted' };
            return { ...row, status: 'failed', reason: describe(result) };
          }),
    ),
  );
}

async function report(rows: ReportRow[], inputs: Inputs, notes: string[], now: Date): Promise<void> {
  const counts = countByStatus(rows);
  core.setOutput('granted', String(counts.granted));
  core.setOutput('skipped', String(counts.skipped));
  core.setOutput('failed', String(counts.failed));
  core.setOutput('plan', JSON.stringify(planOutput(rows)));

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
    await core.summary
      .addRaw(renderSummary(rows, { dryRun: inputs.dryRun, now, lookahead: inputs.lookahead, notes }))
      .write();
  }
}

function failureFor(rows: ReportRow[], inputs: Inputs): string | undefined {
  if (inputs.failOn === 'never') return undefined;
  const failed = rows.filter((row) => row.status === 'failed').length;
  const attempted = failed + rows.filter((row) => row.status === 'granted').length;
  if (failed > 0) return `${failed} of ${attempted} grants failed; see the job summary for each reason`;
  if (inputs.failOn === 'missing-user') {
    const skipped = new Set(rows.filter((row) => row.status === 'skipped').map((row) => row.pagerdutyUserId))
      .size;
    if (skipped > 0)
      return `${skipped} on-call people get no access (fail-on: missing-user); see the job summary`;
  }
  return undefined;
}
