// Applies a plan through sdm: revocations first (strongDM refuses a grant that overlaps one still in force), then
// grants, a few at a time, one user and resource at a time. Each success is handed to the recorder at once, so a run
// that is cancelled or dies part-way leaves the ledger knowing what it did.
import pLimit from 'p-limit';
import { entryId } from './ledger.js';
import { rfc3339 } from './plan.js';
import type { Deadline } from './retry.js';
import { failureReason, type SdmWrites } from './sdm.js';
import { asciiLowerCase } from './text.js';
import type {
  LedgerEntry,
  PendingGrantRow,
  PendingRevokeRow,
  PlanRow,
  ReportRow,
  Revocation,
} from './types.js';

/** Where the executor hands each change the moment sdm has made it (a LedgerRecorder in the action). */
export interface ChangeRecorder {
  add(entry: LedgerEntry): void;
  revoke(revocation: Revocation): void;
}

export interface ExecutionContext {
  now: Date;
  runId: string;
  runUrl: string;
  concurrency: number;
  deadline: Deadline;
  /** Aborted when the run is cancelled: nothing new starts. */
  cancel: AbortSignal;
}

type PairRows<T> = Map<string, T[]>;

/**
 * Runs every pending row and returns all rows as reported. Once the run is cancelled or its time budget is spent,
 * nothing new starts; what did not run is a failed row with the reason, and the next run does it.
 */
export async function applyPlan(
  sdm: SdmWrites,
  rows: PlanRow[],
  recorder: ChangeRecorder,
  context: ExecutionContext,
): Promise<ReportRow[]> {
  const limit = pLimit(context.concurrency);
  const revokeFailures = await revokeStale(sdm, rows, recorder, context, limit);
  const grantResults = await grantPending(sdm, rows, revokeFailures, recorder, context, limit);
  return rows.map((row): ReportRow => {
    if (row.status === 'pending-revoke') {
      const failedRevoke = revokeFailures.get(pairKey(row));
      return failedRevoke
        ? { ...row, status: 'failed', reason: `revoke failed: ${failedRevoke}` }
        : { ...row, status: 'revoked' };
    }
    if (row.status === 'pending') {
      return grantResults.get(row) ?? { ...row, status: 'failed', reason: 'not attempted' };
    }
    return row;
  });
}

/** One revoke per user and resource (the command ends all of the pair's grants). Returns why each failed pair did. */
async function revokeStale(
  sdm: SdmWrites,
  rows: PlanRow[],
  recorder: ChangeRecorder,
  context: ExecutionContext,
  limit: ReturnType<typeof pLimit>,
): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  const pairs = byPair(rows.filter((row): row is PendingRevokeRow => row.status === 'pending-revoke'));
  await Promise.all(
    [...pairs].map(([key, pairRows]) =>
      limit(async () => {
        const first = pairRows[0] as PendingRevokeRow;
        const notStarted = whyNotStart(context);
        if (notStarted) {
          failures.set(key, notStarted);
          return;
        }
        const result = await sdm.revokeTemporary(first.resource, first.sdmEmail);
        if (result.exitCode !== 0) {
          failures.set(key, failureReason(result));
          return;
        }
        for (const row of pairRows) {
          recorder.revoke({ id: row.ledgerEntry.id, at: rfc3339(context.now), runUrl: context.runUrl });
        }
      }),
    ),
  );
  return failures;
}

/**
 * Grants of one user and resource run one after another, in time order: strongDM may refuse a second grant while
 * one is in force (which it does is unconfirmed, see docs/strongdm-cli.md). Such a refusal defers the grant to a
 * later run instead of failing the step; a refusal with no other grant held is a failure.
 */
async function grantPending(
  sdm: SdmWrites,
  rows: PlanRow[],
  revokeFailures: Map<string, string>,
  recorder: ChangeRecorder,
  context: ExecutionContext,
  limit: ReturnType<typeof pLimit>,
): Promise<Map<PlanRow, ReportRow>> {
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
  const pairs = byPair(rows.filter((row): row is PendingGrantRow => row.status === 'pending'));
  await Promise.all(
    [...pairs].map(([key, pairRows]) =>
      limit(async () => {
        for (const row of pairRows) {
          const notStarted = whyNotStart(context);
          if (notStarted) {
            results.set(row, { ...row, status: 'failed', reason: notStarted });
            continue;
          }
          const result = await sdm.grantTemporary(
            row.resource,
            row.sdmEmail,
            rfc3339(row.from),
            rfc3339(row.until),
          );
          if (result.exitCode === 0) {
            recorder.add(ledgerEntry(row, context));
            results.set(row, { ...row, status: 'granted' });
            holding.add(key);
          } else if (holding.has(key) && !result.timedOut && !result.cancelled && !result.notStarted) {
            results.set(row, {
              ...row,
              status: 'skipped',
              deferred: true,
              reason: `deferred: refused while this user holds another grant of ${row.resource} (${failureReason(result)}); a later run grants it`,
            });
          } else {
            results.set(row, { ...row, status: 'failed', reason: failureReason(result) });
          }
        }
      }),
    ),
  );
  return results;
}

/** Why no new command may start now (the run was cancelled, or its time budget is spent), or undefined. */
function whyNotStart(context: ExecutionContext): string | undefined {
  if (context.cancel.aborted) return 'not attempted: the run was cancelled';
  if (context.deadline.expired()) return 'not attempted: time-budget was spent';
  return undefined;
}

function pairKey(row: PlanRow): string {
  return `${asciiLowerCase(row.sdmEmail ?? '')}\n${row.resource}`;
}

/** Rows by user and resource, in the order given (rows come sorted by start). */
function byPair<T extends PlanRow>(rows: T[]): PairRows<T> {
  const groups: PairRows<T> = new Map();
  for (const row of rows) {
    const group = groups.get(pairKey(row));
    if (group) group.push(row);
    else groups.set(pairKey(row), [row]);
  }
  return groups;
}

function ledgerEntry(row: PendingGrantRow, context: ExecutionContext): LedgerEntry {
  const from = rfc3339(row.from);
  const until = rfc3339(row.until);
  return {
    id: entryId(row.sdmEmail, row.resource, from, until, `${context.runId}@${rfc3339(context.now)}`),
    email: row.sdmEmail,
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
