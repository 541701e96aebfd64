// The types that travel between modules: who is on call, what the ledger holds, and the rows of a run.
// Kept here so that planning, the ledger, the executor and the report share them without importing each other.

/** The open PagerDuty incident an incident rule's grant is for (rules with `incidents`). */
export interface IncidentRef {
  id: string;
  number: number; // PagerDuty's incident_number, shown as #123
  title: string; // untrusted: escape for wherever it is shown
  url: string; // PagerDuty's html_url
  serviceId: string;
  serviceName: string;
}

/**
 * Why a person gets access: the schedule (or the policy, for a direct target) and level they are on call in; for an
 * incident rule, also the incident (level 0 and no schedule when the rule does not require being on call and the
 * assignee is not).
 */
export interface OnCallSource {
  scheduleId: string | null;
  scheduleName: string;
  escalationPolicyId: string;
  escalationPolicyName: string;
  escalationLevel: number;
  incident?: IncidentRef;
}

export interface Person {
  pagerdutyUserId: string;
  name: string;
  email: string | undefined; // as PagerDuty knows it
}

/** One grant this action made, as the ledger records it. */
export interface LedgerEntry {
  id: string;
  email: string; // the strongDM account's email
  resource: string;
  from: string; // RFC3339 UTC
  until: string;
  grantedAt: string;
  runId: string;
  runUrl: string;
  name: string;
  pagerdutyUserId: string;
  rule: string;
  source: OnCallSource;
  revokedAt?: string;
  revokedRunUrl?: string;
  /** This action's signature over the entry (ledger-seal.ts); an entry without a valid one is foreign. */
  mac?: string;
}

export interface Revocation {
  id: string;
  at: string;
  runUrl: string;
}

/** What one run wants written to the ledger: applied to the latest stored version, so racing runs merge. */
export interface LedgerChange {
  add: LedgerEntry[];
  revoke: Revocation[];
}

/** What every row says, whatever its status. */
interface RowBase extends Person {
  sdmEmail: string | undefined; // the strongDM account's spelling, used on the command line
  resource: string;
  rule: string;
  source: OnCallSource;
  from: Date;
  until: Date;
  reason: string;
  missingUser: boolean; // no strongDM account with that email
  ledgerEntry?: LedgerEntry; // the grant the row is about, when the ledger holds it
}

/** Time to grant to a known account. */
export type PendingGrantRow = RowBase & { status: 'pending'; sdmEmail: string };
/** A recorded grant to revoke (revoke-stale); `unbacked`: PagerDuty no longer backs it (not only its pair). */
export type PendingRevokeRow = RowBase & {
  status: 'pending-revoke';
  sdmEmail: string;
  ledgerEntry: LedgerEntry;
  unbacked?: boolean;
};
/** A recorded grant PagerDuty still backs. */
export type UnchangedRow = RowBase & { status: 'unchanged'; sdmEmail: string; ledgerEntry: LedgerEntry };
/**
 * A recorded grant PagerDuty no longer backs and that stays (no revoke-stale, deferred, or not applied), or
 * one whose strongDM account is gone (`accountGone`: record it as ended, nothing to revoke).
 */
export type StaleRow = RowBase & {
  status: 'stale';
  sdmEmail: string;
  ledgerEntry: LedgerEntry;
  accountGone?: boolean;
  unbacked?: boolean; // PagerDuty no longer backs it (not: its account is gone, or it goes with its pair)
};
/** On call but no access: no usable account, or (`deferred`) refused while another grant of the pair is held. */
export type SkippedRow = RowBase & { status: 'skipped'; deferred?: boolean };
export type GrantedRow = RowBase & { status: 'granted'; sdmEmail: string };
export type WouldGrantRow = RowBase & { status: 'would-grant'; sdmEmail: string };
export type RevokedRow = RowBase & { status: 'revoked'; sdmEmail: string; ledgerEntry: LedgerEntry };
/** A grant or revocation that sdm refused, or that was not attempted (cancelled, time budget spent). */
export type FailedRow = RowBase & { status: 'failed'; sdmEmail: string };

/** A row of the plan, before anything is applied. */
export type PlanRow = PendingGrantRow | PendingRevokeRow | UnchangedRow | StaleRow | SkippedRow;

/** A row as reported: what happened to it. */
export type ReportRow =
  GrantedRow | WouldGrantRow | UnchangedRow | StaleRow | RevokedRow | SkippedRow | FailedRow;

export type RowStatus = ReportRow['status'];
