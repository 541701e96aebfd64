// The ledger's format: a JSON record of the grants this action made, so re-runs are idempotent and overrides are
// noticed. One entry per line; a change (add these entries, mark those revoked) is applied to the latest stored
// version rather than replacing it, so racing runs merge. Where it is kept: ledger-stores.ts, ledger-github.ts.
import { createHash } from 'node:crypto';
import type { LedgerChange, LedgerEntry } from './types.js';
import { asciiLowerCase, commandArgumentProblem, forCommitMessage } from './text.js';

export interface Ledger {
  version: 1;
  grants: LedgerEntry[];
  /** Entries that are not well-formed: kept in the file as found (evidence), never acted on. */
  malformed: unknown[];
}

export class LedgerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

const RETENTION_MS = 30 * 24 * 60 * 60 * 1000; // expired entries are kept this long, then dropped

export const emptyLedger = (): Ledger => ({ version: 1, grants: [], malformed: [] });

/**
 * Same grant by the same run → same id, so a retried write never adds an entry twice; a later grant of the same
 * window (after a revocation) is a new entry.
 */
export function entryId(email: string, resource: string, from: string, until: string, runId: string): string {
  return createHash('sha256')
    .update([asciiLowerCase(email), resource, from, until, runId].join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The ledger in a file. A file that is not a ledger is an error (nothing is assumed); an entry that is not
 * well-formed is set aside as malformed, since anyone who can push to the state branch can write one.
 */
export function parseLedger(text: string, where: string): Ledger {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LedgerError(
      `the ledger at ${where} is not valid JSON; fix or delete it (its history keeps the old versions)`,
    );
  }
  const grants = (value as { grants?: unknown } | null)?.grants;
  if (!Array.isArray(grants)) {
    throw new LedgerError(`the ledger at ${where} has no "grants" list; fix or delete it`);
  }
  const ledger = emptyLedger();
  for (const entry of grants as unknown[]) {
    if (isWellFormed(entry)) ledger.grants.push(entry);
    else ledger.malformed.push(entry);
  }
  return ledger;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const isTime = (value: unknown): value is string =>
  typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value));
const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length <= max;
const isId = (value: unknown): value is string =>
  typeof value === 'string' && /^[A-Za-z0-9]{1,64}$/.test(value);

/**
 * Every field as strictly as the values from PagerDuty: email and resource reach sdm's command line when a grant is
 * revoked, names reach the summary, times decide coverage.
 */
function isWellFormed(entry: unknown): entry is LedgerEntry {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return false;
  const e = entry as Record<string, unknown>;
  const source = e.source as Record<string, unknown> | null | undefined;
  return (
    typeof e.id === 'string' &&
    /^[0-9a-f]{16}$/.test(e.id) &&
    typeof e.email === 'string' &&
    commandArgumentProblem(e.email) === undefined &&
    e.email.includes('@') &&
    typeof e.resource === 'string' &&
    commandArgumentProblem(e.resource) === undefined &&
    isTime(e.from) &&
    isTime(e.until) &&
    Date.parse(e.until) > Date.parse(e.from) &&
    isTime(e.grantedAt) &&
    isText(e.runId, 100) &&
    isText(e.runUrl, 500) &&
    isText(e.name, 1000) &&
    isId(e.pagerdutyUserId) &&
    isText(e.rule, 200) &&
    !!source &&
    typeof source === 'object' &&
    (source.scheduleId === null || isId(source.scheduleId)) &&
    isText(source.scheduleName, 1000) &&
    isId(source.escalationPolicyId) &&
    isText(source.escalationPolicyName, 1000) &&
    Number.isInteger(source.escalationLevel) &&
    (source.incident === undefined || isIncident(source.incident)) &&
    (e.revokedAt === undefined || isTime(e.revokedAt)) &&
    (e.revokedRunUrl === undefined || isText(e.revokedRunUrl, 500)) &&
    (e.mac === undefined || isText(e.mac, 100))
  );
}

/** The incident an incident grant was for: its title and service name reach the summary, its URL a link. */
function isIncident(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const incident = value as Record<string, unknown>;
  return (
    isId(incident.id) &&
    Number.isSafeInteger(incident.number) &&
    (incident.number as number) > 0 &&
    isText(incident.title, 1000) &&
    isText(incident.url, 500) &&
    (incident.url === '' || /^https?:\/\//.test(incident.url)) &&
    isId(incident.serviceId) &&
    isText(incident.serviceName, 1000)
  );
}

/** One entry per line: small enough for years of grants, and each commit's diff shows exactly the entries changed. */
export function serializeLedger(ledger: Ledger): string {
  const entries = [...ledger.grants, ...ledger.malformed];
  if (entries.length === 0) return '{ "version": 1, "grants": [] }\n';
  return `{ "version": 1, "grants": [\n${entries.map((entry) => `  ${JSON.stringify(entry)}`).join(',\n')}\n] }\n`;
}

/** Pure: the ledger after a change, with entries that expired over 30 days ago dropped. */
export function applyChange(ledger: Ledger, change: LedgerChange, now: Date): Ledger {
  const byId = new Map(ledger.grants.map((entry) => [entry.id, entry]));
  for (const entry of change.add) if (!byId.has(entry.id)) byId.set(entry.id, entry);
  const revoked = new Map(change.revoke.map((r) => [r.id, r]));
  const cutoff = now.getTime() - RETENTION_MS;
  const grants = [...byId.values()]
    .map((entry) => {
      const revocation = revoked.get(entry.id);
      return revocation && !entry.revokedAt
        ? { ...entry, revokedAt: revocation.at, revokedRunUrl: revocation.runUrl }
        : entry;
    })
    .filter((entry) => Date.parse(entry.until) >= cutoff)
    .sort(
      (a, b) =>
        a.from.localeCompare(b.from) ||
        a.email.localeCompare(b.email) ||
        a.resource.localeCompare(b.resource),
    );
  return { version: 1, grants, malformed: ledger.malformed };
}

/** Entries still in force at `now`: not revoked, not expired. */
export function activeEntries(ledger: Ledger, now: Date): LedgerEntry[] {
  return ledger.grants.filter((entry) => !entry.revokedAt && Date.parse(entry.until) > now.getTime());
}

/** One commit per write; the subject counts, the body lists each entry (names are PagerDuty text: flattened). */
export function commitMessage(change: LedgerChange, runUrl: string, before: Ledger): string {
  const byId = new Map([...before.grants, ...change.add].map((entry) => [entry.id, entry]));
  const parts = [
    change.add.length > 0 ? `grant ${change.add.length}` : '',
    change.revoke.length > 0 ? `revoke ${change.revoke.length}` : '',
  ].filter(Boolean);
  const lines = [
    ...change.add.map(
      (e) =>
        `+ ${forCommitMessage(e.email)} ${forCommitMessage(e.resource)} ${e.from} → ${e.until} (${forCommitMessage(e.rule)})`,
    ),
    ...change.revoke.map((r) => {
      const e = byId.get(r.id);
      return e
        ? `- ${forCommitMessage(e.email)} ${forCommitMessage(e.resource)} until ${e.until} revoked`
        : `- ${r.id} revoked`;
    }),
  ];
  return `oncall-access: ${parts.join(', ') || 'tidy'}\n\n${lines.join('\n')}\n\nRun: ${runUrl}\n`;
}
